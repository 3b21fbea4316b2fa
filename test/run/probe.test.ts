import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { buildDatasetRows } from '../../src/dataset/index.js';
import { createEngine } from '../../src/engine/index.js';
import { buildReport } from '../../src/report/index.js';
import { PROBE_MAX_TOKENS, PROBE_PROMPTS, planRun, runBenchmarks, summarizeResults } from '../../src/run/index.js';
import { defaultSimProfile, startSimServer } from '../../src/sim/index.js';
import { openStore, type Store, type TrialRecord } from '../../src/store/index.js';
import { downgradeStore } from '../store/downgrade.js';
import { settings, task, tempDir, TINY_SERVING, withStore } from './helpers.js';

function simEngine(profile: Record<string, unknown> = {}) {
  return createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, ...profile } });
}

/** The sim's greedy outputs of the probe prompts, asked directly on `path` (completions or chat). */
async function simGreedy(chat: boolean): Promise<string[]> {
  const server = await startSimServer({ ...defaultSimProfile, model: 'sim/tiny' }, { port: 0 });
  try {
    await server.ready;
    const out: string[] = [];
    for (const prompt of PROBE_PROMPTS) {
      const body = chat
        ? { model: 'sim/tiny', messages: [{ role: 'user', content: prompt }], max_completion_tokens: PROBE_MAX_TOKENS, temperature: 0 }
        : { model: 'sim/tiny', prompt, max_tokens: PROBE_MAX_TOKENS, temperature: 0 };
      const res = await fetch(`${server.url}${chat ? '/v1/chat/completions' : '/v1/completions'}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as { choices: { text?: string; message?: { content: string } }[] };
      out.push((chat ? json.choices[0]?.message?.content : json.choices[0]?.text) ?? '');
    }
    return out;
  } finally {
    await server.close();
  }
}

const TWO_ROUNDS = settings({ trials: 2, variants: ['baseline', 'human'], oomFallbackMaxModelLen: 0 });

/**
 * Stores round 1 of task 8's baseline as an earlier run left it (ok), with `outputs` as its probe outputs (null:
 * none) and `log` as its probe log; returns the plans of a two-round run that resumes it.
 */
async function storeBaseline(store: Store, outputs: (string | null)[] | null, log: string) {
  const plans = planRun([task('8')], [], TWO_ROUNDS);
  const plan = plans[0]!;
  const first = plan.trials.find((t) => t.variantId.endsWith(':baseline') && t.trialIndex === 1)!;
  await store.upsertTask(plan.task);
  for (const v of plan.variants) await store.upsertVariant(v.record);
  await store.createRun({ id: 'old-run', startedAt: '2026-01-01T00:00:00Z', finishedAt: null, status: 'running', engine: 'sim', host: 'test', config: {} });
  const stored: TrialRecord = {
    id: 'old-baseline-1',
    trialKey: first.key,
    runId: 'old-run',
    variantId: first.variantId,
    taskCommit: plan.task.commit,
    trialIndex: 1,
    configKey: plan.configKey,
    ...(outputs === null ? {} : { probeOutputs: outputs }),
    mode: 'serving',
    status: 'ok',
    failure: null,
    metrics: { ttft_mean: 10 },
    deviations: [],
    correctness: null,
    engine: 'sim',
    host: 'test',
    dataSource: 'isobench',
    model: 'sim/tiny',
    command: null,
    workloadHash: null,
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:00:01Z',
    durationS: 1,
  };
  await store.saveTrial(stored, [], [{ trialId: stored.id, kind: 'probe', text: log }]);
  return { plans, plan, stored };
}

describe('the correctness probe', () => {
  it('is probe_unavailable with its reason when a probe request fails (HTTP 500), for the baseline too, never correctness_mismatch', async () => {
    await withStore(async (store) => {
      // Every 2nd generation request of each server start gets HTTP 500: probes 2 and 4 fail.
      const s = settings({ trials: 1, variants: ['baseline', 'human'], oomFallbackMaxModelLen: 0 });
      const plans = planRun([task('7')], [], s);
      const engine = simEngine({ error_every: 2 });
      await runBenchmarks({ plans, engine, store, settings: s, config: {} });
      await engine.cleanup();
      const trials = await store.listTrials({ taskCommit: '7'.repeat(40) });
      expect(trials.map((t) => t.failure?.code)).toEqual(['probe_unavailable', 'probe_unavailable']);
      for (const t of trials) {
        expect(t.status).toBe('failed');
        expect(t.correctness).toBeNull();
        expect(t.failure?.source).toBe('probe');
        expect(t.failure?.evidence).toMatch(/^the correctness probe got 2 of 4 outputs; prompt 2: .*HTTP 500/);
      }
      const rows = await summarizeResults(store, plans);
      expect(rows.map((r) => r.failures)).toEqual([[{ code: 'probe_unavailable', count: 1 }], [{ code: 'probe_unavailable', count: 1 }]]);
      // The dataset and the report say it as well.
      const built = await buildDatasetRows(store, { includeRaw: false });
      expect([built[0]?.baseline_failure_code, built[0]?.human_failure_code, built[0]?.human_failed_trials]).toEqual(['probe_unavailable', 'probe_unavailable', 'probe_unavailable×1']);
      const { model } = await buildReport(built, { generatedAt: 'now' });
      expect(model.failures.map((f) => [f.code, f.count])).toEqual([['probe_unavailable', 2]]);
    });
  }, 60_000);

  it('on resume, never takes a stored baseline probe without outputs as the reference', async () => {
    await withStore(async (store) => {
      const { plans, plan, stored } = await storeBaseline(store, [null, null, null, null], JSON.stringify([null, null, null, null]));
      const engine = simEngine();
      await runBenchmarks({ plans, engine, store, settings: TWO_ROUNDS, config: {} });
      await engine.cleanup();
      const trials = (await store.listTrials({ taskCommit: plan.task.commit })).filter((t) => t.id !== stored.id);
      const name = (t: TrialRecord) => `${t.variantId.split(':')[1]}#${t.trialIndex}`;
      expect(trials.map((t) => `${name(t)} ${t.status} ${t.failure?.code ?? ''}`).sort()).toEqual(['baseline#2 ok ', 'human#1 ok ', 'human#2 ok ']);
      // baseline #2 is the first usable reference; a human trial that ran before it is unchecked (null, said so in
      // the table), one that ran after it agrees fully. None is correctness_mismatch.
      const ran = [...trials].sort((a, b) => a.startedAt.localeCompare(b.startedAt)).map(name);
      const expected = trials.map((t) => (name(t) === 'baseline#2' || ran.indexOf(name(t)) > ran.indexOf('baseline#2') ? 1 : null));
      expect(trials.map((t) => t.correctness?.agreement ?? null)).toEqual(expected);
      const rows = await summarizeResults(store, plans);
      const unchecked = expected.filter((x) => x === null).length;
      expect(rows.find((r) => r.label === 'human')?.unchecked).toBe(unchecked);
      // The dataset says so too.
      const [row] = await buildDatasetRows(store, { includeRaw: false });
      expect(row?.human_unchecked_trials).toBe(unchecked);
    });
  }, 60_000);

  it('on resume, takes the stored baseline\'s probe outputs (data) as the reference, not its probe log', async () => {
    await withStore(async (store) => {
      const { plans, plan, stored } = await storeBaseline(store, await simGreedy(false), JSON.stringify([null, null, null, null]));
      const engine = simEngine();
      await runBenchmarks({ plans, engine, store, settings: TWO_ROUNDS, config: {} });
      await engine.cleanup();
      const trials = (await store.listTrials({ taskCommit: plan.task.commit })).filter((t) => t.id !== stored.id);
      // Every trial of the resumed run is checked against the stored reference, human #1 (round 1) included.
      expect(trials.map((t) => `${t.variantId.split(':')[1]}#${t.trialIndex} ${t.correctness?.agreement ?? null}`).sort()).toEqual(['baseline#2 1', 'human#1 1', 'human#2 1']);
    });
  }, 60_000);

  it('on resume of a store of schema 5, takes the reference from the probe log its baseline kept (the migration made it data)', async () => {
    const file = path.join(tempDir(), 'old.sqlite');
    const store = await openStore(file);
    const { plans, plan, stored } = await storeBaseline(store, null, JSON.stringify(await simGreedy(false)));
    await store.close();
    await downgradeStore((f, q) => {
      const db = new BetterSqlite3(f);
      db.prepare(q).run();
      db.close();
      return Promise.resolve();
    }, file, 5);
    const again = await openStore(file);
    try {
      expect((await again.listTrials({ configKey: plan.configKey })).map((t) => t.probeOutputs)).toEqual([await simGreedy(false)]);
      const engine = simEngine();
      await runBenchmarks({ plans, engine, store: again, settings: TWO_ROUNDS, config: {} });
      await engine.cleanup();
      const trials = (await again.listTrials({ taskCommit: plan.task.commit })).filter((t) => t.id !== stored.id);
      expect(trials.map((t) => `${t.variantId.split(':')[1]}#${t.trialIndex} ${t.correctness?.agreement ?? null}`).sort()).toEqual(['baseline#2 1', 'human#1 1', 'human#2 1']);
    } finally {
      await again.close();
    }
  }, 60_000);

  it('speaks the backend of the workload: a chat perf command is probed on /v1/chat/completions', async () => {
    await withStore(async (store) => {
      const s = settings({ trials: 1, variants: ['baseline'], oomFallbackMaxModelLen: 0 });
      const chatTask = task('9', { perf_command: `${TINY_SERVING} --backend openai-chat --endpoint /v1/chat/completions` });
      const engine = simEngine();
      await runBenchmarks({ plans: planRun([chatTask], [], s), engine, store, settings: s, config: {} });
      await engine.cleanup();
      const [t] = await store.listTrials({ taskCommit: chatTask.commit });
      expect(t?.status, JSON.stringify(t?.failure)).toBe('ok');
      const probe = (await store.getLogs(t?.id ?? '')).find((l) => l.kind === 'probe');
      const chat = await simGreedy(true);
      expect(chat).not.toEqual(await simGreedy(false));
      expect(JSON.parse(probe?.text ?? 'null')).toEqual(chat);
    });
  }, 60_000);
});
