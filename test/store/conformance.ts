import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import type { Task } from '../../src/task/index.js';
import {
  openStore,
  readStoreStatus,
  STORE_SCHEMA_VERSION,
  type LogRecord,
  type RunRecord,
  type SampleRecord,
  type Store,
  type TaskStopRecord,
  type TrialRecord,
  type VariantRecord,
} from '../../src/store/index.js';
import { downgradeStore } from './downgrade.js';

/** What a backend's test file gives the shared suite. */
export interface ConformanceTarget {
  /** A new, empty store location (file path or URL) that nothing else uses. */
  fresh(): Promise<string>;
  /** Runs raw SQL against the location, outside the Store (to tamper with it or look at how it stores things). */
  rawQuery(location: string, text: string): Promise<Record<string, unknown>[]>;
}

export const COMMIT = 'a'.repeat(40);
const TOKEN = 'hf_abcdefghijklmnopqrstuvwxyz0123';

export function task(commit = COMMIT): Task {
  return {
    commit,
    parent: 'b'.repeat(40),
    repo: 'vllm-project/vllm',
    subject: 'Speed up the scheduler',
    files_changed: ['vllm/core/scheduler.py'],
    perf_command: 'python benchmarks/benchmark_serving.py --model m --num-prompts 100',
    models: ['meta-llama/Llama-3.1-8B-Instruct'],
    gpu_config: 'H100:1',
  };
}

export function variant(kind: VariantRecord['kind'] = 'baseline', commit = COMMIT): VariantRecord {
  const agent = kind === 'agent';
  return {
    id: agent ? `${commit}:agent:claude-code:sonnet:0123456789ab` : `${commit}:${kind}`,
    taskCommit: commit,
    kind,
    agentName: agent ? 'claude-code' : null,
    agentModel: agent ? 'sonnet' : null,
    patchSha256: agent ? '0123456789ab'.padEnd(64, '0') : null,
    patchText: agent ? 'diff --git a/x b/x\n+fast\n' : null,
  };
}

export function run(id = 'run-1'): RunRecord {
  return {
    id,
    startedAt: '2026-01-02T03:04:05.000Z',
    finishedAt: null,
    status: 'running',
    engine: 'sim',
    host: 'host-1',
    config: { trials: 3, env: { HF_TOKEN: TOKEN, PATH: '/usr/bin' }, note: `token ${TOKEN}` },
  };
}

export function trial(over: Partial<TrialRecord> & { trialKey: string }): TrialRecord {
  return {
    id: `t-${over.trialKey}`,
    runId: 'run-1',
    variantId: variant().id,
    taskCommit: COMMIT,
    trialIndex: 0,
    mode: 'serving',
    status: 'ok',
    failure: null,
    metrics: { ttft_mean: 12.5, ttft_p99: 40.25, throughput_tok_s: 1234.5678901234 },
    deviations: [],
    correctness: { agreement: 1, probes: 8 },
    engine: 'sim',
    host: 'host-1',
    dataSource: 'isobench',
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    command: 'vllm bench serve --model m',
    workloadHash: 'w1',
    startedAt: '2026-01-02T03:04:05.000Z',
    finishedAt: '2026-01-02T03:05:05.000Z',
    durationS: 60.000123,
    ...over,
  };
}

export function failedTrial(trialKey: string, finishedAt: string, over: Partial<TrialRecord> = {}): TrialRecord {
  return trial({
    trialKey,
    status: 'failed',
    failure: { code: 'server_oom', evidence: 'torch.OutOfMemoryError: CUDA out of memory', line: 42, source: 'server' },
    metrics: {},
    correctness: null,
    finishedAt,
    ...over,
  });
}

export function samples(trialId: string, n: number): SampleRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    trialId,
    index: i,
    ok: i % 7 !== 3,
    startMs: i * 10.125,
    ttftMs: i % 7 === 3 ? null : 5 + i / 3,
    e2elMs: i % 7 === 3 ? null : 50 + i / 7,
    itlMs: i % 7 === 3 ? [] : Array.from({ length: 1 + (i % 5) }, (_, k) => 1.1 * k + i / 1000),
    promptTokens: 512,
    outputTokens: i % 7 === 3 ? 0 : 64,
    error: i % 7 === 3 ? `HTTP 500 with Authorization: Bearer ${TOKEN}` : null,
  }));
}

const LOGS: LogRecord[] = [
  { trialId: 'x', kind: 'server', text: `INFO starting\nHF_TOKEN=${TOKEN}\n${'INFO line of server log\n'.repeat(200)}` },
  { trialId: 'x', kind: 'bench', text: '============ Serving Benchmark Result ============\nMean TTFT (ms): 12.5\n' },
];

async function expectStoreError(p: Promise<unknown>, pattern: RegExp): Promise<IsobenchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IsobenchError);
  const e = err as IsobenchError;
  expect(e.code).toBe('E_STORE');
  expect(e.message).toMatch(pattern);
  return e;
}

/** The contract every Store backend meets; each backend's test file calls this with its target. */
export function defineStoreConformance(name: string, target: ConformanceTarget): void {
  describe(`${name} store conformance`, () => {
    const open: Store[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    async function fresh(): Promise<{ store: Store; location: string }> {
      const location = await target.fresh();
      const store = await openStore(location);
      open.push(store);
      return { store, location };
    }

    async function seeded(): Promise<{ store: Store; location: string }> {
      const f = await fresh();
      await f.store.upsertTask(task());
      await f.store.upsertVariant(variant('baseline'));
      await f.store.upsertVariant(variant('human'));
      await f.store.upsertVariant(variant('agent'));
      await f.store.createRun(run());
      return f;
    }

    it('round-trips tasks, variants and runs, updating on upsert', async () => {
      const { store } = await seeded();
      expect(await store.getTask(COMMIT)).toEqual(task());
      expect(await store.getTask('f'.repeat(40))).toBeNull();
      await store.upsertTask({ ...task(), subject: 'changed' });
      expect((await store.listTasks()).map((t) => t.subject)).toEqual(['changed']);

      expect(await store.listVariants()).toEqual([variant('agent'), variant('baseline'), variant('human')].sort((a, b) => (a.id < b.id ? -1 : 1)));
      expect(await store.listVariants('c'.repeat(40))).toEqual([]);
      await store.upsertVariant({ ...variant('agent'), patchText: 'diff v2' });
      expect((await store.listVariants(COMMIT)).find((v) => v.kind === 'agent')?.patchText).toBe('diff v2');

      await store.createRun(run()); // idempotent
      await store.finishRun('run-1', 'cancelled', '2026-01-02T04:00:00.000Z');
      const [r] = await store.listRuns();
      expect(r).toMatchObject({ id: 'run-1', status: 'cancelled', finishedAt: '2026-01-02T04:00:00.000Z', engine: 'sim', host: 'host-1' });
      // Secrets in the run's config are redacted, the rest kept.
      expect(r!.config).toEqual({ trials: 3, env: { HF_TOKEN: '***', PATH: '/usr/bin' }, note: 'token ***' });
      await expectStoreError(store.finishRun('nope', 'finished', 'x'), /no run with id nope/);
    });

    it('keeps a run\'s pid, and status shows a run whose process on this host is gone as interrupted', async () => {
      const { store } = await seeded();
      const gone = spawnSync(process.execPath, ['-e', '']).pid;
      expect(gone).toBeGreaterThan(0);
      const here = hostname();
      await store.createRun({ ...run('run-dead'), host: here, pid: gone });
      await store.createRun({ ...run('run-alive'), host: here, pid: process.pid });
      await store.createRun({ ...run('run-elsewhere'), host: 'another-host', pid: gone });
      await store.createRun({ ...run('run-done'), host: here, pid: gone, status: 'finished' });
      const runs = await store.listRuns();
      expect(runs.find((r) => r.id === 'run-dead')?.pid).toBe(gone);
      // A run written before the pid column (run-1 here has none) reads back without one.
      expect(runs.find((r) => r.id === 'run-1')).not.toHaveProperty('pid');
      const shown = new Map((await readStoreStatus(store)).runs.map((r) => [r.id, r.status]));
      expect(Object.fromEntries(shown)).toEqual({ 'run-1': 'running', 'run-dead': 'interrupted', 'run-alive': 'running', 'run-elsewhere': 'running', 'run-done': 'finished' });
    });

    it('round-trips --trials auto stop rows, one per task configuration (a later decision replaces it), shown by status', async () => {
      const { store } = await seeded();
      const stop: TaskStopRecord = {
        taskCommit: COMMIT,
        configKey: 'cfg-a',
        runId: 'run-1',
        primaryMetric: 'tpot_mean',
        reason: 'settled',
        rounds: 5,
        maxRounds: 10,
        minRounds: 3,
        looks: 2,
        alphaSpent: 0.0125,
        gpuSeconds: 151.5,
        gpuSecondsAtMax: 303,
        decidedAt: '2026-01-02T03:30:00.000Z',
      };
      await store.saveTaskStop(stop);
      // Schema 9 keeps --min-trials (the look schedule); a row without it (written before schema 9) reads null.
      await store.saveTaskStop({ ...stop, configKey: 'cfg-b', reason: 'futile', rounds: 8, looks: 3, alphaSpent: 0.032, minRounds: null });
      expect(await store.listTaskStops()).toEqual([stop, { ...stop, configKey: 'cfg-b', reason: 'futile', rounds: 8, looks: 3, alphaSpent: 0.032, minRounds: null }]);
      // A resumed run that decides the same configuration again replaces its row.
      await store.saveTaskStop({ ...stop, runId: 'run-2', reason: 'max_rounds', rounds: 10, looks: 4, alphaSpent: 0.05 });
      const stops = await store.listTaskStops(COMMIT);
      expect(stops.map((s) => [s.configKey, s.runId, s.reason, s.rounds])).toEqual([
        ['cfg-a', 'run-2', 'max_rounds', 10],
        ['cfg-b', 'run-1', 'futile', 8],
      ]);
      expect(await store.listTaskStops('c'.repeat(40))).toEqual([]);
      expect((await readStoreStatus(store)).stops.map((s) => s.configKey)).toEqual(['cfg-a', 'cfg-b']);
    });

    it('round-trips a trial with its samples and logs', async () => {
      const { store } = await seeded();
      const t = trial({
        trialKey: 'k1',
        deviations: ['max_model_len=2048 (oom fallback for every variant)'],
        position: 2,
        orderSeed: 2147483647,
        configKey: '0123456789abcdef',
        oomFallbackMaxModelLen: 2048,
        probeOutputs: ['The capital of France is Paris.', null, '', 'ok'],
      });
      const s = samples(t.id, 300);
      expect(await store.saveTrial(t, s, LOGS)).toBe('inserted');
      expect(await store.listTrials()).toEqual([t]);
      const back = await store.getSamples(t.id);
      expect(back.length).toBe(300);
      expect(back.filter((x) => x.ok)).toEqual(s.filter((x) => x.ok));
      expect(back[3]).toEqual({ ...s[3], error: 'HTTP 500 with Authorization: Bearer ***' });
      const logs = await store.getLogs(t.id);
      expect(logs.map((l) => l.kind)).toEqual(['server', 'bench']);
      expect(logs[0]!.trialId).toBe(t.id);
      expect(logs[1]!.text).toBe(LOGS[1]!.text);
      expect(await store.getSamples('unknown')).toEqual([]);
      expect(await store.getLogs('unknown')).toEqual([]);
    });

    it('keeps failures with their evidence and redacts secrets in trial text', async () => {
      const { store } = await seeded();
      const f = failedTrial('k-fail', '2026-01-02T03:06:00.000Z', {
        command: `HF_TOKEN=${TOKEN} vllm bench serve`,
        failure: { code: 'model_unavailable', evidence: `401 for token ${TOKEN}`, source: 'server' },
        deviations: [`used ${TOKEN}`],
      });
      await store.saveTrial(f, [], []);
      const [back] = await store.listTrials();
      expect(back!.failure).toEqual({ code: 'model_unavailable', evidence: '401 for token ***', source: 'server' });
      expect(back!.command).toBe('HF_TOKEN=*** vllm bench serve');
      expect(back!.deviations).toEqual(['used ***']);
      expect(JSON.stringify(back)).not.toContain(TOKEN);
      expect(await store.getSamples(f.id)).toEqual([]);
    });

    it('stores logs gzip-compressed and redacted', async () => {
      const { store, location } = await seeded();
      const t = trial({ trialKey: 'k-logs' });
      await store.saveTrial(t, [], LOGS);
      const logs = await store.getLogs(t.id);
      expect(logs[0]!.text).not.toContain(TOKEN);
      expect(logs[0]!.text).toContain('HF_TOKEN=***');
      const rows = await target.rawQuery(location, `select encoding, size, data from logs where trial_id = '${t.id}' order by seq`);
      expect(rows.length).toBe(2);
      const data = rows[0]!.data as Uint8Array;
      expect(rows[0]!.encoding).toBe('gzip');
      expect(data.length).toBeLessThan(Number(rows[0]!.size) / 4);
      const text = gunzipSync(data).toString('utf8');
      expect(text).toBe(logs[0]!.text);
      expect(Buffer.from(data).includes(Buffer.from(TOKEN))).toBe(false);
    });

    it('writes a trial key once: the second save reports exists and changes nothing', async () => {
      const { store } = await seeded();
      const t = trial({ trialKey: 'dup' });
      expect(await store.saveTrial(t, samples(t.id, 5), LOGS)).toBe('inserted');
      const again = { ...t, id: 't-other', metrics: { ttft_mean: 999 } };
      expect(await store.saveTrial(again, samples('t-other', 9), [])).toBe('exists');
      expect(await store.listTrials()).toEqual([t]);
      expect((await store.getSamples(t.id)).length).toBe(5);
      expect(await store.getSamples('t-other')).toEqual([]);
      expect(await store.countTrials()).toBe(1);
      await expectStoreError(store.saveTrial({ ...t, trialKey: 'other-key' }, [], []), /trial id t-dup is already used by a trial with another key/);
    });

    it('answers existingTrialKeys for many keys (resume)', async () => {
      const { store } = await seeded();
      const keys = Array.from({ length: 1200 }, (_, i) => `key-${i}`);
      for (const k of keys.filter((_, i) => i % 100 === 0)) await store.saveTrial(trial({ trialKey: k }), [], []);
      const found = await store.existingTrialKeys([...keys, 'missing']);
      expect([...found].sort()).toEqual(keys.filter((_, i) => i % 100 === 0).sort());
      expect(await store.existingTrialKeys([])).toEqual(new Set());
    });

    it('filters, pages, counts and summarizes trials', async () => {
      const { store } = await seeded();
      await store.createRun(run('run-2'));
      const human = variant('human').id;
      await store.saveTrial(trial({ trialKey: 'b0' }), [], []);
      await store.saveTrial(trial({ trialKey: 'h0', variantId: human }), [], []);
      await store.saveTrial(failedTrial('h1', '2026-01-02T05:00:00.000Z', { variantId: human, runId: 'run-2' }), [], []);
      await store.saveTrial(failedTrial('b1', '2026-01-02T06:00:00.000Z', { dataSource: 'modal' }), [], []);
      await store.saveTrial(trial({ trialKey: 'b2', runId: 'run-2' }), [], []);

      const keys = (ts: TrialRecord[]) => ts.map((t) => t.trialKey);
      expect(keys(await store.listTrials())).toEqual(['b0', 'h0', 'h1', 'b1', 'b2']);
      expect(keys(await store.listTrials({ variantId: human }))).toEqual(['h0', 'h1']);
      expect(keys(await store.listTrials({ runId: 'run-2' }))).toEqual(['h1', 'b2']);
      expect(keys(await store.listTrials({ dataSource: 'modal' }))).toEqual(['b1']);
      expect(keys(await store.listTrials({ status: 'failed', taskCommit: COMMIT }))).toEqual(['h1', 'b1']);
      expect(await store.listTrials({ taskCommit: 'c'.repeat(40) })).toEqual([]);
      expect(await store.countTrials({ status: 'ok' })).toBe(3);

      const paged: string[] = [];
      for await (const t of store.iterateTrials({}, { pageSize: 2 })) paged.push(t.trialKey);
      expect(paged).toEqual(['b0', 'h0', 'h1', 'b1', 'b2']);

      expect(await store.trialCounts()).toEqual([
        { taskCommit: COMMIT, variantId: variant('baseline').id, ok: 2, failed: 1 },
        { taskCommit: COMMIT, variantId: human, ok: 1, failed: 1 },
      ]);
      expect(keys(await store.recentFailures(10))).toEqual(['b1', 'h1']);
      expect(keys(await store.recentFailures(1))).toEqual(['b1']);
    });

    it('saves nothing of a trial whose transaction fails part-way', async () => {
      const { store } = await seeded();
      const t = trial({ trialKey: 'atomic' });
      const badLogs = [LOGS[0]!, { trialId: 'x', kind: 'bogus' as LogRecord['kind'], text: 'x' }];
      await expectStoreError(store.saveTrial(t, samples(t.id, 50), badLogs), /saving trial atomic failed: a value is outside the allowed set/);
      expect(await store.listTrials()).toEqual([]);
      expect(await store.getSamples(t.id)).toEqual([]);
      expect(await store.getLogs(t.id)).toEqual([]);
      expect(await store.existingTrialKeys(['atomic'])).toEqual(new Set());
      // The same trial saves cleanly afterwards: nothing half-written blocks it.
      expect(await store.saveTrial(t, samples(t.id, 50), LOGS)).toBe('inserted');
    });

    it('rejects a trial of an unknown variant or run with a clear message', async () => {
      const { store } = await seeded();
      await expectStoreError(store.saveTrial(trial({ trialKey: 'orphan', variantId: 'nope' }), [], []), /run or variant that is not in the store/);
      await expectStoreError(store.saveTrial(trial({ trialKey: 'orphan2', runId: 'nope' }), [], []), /run or variant that is not in the store/);
      expect(await store.countTrials()).toBe(0);
    });

    it('lets two stores on the same location write at once, each key exactly once', async () => {
      const { store: a, location } = await seeded();
      const b = await openStore(location);
      open.push(b);
      const keys = Array.from({ length: 40 }, (_, i) => `c-${i}`);
      const results = await Promise.all(
        keys.flatMap((k) => [a.saveTrial(trial({ trialKey: k }), samples(`t-${k}`, 20), LOGS), b.saveTrial(trial({ trialKey: k }), samples(`t-${k}`, 20), LOGS)]),
      );
      expect(results.filter((r) => r === 'inserted').length).toBe(40);
      expect(results.filter((r) => r === 'exists').length).toBe(40);
      expect(await a.countTrials()).toBe(40);
      expect((await b.listTrials()).map((t) => t.trialKey).sort()).toEqual([...keys].sort());
    });

    it('keeps everything across reopening; migrations run once', async () => {
      const { store, location } = await seeded();
      await store.saveTrial(trial({ trialKey: 'persist' }), samples('t-persist', 3), LOGS);
      await store.close();
      await store.close(); // closing twice is harmless
      open.splice(open.indexOf(store), 1);
      const [again, third] = await Promise.all([openStore(location), openStore(location)]);
      open.push(again, third);
      expect((await again.listTrials()).map((t) => t.trialKey)).toEqual(['persist']);
      expect((await third.getSamples('t-persist')).length).toBe(3);
      const versions = await target.rawQuery(location, 'select version from isobench_migrations order by version');
      expect(versions.map((v) => Number(v.version))).toEqual(Array.from({ length: STORE_SCHEMA_VERSION }, (_, i) => i + 1));
    });

    it('upgrades a version-1 store: its runs gain a pid column, its trials a round position, its variants the patch bytes, and keep their records', async () => {
      const { store, location } = await seeded();
      await store.close();
      open.splice(open.indexOf(store), 1);
      // Back to what a store written by schema version 1 looks like.
      await downgradeStore((l, q) => target.rawQuery(l, q), location, 1);
      const again = await openStore(location);
      open.push(again);
      expect((await again.listRuns()).map((r) => r.id)).toEqual(['run-1']);
      await again.createRun({ ...run('run-2'), pid: 4242 });
      expect((await again.listRuns()).find((r) => r.id === 'run-2')?.pid).toBe(4242);
      // Schema 3: trials gain their position in the round and the order's seed.
      await again.saveTrial(trial({ trialKey: 'after-upgrade', position: 3, orderSeed: 7 }), [], []);
      expect((await again.listTrials()).find((t) => t.trialKey === 'after-upgrade')).toMatchObject({ position: 3, orderSeed: 7 });
      // Schema 4: an agent patch is kept byte for byte (here not UTF-8 at all).
      const bytes = Buffer.from([0xff, 0x00, 0xe9, 0x0a]);
      await again.upsertVariant({ ...variant('agent'), patchBytes: bytes });
      expect(Buffer.from((await again.listVariants(COMMIT)).find((v) => v.kind === 'agent')?.patchBytes ?? []).equals(bytes)).toBe(true);
      // Schema 6: --trials auto stop rows.
      expect(await again.listTaskStops()).toEqual([]);
      // Schema 7: a variant's build from source; a later upsert without it (a run registering its variants) keeps it.
      const build = { seconds: 12.5, cached: false, runId: 'run-2', where: '/cache/tree' };
      await again.upsertVariant({ ...variant('human'), build });
      await again.upsertVariant(variant('human'));
      expect((await again.listVariants(COMMIT)).find((v) => v.kind === 'human')?.build).toEqual(build);
      const versions = await target.rawQuery(location, 'select version from isobench_migrations order by version');
      expect(versions.map((v) => Number(v.version))).toEqual(Array.from({ length: STORE_SCHEMA_VERSION }, (_, i) => i + 1));
    });

    it('filters trials by configuration and keeps probe outputs redacted', async () => {
      const { store } = await seeded();
      const human = variant('human').id;
      const keys = (ts: TrialRecord[]) => ts.map((t) => t.trialKey);
      await store.saveTrial(trial({ trialKey: 'c0' }), [], []);
      await store.saveTrial(trial({ trialKey: 'c1', configKey: 'cfg-1' }), [], []);
      await store.saveTrial(trial({ trialKey: 'c2', configKey: 'cfg-2', variantId: human }), [], []);
      expect(keys(await store.listTrials({ configKey: 'cfg-1' }))).toEqual(['c1']);
      expect(keys(await store.listTrials({ configKey: 'cfg-2', taskCommit: COMMIT, status: 'ok' }))).toEqual(['c2']);
      expect(await store.countTrials({ configKey: 'cfg-3' })).toBe(0);
      // A trial that names no configuration, decision or probe reads back without them.
      expect((await store.listTrials())[0]).not.toHaveProperty('configKey');
      await store.saveTrial(trial({ trialKey: 'c3', probeOutputs: [`with ${TOKEN}`, null] }), [], []);
      expect((await store.listTrials()).find((t) => t.trialKey === 'c3')?.probeOutputs).toEqual(['with ***', null]);
    });

    it('upgrades a version-5 store: the configuration, OOM fallback and probe outputs its trials kept as text become data', async () => {
      const { store, location } = await seeded();
      const base = variant('baseline').id;
      const oom = 'max_model_len=2048 (oom fallback for every variant of the task)';
      const probe = (trialId: string, text: string): LogRecord => ({ trialId, kind: 'probe', text });
      // Trials as schema 5 wrote them: the configuration only in the key, the decision only in the text, the
      // probe's outputs only in a log.
      const old = [
        [trial({ id: 't1', trialKey: `${base}#0123456789abcdef#1`, deviations: ['perf command fix: x', oom] }), [probe('t1', JSON.stringify(['a', 'b']))]],
        [trial({ id: 't2', trialKey: `${base}#0123456789abcdef#2` }), [probe('t2', JSON.stringify([null, 'b']))]],
        [trial({ id: 't3', trialKey: `${base}#fedcba9876543210#1`, deviations: ['perf command fix: x'] }), [probe('t3', 'not json'), probe('t3', JSON.stringify([1, 2]))]],
        [trial({ id: 't4', trialKey: 'import:docker:results/x.json:human' }), []],
        [trial({ id: 't5', trialKey: 'hand-made' }), [{ trialId: 't5', kind: 'server', text: '["not", "a probe"]' }]],
      ] as const;
      for (const [t, logs] of old) await store.saveTrial(t, [], logs);
      await store.close();
      open.splice(open.indexOf(store), 1);
      await downgradeStore((l, q) => target.rawQuery(l, q), location, 5);
      const again = await openStore(location);
      open.push(again);
      const decisions = (await again.listTrials()).map((t) => [t.id, t.configKey ?? null, t.oomFallbackMaxModelLen ?? null, t.probeOutputs ?? null]);
      expect(decisions).toEqual([
        ['t1', '0123456789abcdef', 2048, ['a', 'b']],
        ['t2', '0123456789abcdef', null, [null, 'b']],
        // A damaged probe log, or one that is not a list of outputs, gives no outputs: never a reference.
        ['t3', 'fedcba9876543210', null, null],
        ['t4', 'import', null, null],
        ['t5', null, null, null],
      ]);
      expect(await again.countTrials({ configKey: '0123456789abcdef' })).toBe(2);
      // The text stays for people, unchanged.
      expect((await again.listTrials({ configKey: '0123456789abcdef' }))[0]?.deviations).toEqual(['perf command fix: x', oom]);
      expect((await again.getLogs('t1')).map((l) => l.text)).toEqual([JSON.stringify(['a', 'b'])]);
      const versions = await target.rawQuery(location, 'select version from isobench_migrations order by version');
      expect(versions.map((v) => Number(v.version))).toEqual(Array.from({ length: STORE_SCHEMA_VERSION }, (_, i) => i + 1));
    });

    it('opens concurrently on a fresh location', async () => {
      const location = await target.fresh();
      const stores = await Promise.all([openStore(location), openStore(location), openStore(location)]);
      open.push(...stores);
      await stores[0].upsertTask(task());
      expect((await stores[2].listTasks()).length).toBe(1);
    });

    it('refuses a store from a newer schema version', async () => {
      const { store, location } = await fresh();
      await store.close();
      open.splice(open.indexOf(store), 1);
      await target.rawQuery(location, `insert into isobench_migrations (version, name, applied_at) values (999, 'future', 'x')`);
      await expectStoreError(openStore(location), /schema version 999, newer than this isobench understands/);
    });

    it('refuses a place that holds other tables but is not an isobench store', async () => {
      const location = await target.fresh();
      await target.rawQuery(location, 'create table trials (x integer)');
      await expectStoreError(openStore(location), /is not an isobench store/);
    });

    it('does not create a store when create is false', async () => {
      const location = await target.fresh();
      await expectStoreError(openStore(location, { create: false }), /no isobench store at/);
      const again = await openStore(location); // still openable normally: nothing half-made was left
      open.push(again);
      expect(await again.listRuns()).toEqual([]);
    });
  });
}
