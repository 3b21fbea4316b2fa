// Store benchmark: saving a serving trial with 1,000 samples, and listing 100,000 trials (the dataset's read).
// Prints numbers with references measured in the same run; asserts nothing.
//   node --import tsx benchmarks/store.ts [--trials 100000] [--store <file|postgres://...>]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { openStore, type SampleRecord, type TrialRecord } from '../src/store/index.js';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '100000' }, store: { type: 'string' } } });
const listCount = Number(values.trials);
const dir = mkdtempSync(path.join(tmpdir(), 'isobench-bench-store-'));
const location = values.store ?? path.join(dir, 'bench.sqlite');
const COMMIT = 'a'.repeat(40);

function samplesOf(trialId: string, n: number, itl: number): SampleRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    trialId,
    index: i,
    ok: true,
    startMs: i * 9.87,
    ttftMs: 20 + Math.random() * 30,
    e2elMs: 400 + Math.random() * 100,
    itlMs: Array.from({ length: itl }, () => 5 + Math.random() * 3),
    promptTokens: 512,
    outputTokens: itl + 1,
    error: null,
  }));
}

function trialOf(key: string, i: number): TrialRecord {
  return {
    id: `t-${key}`,
    trialKey: key,
    runId: 'bench',
    variantId: `${COMMIT}:baseline`,
    taskCommit: COMMIT,
    trialIndex: i,
    mode: 'serving',
    status: i % 10 === 9 ? 'failed' : 'ok',
    failure: i % 10 === 9 ? { code: 'server_oom', evidence: 'torch.OutOfMemoryError: CUDA out of memory', source: 'server', line: 40 } : null,
    metrics: Object.fromEntries(['ttft_mean', 'ttft_median', 'ttft_p99', 'tpot_mean', 'tpot_median', 'tpot_p99', 'itl_mean', 'itl_p99', 'e2el_mean', 'request_throughput', 'output_throughput', 'total_token_throughput'].map((k) => [k, Math.random() * 100])),
    deviations: [],
    correctness: { agreement: 1, probes: 8 },
    engine: 'sim',
    host: 'bench-host',
    dataSource: 'isobench',
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    command: 'vllm bench serve --model meta-llama/Llama-3.1-8B-Instruct --num-prompts 1000',
    workloadHash: 'w',
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 1, i)).toISOString(),
    durationS: 60,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function time<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await fn();
  return [performance.now() - t0, out];
}

const store = await openStore(location);
console.log(`store: ${store.location} (${store.kind})`);
await store.createRun({ id: 'bench', startedAt: new Date().toISOString(), finishedAt: null, status: 'running', engine: 'sim', host: 'bench-host', config: {} });
await store.upsertVariant({ id: `${COMMIT}:baseline`, taskCommit: COMMIT, kind: 'baseline', agentName: null, agentModel: null, patchSha256: null, patchText: null });

// 1. saveTrial with 1,000 samples of 64 ITLs and two logs.
const log = 'INFO 01-01 00:00:00 engine.py:123] Avg prompt throughput: 1234.5 tokens/s\n'.repeat(2000);
const saveMs: number[] = [];
const reps = 20;
for (let r = 0; r < reps; r++) {
  const t = trialOf(`save-${r}`, r);
  const s = samplesOf(t.id, 1000, 64);
  const [ms] = await time(() => store.saveTrial(t, s, [{ trialId: t.id, kind: 'server', text: log }, { trialId: t.id, kind: 'bench', text: 'done\n' }]));
  saveMs.push(ms);
}
const readMs: number[] = [];
for (let r = 0; r < reps; r++) readMs.push((await time(() => store.getSamples(`t-save-${r}`)))[0]);

// Reference: the same samples as one row per request (ITLs as JSON), in one transaction, in a plain SQLite file.
const refDb = new BetterSqlite3(path.join(dir, 'rows.sqlite'));
refDb.pragma('journal_mode = WAL');
refDb.pragma('synchronous = NORMAL');
refDb.exec('create table samples (trial_id text, idx integer, ok integer, start_ms real, ttft_ms real, e2el_ms real, itl_json text, prompt_tokens integer, output_tokens integer, error text, primary key (trial_id, idx))');
const ins = refDb.prepare('insert into samples values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
const rowMs: number[] = [];
for (let r = 0; r < reps; r++) {
  const s = samplesOf(`r${r}`, 1000, 64);
  const [ms] = await time(() =>
    refDb.transaction(() => {
      for (const x of s) ins.run(x.trialId, x.index, x.ok ? 1 : 0, x.startMs, x.ttftMs, x.e2elMs, JSON.stringify(x.itlMs), x.promptTokens, x.outputTokens, x.error);
    })(),
  );
  rowMs.push(ms);
}
refDb.close();
console.log(`saveTrial, 1,000 samples x 64 ITLs + 150 KB log: median ${median(saveMs).toFixed(1)} ms (${reps} runs)`);
console.log(`  reference, row per request in plain SQLite:    median ${median(rowMs).toFixed(1)} ms`);
console.log(`getSamples of that trial:                        median ${median(readMs).toFixed(1)} ms`);

// 2. Listing many trials (what dataset build reads). Filled with saveTrial itself, as an import would.
const [fillMs] = await time(async () => {
  for (let i = 0; i < listCount; i++) await store.saveTrial(trialOf(`list-${i}`, i), [], []);
});
console.log(`saveTrial without samples x ${listCount}: ${(fillMs / 1000).toFixed(1)} s (${((fillMs * 1000) / listCount).toFixed(0)} us each)`);
const [listMs, all] = await time(() => store.listTrials());
console.log(`listTrials of ${all.length} trials: ${(listMs / 1000).toFixed(2)} s`);
const [iterMs, n] = await time(async () => {
  let k = 0;
  for await (const t of store.iterateTrials()) if (t.status === 'ok') k++;
  return k;
});
console.log(`iterateTrials (pages of 5,000) over the same: ${(iterMs / 1000).toFixed(2)} s, ${n} ok`);
const [jsonMs] = await time(() => JSON.parse(JSON.stringify(all)) as unknown);
console.log(`  reference, JSON round trip of those records in memory: ${(jsonMs / 1000).toFixed(2)} s`);
const [countMs, counts] = await time(() => store.trialCounts());
console.log(`trialCounts (status): ${countMs.toFixed(0)} ms for ${counts.length} variants`);
await store.close();
if (values.store === undefined) rmSync(dir, { recursive: true, force: true });
