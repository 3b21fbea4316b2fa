/**
 * Dataset benchmark: fills a temporary SQLite store with synthetic tasks and trials (one trial per variant, two
 * agents per task), then times `buildDatasetRows`, `writeDataset` (Parquet + JSONL + card), `checkDataset` and the
 * report (src/report `buildReport`). Prints numbers; asserts nothing.
 *
 *   npm run bench:dataset            # 100,000 rows (50,000 tasks x 2 agents, 200,000 trials)
 *   ROWS=20000 npm run bench:dataset
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildDatasetRows, checkDataset, writeDataset } from '../src/dataset/index.js';
import { buildReport } from '../src/report/index.js';
import { openStore, type TrialRecord, type VariantRecord } from '../src/store/index.js';

const ROWS = Number(process.env.ROWS ?? 100_000);
const AGENTS = ['agent-a', 'agent-b'] as const;
const TASKS = Math.ceil(ROWS / AGENTS.length);

const hex = (n: number, salt: number): string => (n.toString(16).padStart(8, '0') + salt.toString(16).padStart(8, '0')).repeat(3).slice(0, 40);

/** A deterministic pseudo-random stream, so every run measures the same data. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

async function time<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  const ms = performance.now() - t0;
  process.stdout.write(`${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(8)} s\n`);
  return out;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-bench-dataset-'));
  const store = await openStore(path.join(dir, 'store.sqlite'));
  const rand = lcg(42);
  try {
    process.stdout.write(`${ROWS} rows: ${TASKS} tasks x ${AGENTS.length} agents, ${TASKS * (2 + AGENTS.length)} trials\n`);
    await store.createRun({ id: 'bench', startedAt: new Date().toISOString(), finishedAt: null, status: 'running', engine: 'sim', host: 'bench', config: {} });
    await time('fill store (tasks, variants, trials)', async () => {
      for (let i = 0; i < TASKS; i++) {
        const commit = hex(i, 1);
        const serving = i % 3 !== 0;
        await store.upsertTask({ commit, parent: hex(i, 2), repo: 'vllm-project/vllm', files_changed: ['vllm/x.py'], models: ['m'], perf_command: serving ? 'python benchmarks/benchmark_serving.py --model m' : 'python benchmarks/benchmark_latency.py --model m' });
        const variants: VariantRecord[] = [
          { id: `${commit}:baseline`, taskCommit: commit, kind: 'baseline', agentName: null, agentModel: null, patchSha256: null, patchText: null },
          { id: `${commit}:human`, taskCommit: commit, kind: 'human', agentName: null, agentModel: null, patchSha256: null, patchText: null },
          ...AGENTS.map((a): VariantRecord => ({ id: `${commit}:agent:${a}:model:000000000000`, taskCommit: commit, kind: 'agent', agentName: a, agentModel: 'model', patchSha256: null, patchText: null })),
        ];
        for (const v of variants) {
          await store.upsertVariant(v);
          const failed = rand() < 0.05;
          const speed = 0.8 + rand() * 0.4;
          const trial: TrialRecord = {
            id: `${v.id}#0`, trialKey: `${v.id}#bench#0`, configKey: 'bench', runId: 'bench', variantId: v.id, taskCommit: commit, trialIndex: 0,
            mode: serving ? 'serving' : 'latency', status: failed ? 'failed' : 'ok',
            failure: failed ? { code: 'server_crashed', evidence: 'RuntimeError: synthetic crash' } : null,
            metrics: failed ? {} : serving ? { ttft_mean: 100 * speed, ttft_median: 95 * speed, ttft_p99: 300 * speed, tpot_mean: 10 * speed, itl_mean: 10 * speed, output_throughput: 2000 / speed } : { latency_avg: 1500 * speed },
            deviations: [], correctness: null, engine: 'sim', host: 'bench', dataSource: 'isobench', model: 'm', command: null, workloadHash: null,
            startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', durationS: 60,
          };
          await store.saveTrial(trial, [], []);
        }
      }
    });
    await time('reference: store.listTrials + listVariants alone', async () => Promise.all([store.listTrials(), store.listVariants(), store.listTasks()]));
    const rows = await time('buildDatasetRows (no raw logs)', () => buildDatasetRows(store, { includeRaw: false }));
    await time('writeDataset (Parquet + JSONL + card)', () => writeDataset(rows, path.join(dir, 'out')));
    const report = await time('checkDataset (lint)', () => checkDataset(rows));
    process.stdout.write(`  lint: ${report.findings.map((f) => `${f.code} ${f.count}`).join(', ') || 'no finding'}\n`);
    await time('buildReport (Markdown + HTML)', () => buildReport(rows));
    // Reference in the same run: a plain pass over the rows computing one improvement each.
    await time('reference: one improvement per row (loop)', () => {
      let acc = 0;
      for (const r of rows) if (typeof r.baseline_ttft_mean === 'number' && typeof r.agent_ttft_mean === 'number') acc += (r.baseline_ttft_mean - r.agent_ttft_mean) / r.baseline_ttft_mean;
      return acc;
    });
    process.stdout.write(`${rows.length} rows built\n`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
