import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { emptyRow, type DatasetRow } from '../../src/dataset/index.js';
import { buildReport } from '../../src/report/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PUBLISHED = path.resolve(
  repoRoot,
  '../shared/corpus/iso-bench/archive/results/2026-01/omniperf_results_3way_claude_code/hf_export/updated_dataset.parquet',
);

/** A serving row as `dataset build` writes it from a multi-trial store: v5 metrics plus CI extension columns. */
function storeRow(commit: string, agent: string, ttft: { b: number; h: number; a: number }, ciAvsH: [number, number] | null, extra: DatasetRow = {}): DatasetRow {
  return {
    ...emptyRow(),
    commit_hash: commit.padEnd(40, '0'),
    commit_short: commit,
    commit_subject: 'Speed up | the scheduler',
    benchmark_mode: 'serving',
    agent_name: agent,
    agent_model: 'm1',
    has_agent_patch: true,
    baseline_ttft_mean: ttft.b,
    human_ttft_mean: ttft.h,
    agent_ttft_mean: ttft.a,
    data_source: 'isobench',
    primary_metric: 'ttft_mean',
    baseline_trials: 5,
    human_trials: 5,
    agent_trials: 5,
    baseline_ok_trials: 5,
    human_ok_trials: 5,
    agent_ok_trials: 5,
    agent_vs_human_primary: ((ttft.h - ttft.a) / ttft.h) * 100,
    agent_vs_human_primary_ci_low: ciAvsH?.[0] ?? null,
    agent_vs_human_primary_ci_high: ciAvsH?.[1] ?? null,
    ...extra,
  };
}

describe('buildReport with multi-trial rows (extension columns)', () => {
  const rows = [
    storeRow('aaaaaaaa', 'agentA', { b: 100, h: 90, a: 80 }, [5, 15]),
    storeRow('bbbbbbbb', 'agentA', { b: 100, h: 100, a: 99 }, [-3, 5]),
    storeRow('cccccccc', 'agentA', { b: 100, h: 100, a: 100 }, [-1, 1]),
    storeRow('dddddddd', 'agentA', { b: 100, h: 100, a: 100 }, null, {
      agent_ttft_mean: null,
      agent_ok_trials: 0,
      agent_failure_code: 'server_crashed',
      agent_failure_evidence: 'RuntimeError: CUDA error: an illegal memory access',
    }),
  ];

  it('takes verdicts from the CIs, with this report’s tie threshold', async () => {
    const { model, markdown, html } = await buildReport(rows, { generatedAt: 'now' });
    // The four charts of every report plus the per-task CI chart, drawn only when rows have CIs.
    expect(html.match(/<svg/g)?.length).toBe(5);
    expect(html).toContain('Agent vs human per task with 95% CI');
    const avh = model.rows.map((r) => r.comparisons.agent_vs_human);
    expect(avh.map((c) => (c.status === 'ok' ? `${c.verdict}/${c.basis}` : c.reason))).toEqual(['better/ci', 'inconclusive/ci', 'tie/ci', 'missing_x']);
    expect(avh[0]).toMatchObject({ nRef: 5, nX: 5, ciLow: 5, ciHigh: 15 });
    expect(model.allSingleTrial).toBe(false);
    expect(markdown).not.toContain('Every variant has a single measurement');
    expect(model.rows[3]?.status).toBe('crash');
    expect(model.failures).toEqual([
      { code: 'server_crashed', count: 1, examples: [{ code: 'server_crashed', where: 'dddddddd agent agentA/m1', evidence: 'RuntimeError: CUDA error: an illegal memory access' }] },
    ]);
    // A wider tie band turns the CI [-3, 5] into a tie and [5, 15] into inconclusive.
    const wide = await buildReport(rows, { generatedAt: 'now', tieThreshold: 6 });
    expect(wide.model.rows.slice(0, 3).map((r) => r.comparisons.agent_vs_human).map((c) => (c.status === 'ok' ? c.verdict : c.reason))).toEqual(['inconclusive', 'tie', 'tie']);
  });

  it('falls back to single measurements when the override metric has no CI columns', async () => {
    const { model } = await buildReport(rows, { primaryMetrics: { serving: 'ttft_median' }, generatedAt: 'now' });
    expect(model.rows[0]?.metric).toBe('ttft_median');
    expect(model.rows[0]?.comparisons.agent_vs_human).toMatchObject({ status: 'not_comparable', reason: 'missing_ref' });
  });

  it('escapes table cells and HTML', async () => {
    const evil = [storeRow('eeeeeeee', '<script>x</script>', { b: 1, h: 1, a: 1 }, [0, 0])];
    const { markdown, html } = await buildReport(evil, { generatedAt: 'now' });
    expect(markdown).toContain('Speed up \\| the scheduler');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
  });

  it('gives a task measured without agents no agent row: no "(none)" agent, no patch failure, its human vs baseline still counted', async () => {
    const noAgent = storeRow('ffffffff', 'x', { b: 100, h: 80, a: 0 }, null, {
      agent_name: null,
      agent_model: null,
      has_agent_patch: false,
      agent_ttft_mean: null,
      agent_trials: 0,
      agent_ok_trials: 0,
      agent_vs_human_primary: null,
      human_improvement_primary: 20,
      human_improvement_primary_ci_low: 15,
      human_improvement_primary_ci_high: 25,
    });
    const { model, markdown } = await buildReport([rows[0]!, noAgent], { generatedAt: 'now' });
    expect(model.agents).toEqual(['agentA / m1']);
    expect(model.agentSummaries.map((s) => [s.agent, s.rows, s.statuses.patch_failure])).toEqual([['agentA / m1', 1, 0]]);
    expect(model.failures).toEqual([]);
    expect(model.dataGaps.noAgent).toEqual([]);
    expect(markdown).not.toContain('(none)');
    const human = model.rows[1]?.comparisons.human_vs_baseline;
    expect(human).toMatchObject({ status: 'ok', verdict: 'better', basis: 'ci' });
    expect(markdown).toMatch(/All tasks, once each \| 2 /);
  });

  it('gives a comparison that failed on a workload mismatch no verdict, and lists the failure with both hashes', async () => {
    const evidence = 'workload_mismatch: the trials ran different workloads: 1111111111111111 (human ×2) vs 2222222222222222 (agent ×2)';
    const mismatch = storeRow('99999999', 'agentA', { b: 100, h: 100, a: 50 }, null, {
      agent_vs_human_primary: null,
      agent_vs_human_comparison_failure: evidence,
    });
    const { model, markdown } = await buildReport([mismatch], { generatedAt: 'now' });
    const row = model.rows[0]!;
    expect(row.comparisons.agent_vs_human).toMatchObject({ status: 'not_comparable', reason: 'workload_mismatch' });
    expect(row.comparisons.agent_vs_baseline.status).toBe('ok');
    expect(model.failures).toEqual([{ code: 'workload_mismatch', count: 1, examples: [{ code: 'workload_mismatch', where: '99999999 agent vs human', evidence: evidence.slice('workload_mismatch: '.length) }] }]);
    expect(markdown).toContain('2222222222222222');
  });

  it('keeps the rows of one task under two configurations apart: one per-task line and one human vs baseline each', async () => {
    const k1 = storeRow('abababab', 'agentA', { b: 100, h: 80, a: 80 }, [-2, 2], { config_key: '1111111111111111' });
    const k2 = storeRow('abababab', 'agentA', { b: 100, h: 100, a: 90 }, [5, 15], { config_key: '2222222222222222' });
    const { model, markdown } = await buildReport([k1, k2], { generatedAt: 'now' });
    expect(model.commits).toEqual(['abababab'.padEnd(40, '0')]);
    const tasks = markdown.split('\n').filter((l) => l.startsWith('| abababab'));
    expect(tasks).toHaveLength(2);
    expect(tasks[0]).toContain('config 11111111');
    expect(tasks[1]).toContain('config 22222222');
    expect(tasks[1]).toContain('better');
  });

  it('names a sweep task\'s point on its per-task line', async () => {
    const p1 = storeRow('abababab', 'agentA', { b: 100, h: 80, a: 80 }, [-2, 2], { config_key: '1111111111111111', sweep_point: '1/2: max_concurrency=4' });
    const p2 = storeRow('abababab', 'agentA', { b: 100, h: 90, a: 85 }, [-2, 2], { config_key: '2222222222222222', sweep_point: '2/2: max_concurrency=16' });
    const { markdown } = await buildReport([p1, p2], { generatedAt: 'now' });
    const tasks = markdown.split('\n').filter((l) => l.startsWith('| abababab'));
    expect(tasks.map((l) => /\(sweep point ([^)]*)\)/.exec(l)?.[1])).toEqual(['1/2: max_concurrency=4', '2/2: max_concurrency=16']);
  });

  describe('--trials auto stops (stop_* columns)', () => {
    const stop = (used: number, max: number, reason: string, looks: number, alpha: number, gpu: number, gpuMax: number): DatasetRow => ({
      stop_reason: reason,
      trials_used: used,
      trials_max: max,
      stop_looks: looks,
      stop_alpha_spent: alpha,
      gpu_seconds: gpu,
      gpu_seconds_at_max: gpuMax,
    });
    const settled = stop(5, 10, 'settled', 2, 0.0125, 150, 300);
    // Two agents of one task share its configuration's stop: it is listed and summed once.
    const rowsWithStops = [
      storeRow('aaaaaaaa', 'agentA', { b: 100, h: 90, a: 80 }, [5, 15], settled),
      storeRow('aaaaaaaa', 'agentB', { b: 100, h: 90, a: 85 }, [1, 9], settled),
      storeRow('bbbbbbbb', 'agentA', { b: 100, h: 100, a: 99 }, [-3, 5], stop(3, 10, 'futile', 1, 0.0016, 60, 200)),
      storeRow('cccccccc', 'agentA', { b: 100, h: 100, a: 100 }, [-1, 1]),
    ];

    it('writes each stopped task configuration\'s line and the run-level GPU-seconds from the rows\' values', async () => {
      const { model, markdown, html } = await buildReport(rowsWithStops, { generatedAt: 'now' });
      expect(model.stopTotals).toEqual({ configurations: 2, withGpuSeconds: 2, gpuSeconds: 210, gpuSecondsAtMax: 500 });
      const lines = markdown.split('\n');
      expect(lines.filter((l) => l.startsWith('- aaaaaaaa: '))).toEqual(['- aaaaaaaa: stopped after 5 of 10 rounds (settled); 150 of 300 GPU-s (50% saved); 2 looks, error rate spent 0.0125 of 0.05']);
      expect(lines.filter((l) => l.startsWith('- bbbbbbbb: '))).toEqual(['- bbbbbbbb: stopped after 3 of 10 rounds (futile); 60 of 200 GPU-s (70% saved); 1 look, error rate spent 0.00160 of 0.05']);
      expect(markdown).not.toMatch(/cccccccc: stopped/);
      const summary = markdown.slice(markdown.indexOf('## Executive summary'), markdown.indexOf('## Benchmark modes'));
      expect(summary).toContain('- --trials auto used 210 of 500 GPU-seconds at the maximum (58% saved), over 2 task configurations that stopped;');
      expect(html).toContain('<li>aaaaaaaa: stopped after 5 of 10 rounds (settled); 150 of 300 GPU-s (50% saved)');
      expect(html).toContain('--trials auto used 210 of 500 GPU-seconds at the maximum (58% saved)');
    });

    it('says nothing of stops when no row has one (fixed trials)', async () => {
      const { model, markdown, html } = await buildReport([rowsWithStops[3]!], { generatedAt: 'now' });
      expect(model.stopTotals).toBeNull();
      expect(model.rows[0]?.stop).toBeNull();
      for (const text of [markdown, html]) {
        expect(text).not.toContain('--trials auto');
        expect(text).not.toContain('stopped after');
        expect(text).not.toContain('GPU-s');
      }
    });
  });

  it('reports an empty dataset without failing', async () => {
    const { markdown, html } = await buildReport([], { generatedAt: 'now' });
    expect(markdown).toContain('0 rows');
    expect(html).toContain('</html>');
  });
});

describe('isobench report (CLI)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('writes report.md and report.html from --dataset', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'isobench-report-'));
    dirs.push(out);
    const code = await runCli(['node', 'isobench', 'report', '--dataset', PUBLISHED, '--out', out, '--tie-threshold', '3', '--seed', '7']);
    expect(code).toBe(0);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain('tie threshold ±3%');
    expect((await readFile(path.join(out, 'report.html'), 'utf8')).length).toBeGreaterThan(10_000);
  });

  it('rejects bad options with a usage error', async () => {
    const cases = [
      ['--dataset', PUBLISHED, '--out', '/tmp/x', '--tie-threshold', 'abc'],
      ['--dataset', PUBLISHED, '--out', '/tmp/x', '--primary-metric', 'serving=nope'],
      ['--dataset', PUBLISHED, '--store', 'a.sqlite', '--out', '/tmp/x'],
    ];
    for (const args of cases) expect(await runCli(['node', 'isobench', 'report', ...args])).toBe(2);
  });
});
