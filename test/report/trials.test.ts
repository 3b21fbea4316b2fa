import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byRound, compare, ecdfPoints, holmAdjust, isJudgedSecondary, noiseFloor, positionEffect } from '../../src/analysis/index.js';
import { runCli } from '../../src/cli/index.js';
import { buildDatasetRows, buildTaskTrials, ECDF_MAX_POINTS, type TaskTrials } from '../../src/dataset/index.js';
import { buildReport, type ReportModel } from '../../src/report/index.js';
import { renderSvg, speedup, trialChart } from '../../src/report/charts.js';
import { openStore, type TrialRecord } from '../../src/store/index.js';
import { ORDER_SEED, TRIALS_COMMIT, TRIALS_ROUNDS, VARIANTS, writeTrialsStore } from './trials-store.js';

describe('report: per-task tables, paired rounds, distributions, noise floor and order (from a store)', () => {
  let dir: string;
  let file: string;
  let trials: TrialRecord[];
  let taskTrials: TaskTrials[];
  let model: ReportModel;
  let markdown: string;
  let html: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-report-trials-'));
    file = path.join(dir, 'store.sqlite');
    await writeTrialsStore(file);
    const store = await openStore(file, { create: false });
    try {
      trials = await store.listTrials();
      taskTrials = await buildTaskTrials(store);
      const rows = await buildDatasetRows(store, { includeRaw: false });
      ({ model, markdown, html } = await buildReport(rows, { generatedAt: 'now' }, taskTrials));
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const valuesOf = (variant: string, metric: string) => byRound(trials.filter((t) => t.variantId === variant).map((t) => ({ round: t.trialIndex, value: t.metrics[metric] })));
  const [base, aa, human, agent] = VARIANTS.map((v) => v.id) as [string, string, string, string];

  it('holds, for every metric of every variant, the comparison src/analysis computes (secondary ones Holm-adjusted)', () => {
    const d = model.details?.[0];
    expect(d?.primaryMetric).toBe('ttft_mean');
    expect(d?.variants.map((v) => v.variant.label)).toEqual(['baseline', 'baseline′', 'human', 'slowbot / m2']);
    const metrics = d!.metrics;
    // Every statistic the trials have: TTFT/TPOT/ITL/E2EL mean, median, p90, p99 and the three throughputs.
    expect(metrics).toHaveLength(19);
    expect(metrics).toContain('itl_p90');
    for (const v of [aa, human, agent]) {
      const detail = d!.variants.find((x) => x.variant.id === v)!;
      const secondary = metrics.filter((m) => isJudgedSecondary(m, 'ttft_mean'));
      const holm = holmAdjust(secondary.map((m) => compare(m, valuesOf(base, m), valuesOf(v, m))));
      for (const line of detail.lines) {
        const i = secondary.indexOf(line.metric);
        const expected = i >= 0 ? holm[i] : compare(line.metric, valuesOf(base, line.metric), valuesOf(v, line.metric));
        expect(line.comparison, `${v} ${line.metric}`).toEqual(expected);
        expect(line.role).toBe(line.metric === 'ttft_mean' ? 'primary' : i >= 0 ? 'secondary' : 'descriptive');
      }
    }
    // The primary line is the dataset row's paired estimate: one estimator for the row, the run and the table.
    const row = model.rows.find((r) => r.agent === 'slowbot / m2')!;
    const primary = d!.variants.find((x) => x.variant.id === human)!.primary;
    expect(primary).toMatchObject({ status: 'ok', n: TRIALS_ROUNDS });
    if (primary?.status !== 'ok' || row.comparisons.human_vs_baseline.status !== 'ok') throw new Error('expected comparisons');
    expect(primary.improvementPct).toBeCloseTo(row.comparisons.human_vs_baseline.improvementPct, 9);
    expect(primary.ciLow).toBeCloseTo(row.comparisons.human_vs_baseline.ciLow!, 9);
  });

  it('writes the tables with the estimator in their header and the values in their cells', () => {
    const d = model.details![0]!;
    const line = d.variants.find((x) => x.variant.id === human)!.lines.find((l) => l.metric === 'tpot_p99')!;
    if (line.comparison?.status !== 'ok') throw new Error('expected a comparison');
    const c = line.comparison;
    const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
    expect(markdown).toContain('| Metric (unit) | Baseline | human | vs baseline, + = better: paired geometric mean of per-round ratios, Student t 95% CI | Verdict |');
    expect(markdown).toContain(`| tpot_p99 (ms) | ${line.baseline!.toFixed(2)} | ${line.value!.toFixed(2)} | ${sign(c.improvementPct)} [${sign(c.ciLow!)}, ${sign(c.ciHigh!)}] | ${c.verdict} n=${TRIALS_ROUNDS} (Holm; paired t) |`);
    expect(markdown).toMatch(/\| itl_p90 \(ms\) \| [\d.]+ \| [\d.]+ \| [-+]\d+\.\d% \[[-+]\d+\.\d%, [-+]\d+\.\d%\] \| not judged n=5 \(paired t\) \|/);
    expect(html).toContain('<h3>slowbot / m2 vs baseline</h3>');
  });

  it('gives the noise floor of the A/A variant and the trial order diagnostics', () => {
    const d = model.details![0]!;
    const expected = noiseFloor('ttft_mean', valuesOf(base, 'ttft_mean'), valuesOf(aa, 'ttft_mean'));
    expect(d.noiseFloor).toEqual(expected);
    expect(d.noiseFloor).not.toBeNull();
    expect(markdown).toContain(`Noise floor (A/A, baseline′ vs baseline on ttft_mean): `);
    expect(markdown).toContain(`interval half-width at this noise ±${d.noiseFloor!.halfWidthPct!.toFixed(1)}%`);
    const pos = positionEffect(trials.map((t) => ({ variant: t.variantId, position: t.position!, value: t.metrics.ttft_mean! })));
    expect(d.positionEffectPct).toEqual(pos);
    expect(pos).toHaveLength(4);
    expect(d.orderSeeds).toEqual([ORDER_SEED]);
    expect(markdown).toContain(`Trial order: order seed ${ORDER_SEED}; position effect on ttft_mean`);
    // The rows' aa_* columns (dataset build) hold the same noise floor.
    const row = model.rows[0]!;
    expect(row.noiseFloor).toEqual({ n: expected!.n, aaImprovementPct: expected!.aaImprovementPct, aaCiLow: expected!.aaCiLow, aaCiHigh: expected!.aaCiHigh, halfWidthPct: expected!.halfWidthPct, minDetectablePct: expected!.minDetectablePct, message: expected!.message });
  });

  it('shows the noise floor from the aa_* columns when only the rows are given (a dataset file)', async () => {
    const store = await openStore(file, { create: false });
    const rows = await buildDatasetRows(store, { includeRaw: false }).finally(() => store.close());
    const { markdown: md } = await buildReport(rows, { generatedAt: 'now' });
    const f = model.details![0]!.noiseFloor!;
    expect(md).toContain("Noise floor per task, from the rows' aa_* columns");
    expect(md).toContain(`| ${TRIALS_COMMIT.slice(0, 8)} | ttft_mean | ${f.aaImprovementPct >= 0 ? '+' : ''}${f.aaImprovementPct.toFixed(1)}% [`);
    expect(md).toContain(`| ${TRIALS_ROUNDS} | ±${f.halfWidthPct!.toFixed(1)}% | ${f.minDetectablePct!.toFixed(1)}% |`);
  });

  it('keeps each variant ECDF to at most 200 observed points, from every stored sample', () => {
    const t = taskTrials[0]!;
    expect(t.commit).toBe(TRIALS_COMMIT);
    const v = t.variants.find((x) => x.id === human)!;
    expect(v.distributions?.ttft.n).toBe(40 * TRIALS_ROUNDS);
    expect(v.distributions?.itl.n).toBe(40 * 15 * TRIALS_ROUNDS);
    expect(v.distributions?.itl.points.length).toBeLessThanOrEqual(ECDF_MAX_POINTS);
    expect(v.distributions?.itl.points.at(-1)?.[1]).toBe(1);
    // TPOT per request: (E2EL - TTFT) / (out - 1).
    expect(v.distributions?.tpot.n).toBe(40 * TRIALS_ROUNDS);
    expect(ecdfPoints([3, 1, 2, 2], 200)).toEqual([[1, 0.25], [2, 0.75], [3, 1]]);
    expect(ecdfPoints(Array.from({ length: 1000 }, (_, i) => i), 200)).toHaveLength(200);
    expect(html).toContain('per-request distributions');
  });

  it('draws an interval beyond -100% unclipped on a log speed-up axis', async () => {
    const d = model.details![0]!;
    const slow = d.variants.find((x) => x.variant.id === agent)!;
    if (slow.primary?.status !== 'ok') throw new Error('expected a comparison');
    // 20× the baseline's TTFT: about -1900%, an interval entirely below -100%.
    expect(slow.primary.ciHigh!).toBeLessThan(-100);
    const x = speedup('ttft_mean', slow.primary.ciLow!)!;
    expect(x).toBeLessThan(0.06);
    expect(speedup('ttft_mean', -1900)).toBeCloseTo(0.05, 12);
    expect(speedup('output_throughput', 100)).toBe(2);
    const spec = trialChart(d, 2) as unknown as { layer: { data?: { values: Record<string, unknown>[] }; encoding?: { x?: { scale?: { type: string; domain: [number, number] } } } }[] };
    const bars = spec.layer.find((l) => l.data?.values.some((v) => 'lo' in v))!;
    const scale = bars.encoding!.x!.scale!;
    expect(scale.type).toBe('log');
    for (const layer of spec.layer) {
      for (const v of layer.data?.values ?? []) {
        for (const k of ['lo', 'hi', 'speedup'] as const) {
          const n = v[k];
          if (typeof n === 'number') {
            expect(n).toBeGreaterThanOrEqual(scale.domain[0]);
            expect(n).toBeLessThanOrEqual(scale.domain[1]);
          }
        }
      }
    }
    const bar = bars.data!.values.find((v) => v.variant === 'slowbot / m2')!;
    expect(bar.lo).toBeCloseTo(x, 12);
    const svg = await renderSvg(trialChart(d, 2)!);
    expect(svg).toMatch(/0\.0\d+×|0\.\d×/);
  });

  it('isobench report --store draws them; --dataset says they need a store', async () => {
    const out = path.join(dir, 'out');
    expect(await runCli(['node', 'isobench', 'report', '--store', file, '--out', out])).toBe(0);
    const page = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(page).toContain('paired rounds on ttft_mean');
    expect(page).not.toMatch(/<script|https?:\/\//);
    const empty = await buildReport([], { generatedAt: 'now' });
    expect(empty.markdown).toContain('need the trials and samples of a store (isobench report --store)');
  });
});

describe('report: per-task tables of the latency and throughput modes', () => {
  /** Trial points of a variant over 3 rounds, `f(round)` giving its metrics. */
  const variant = (id: string, kind: 'baseline' | 'human', f: (round: number) => Record<string, number>) => ({
    id,
    kind,
    aa: false,
    label: kind,
    ok: [1, 2, 3].map((round) => ({ round, position: kind === 'baseline' ? 1 : 2, orderSeed: 1, metrics: f(round), folded: [] })),
    failed: 0,
    distributions: null,
  });
  const latency = (scale: number) => (r: number) => ({ latency_avg: 1000 * scale + r, latency_p10: 900 * scale + r, latency_p50: 990 * scale + r, latency_p90: 1100 * scale - r, latency_p99: 1200 * scale + r * 2 });

  it('lists every latency-script statistic and judges latency_avg (primary) and latency_p99 (Holm)', async () => {
    const commit = 'ee'.repeat(20);
    const trials: TaskTrials[] = [{ commit, config: 'c1', variants: [variant(`${commit}:baseline`, 'baseline', latency(1)), variant(`${commit}:human`, 'human', latency(0.8))], stop: null }];
    const rows = [{ commit_hash: commit, commit_short: commit.slice(0, 8), benchmark_mode: 'standalone', config_key: 'c1', baseline_latency_avg: 1002, human_latency_avg: 802 }];
    const { model, markdown } = await buildReport(rows, { generatedAt: 'now' }, trials);
    const d = model.details![0]!;
    expect(d.primaryMetric).toBe('latency_avg');
    expect(d.metrics).toEqual(['latency_avg', 'latency_p10', 'latency_p50', 'latency_p90', 'latency_p99']);
    const lines = d.variants[1]!.lines;
    expect(lines.map((l) => l.role)).toEqual(['primary', 'descriptive', 'descriptive', 'descriptive', 'secondary']);
    const base = trials[0]!.variants[0]!;
    const hum = trials[0]!.variants[1]!;
    const rounds = (v: typeof base, m: string) => byRound(v.ok.map((t) => ({ round: t.round, value: t.metrics[m] })));
    expect(lines[0]!.comparison).toEqual(compare('latency_avg', rounds(base, 'latency_avg'), rounds(hum, 'latency_avg')));
    expect(markdown).toContain('Per-request distributions: no stored request samples');
    expect(markdown).toContain('Noise floor: not measured (no A/A variant');
  });

  it('takes throughput for the throughput script, higher = better', async () => {
    const commit = 'ff'.repeat(20);
    const tp = (x: number) => (r: number) => ({ throughput: x + r, request_throughput: x / 100 + r / 100 });
    const trials: TaskTrials[] = [{ commit, config: null, variants: [variant(`${commit}:baseline`, 'baseline', tp(1000)), variant(`${commit}:human`, 'human', tp(2000))], stop: null }];
    const rows = [{ commit_hash: commit, commit_short: commit.slice(0, 8), benchmark_mode: 'throughput', baseline_throughput: 1002, human_throughput: 2002 }];
    const { model } = await buildReport(rows, { generatedAt: 'now' }, trials);
    const d = model.details![0]!;
    expect(d.primaryMetric).toBe('throughput');
    expect(d.metrics).toEqual(['throughput', 'request_throughput']);
    const primary = d.variants[1]!.primary;
    expect(primary).toMatchObject({ status: 'ok', verdict: 'better', n: 3 });
    if (primary?.status !== 'ok') throw new Error('expected a comparison');
    // About 2×: a +100% throughput is a speed-up of 2 on the chart's axis.
    expect(speedup('throughput', primary.improvementPct)).toBeCloseTo(2, 2);
  });
});

describe('report: a --trials auto configuration judges its primary line as run and the dataset do (the interval at the stop)', () => {
  let dir: string;
  let rows: Awaited<ReturnType<typeof buildDatasetRows>>;
  let model: ReportModel;
  let markdown: string;
  let html: string;
  let plain: TaskTrials[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-report-auto-'));
    const file = path.join(dir, 'store.sqlite');
    // --min-trials 5 --max-trials 10: the first look is at round 5, where the task stopped.
    await writeTrialsStore(file, { minRounds: 5 });
    const store = await openStore(file, { create: false });
    try {
      const taskTrials = await buildTaskTrials(store);
      plain = taskTrials.map((t) => ({ ...t, stop: null }));
      rows = await buildDatasetRows(store, { includeRaw: false });
      ({ model, markdown, html } = await buildReport(rows, { generatedAt: 'now' }, taskTrials));
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("puts the dataset row's primary estimate, interval and verdict on the per-task primary line, and says which interval", () => {
    const d = model.details![0]!;
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    const primaryOf = (label: string) => d.variants.find((v) => v.variant.label === label)!.lines.find((l) => l.role === 'primary')!;
    let stagewise = 0;
    for (const [label, prefix] of [['human', 'human_improvement'], ['slowbot / m2', 'agent_improvement']] as const) {
      const line = primaryOf(label);
      const c = line.comparison;
      if (c?.status !== 'ok') throw new Error(`${label}: expected a comparison`);
      expect(line.interval, label).not.toBe('paired-t');
      if (line.interval === 'stagewise') stagewise++;
      expect([c.improvementPct, c.ciLow, c.ciHigh, c.n, c.verdict], label).toEqual([
        row[`${prefix}_primary`],
        row[`${prefix}_primary_ci_low`],
        row[`${prefix}_primary_ci_high`],
        row[`${prefix}_primary_n`],
        row[`${prefix}_verdict`],
      ]);
    }
    // Both comparisons were decided at the stop's look: the stage-wise interval, narrower than Student t's here.
    expect(stagewise).toBe(2);
    // baseline′ and every secondary metric stay paired t.
    const aaLines = d.variants.find((v) => v.variant.aa)!.lines;
    expect(aaLines.every((l) => l.interval === 'paired-t')).toBe(true);
    expect(d.variants.flatMap((v) => v.lines.filter((l) => l.role !== 'primary')).every((l) => l.interval === 'paired-t')).toBe(true);
    const humanRow = markdown.split('\n').find((l) => l.startsWith('| ttft_mean (ms)') && l.includes('stage-wise at the stop'));
    expect(humanRow).toBeDefined();
    expect(markdown).toMatch(/\| tpot_mean \(ms\) .*\(Holm; paired t\)/);
    expect(html).toContain('(primary; stage-wise at the stop)');
    expect(markdown).toContain("For a run --trials auto configuration the primary metric's line of human and agents is the comparison at the stop");
    expect(markdown).toContain('| Metric (unit) | Baseline | human | vs baseline, + = better: paired geometric mean of per-round ratios, Student t 95% CI (primary: stage-wise at the stop) | Verdict |');
  });

  it('differs from the plain paired t interval the tables used before', async () => {
    const { model: before } = await buildReport(rows, { generatedAt: 'now' }, plain);
    const at = model.details![0]!.variants.find((v) => v.variant.label === 'human')!.primary;
    const t = before.details![0]!.variants.find((v) => v.variant.label === 'human')!.primary;
    if (at?.status !== 'ok' || t?.status !== 'ok') throw new Error('expected comparisons');
    expect(t.improvementPct).toBeCloseTo(at.improvementPct, 10);
    expect([t.ciLow, t.ciHigh]).not.toEqual([at.ciLow, at.ciHigh]);
  });
});
