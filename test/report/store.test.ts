import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { buildDatasetRows } from '../../src/dataset/index.js';
import { buildReport } from '../../src/report/index.js';
import { openStore, type TrialRecord, type VariantRecord } from '../../src/store/index.js';

const COMMIT = 'ab'.repeat(20);
const RUN = 'run-1';

/** Three trials per variant: the agent's TTFT is clearly lower than the human's, the human's equal to the baseline's. */
// Paired by round: human / baseline = 1, 0.995, 1.005 (a tie at n = 3 under the t interval), agent / human = 0.8, 0.806, 0.794.
const TTFT: Record<string, number[]> = { baseline: [100, 101, 99], human: [100, 100.5, 99.5], agent: [80, 81, 79] };

function variant(kind: 'baseline' | 'human' | 'agent'): VariantRecord {
  const agent = kind === 'agent';
  return {
    id: agent ? `${COMMIT}:agent:bot:m1:000000000000` : `${COMMIT}:${kind}`,
    taskCommit: COMMIT,
    kind,
    agentName: agent ? 'bot' : null,
    agentModel: agent ? 'm1' : null,
    patchSha256: agent ? '0'.repeat(64) : null,
    patchText: agent ? 'diff --git a/x b/x\n' : null,
  };
}

function trial(v: VariantRecord, i: number, ttft: number): TrialRecord {
  return {
    id: `${v.id}#${i}`,
    trialKey: `${v.id}#cfg#${i}`,
    configKey: 'cfg',
    runId: RUN,
    variantId: v.id,
    taskCommit: COMMIT,
    trialIndex: i,
    mode: 'serving',
    status: 'ok',
    failure: null,
    metrics: { ttft_mean: ttft, tpot_mean: 10, itl_mean: 10, throughput: 1000 },
    deviations: [],
    correctness: null,
    engine: 'sim',
    host: 'test',
    dataSource: 'isobench',
    model: 'facebook/opt-125m',
    command: null,
    workloadHash: null,
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:01:00Z',
    durationS: 60,
  };
}

describe('report from a store (multi-trial, real CIs)', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-report-store-'));
    file = path.join(dir, 'store.sqlite');
    const store = await openStore(file);
    try {
      await store.upsertTask({
        commit: COMMIT,
        parent: 'cd'.repeat(20),
        repo: 'vllm-project/vllm',
        files_changed: [],
        models: ['facebook/opt-125m'],
        perf_command: 'python benchmarks/benchmark_serving.py --model facebook/opt-125m',
        benchmark_mode: 'serving',
      });
      await store.createRun({ id: RUN, startedAt: '2026-01-01T00:00:00Z', finishedAt: null, status: 'running', engine: 'sim', host: 'test', config: {} });
      for (const kind of ['baseline', 'human', 'agent'] as const) {
        const v = variant(kind);
        await store.upsertVariant(v);
        for (const [i, x] of (TTFT[kind] ?? []).entries()) await store.saveTrial(trial(v, i, x), [], []);
      }
      await store.finishRun(RUN, 'finished', '2026-01-01T01:00:00Z');
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives CI-based verdicts', async () => {
    const store = await openStore(file, { create: false });
    const rows = await buildDatasetRows(store, { includeRaw: false }).finally(() => store.close());
    const { model } = await buildReport(rows, { generatedAt: 'now' });
    const row = model.rows[0]!;
    expect(row.metric).toBe('ttft_mean');
    expect(row.comparisons.agent_vs_human).toMatchObject({ status: 'ok', basis: 'ci', verdict: 'better', nRef: 3, nX: 3 });
    expect(row.comparisons.human_vs_baseline).toMatchObject({ status: 'ok', basis: 'ci', verdict: 'tie' });
    expect(model.allSingleTrial).toBe(false);
  });

  it('isobench report --store writes both files', async () => {
    const out = path.join(dir, 'out');
    expect(await runCli(['node', 'isobench', 'report', '--store', file, '--out', out])).toBe(0);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\+20\.0% \[\+\d+\.\d%, \+\d+\.\d%\] better/);
  });

  it('isobench status shows the same verdicts (one estimator everywhere)', async () => {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      expect(await runCli(['node', 'isobench', 'status', '--store', file])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const text = out.join('');
    expect(text).toContain('verdicts (paired geometric mean of per-round ratios, Student t 95% CI, tie band ±2%, positive = better)');
    // human vs baseline a tie, agent vs human +20% better, over 3 paired rounds.
    expect(text).toMatch(/abababab\s+bot\s+ttft_mean\s+[-+]\d+\.\d% \[[-+]\d+\.\d, [-+]\d+\.\d\] tie n=3\s+.*\+20\.\d% \[\+\d+\.\d, \+\d+\.\d\] better n=3/);
  });

  // Last: it adds a stop row to the store the tests above read.
  it('shows the --trials auto stop of the store (task_stops, through the dataset rows) per task and in the summary', async () => {
    const store = await openStore(file, { create: false });
    try {
      await store.saveTaskStop({
        taskCommit: COMMIT,
        configKey: 'cfg',
        runId: RUN,
        primaryMetric: 'ttft_mean',
        reason: 'settled',
        rounds: 3,
        maxRounds: 10,
        looks: 2,
        alphaSpent: 0.0125,
        gpuSeconds: 540,
        gpuSecondsAtMax: 1800,
        decidedAt: '2026-01-01T00:30:00Z',
      });
    } finally {
      await store.close();
    }
    const out = path.join(dir, 'out-stop');
    expect(await runCli(['node', 'isobench', 'report', '--store', file, '--out', out])).toBe(0);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    const line = 'stopped after 3 of 10 rounds (settled); 540 of 1800 GPU-s (70% saved); 2 looks, error rate spent 0.0125 of 0.05';
    expect(md).toContain(`- abababab: ${line}`);
    // The per-task trials section says it too.
    expect(md).toContain(`- run --trials auto: ${line}.`);
    expect(md).toContain('--trials auto used 540 of 1800 GPU-seconds at the maximum (70% saved), over 1 task configuration that stopped');
    expect(html).toContain(`<li>abababab: ${line}</li>`);
  });
});
