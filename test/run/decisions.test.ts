import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.js';
import { formatResults } from '../../src/cli/reporters/table.js';
import { oomDeviation, planRun, runBenchmarks, summarizeResults, type RunEvent } from '../../src/run/index.js';
import { openStore, type Store, type TrialRecord } from '../../src/store/index.js';
import { downgradeStore } from '../store/downgrade.js';
import { settings, task, tempDir } from './helpers.js';

/** The human variant's server runs out of memory at start unless `--max-model-len` is at most 4096. */
const OOM_TASK = task('c', { sim: { human: { oom_above_max_model_len: 4096 } } });
const PLAIN_TASK = task('d');
const OOM = oomDeviation(2048);

function sqlite(file: string, text: string): Promise<void> {
  const db = new BetterSqlite3(file);
  try {
    db.prepare(text).run();
  } finally {
    db.close();
  }
  return Promise.resolve();
}

/** Runs `trials` rounds of `t` on the sim into the store file; returns the events, the task's trials by round and the results table. */
async function simRun(file: string, t: typeof OOM_TASK, trials: number): Promise<{ events: RunEvent[]; trials: TrialRecord[]; table: string }> {
  const store: Store = await openStore(file);
  try {
    const s = settings({ trials, variants: ['baseline', 'human'] });
    const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1 } });
    const events: RunEvent[] = [];
    const plans = planRun([t], [], s);
    await runBenchmarks({ plans, engine, store, settings: s, config: {}, onEvent: (e) => events.push(e) });
    await engine.cleanup();
    const stored = await store.listTrials({ taskCommit: t.commit });
    const table = formatResults(await summarizeResults(store, plans));
    return { events, trials: stored.sort((a, b) => a.trialIndex - b.trialIndex || a.variantId.localeCompare(b.variantId)), table };
  } finally {
    await store.close();
  }
}

const prechecks = (events: RunEvent[]) => events.filter((e) => e.type === 'oom_precheck').map((e) => `${e.variantId.split(':')[1]} ${e.result}`);
const round = (trials: TrialRecord[], i: number) => trials.filter((t) => t.trialIndex === i).map((t) => `${t.variantId.split(':')[1]} ${t.status} ${t.failure?.code ?? ''} ${t.oomFallbackMaxModelLen ?? '-'}`);

describe('the OOM-fallback decision is data stored with the trials', () => {
  it('is written when decided and adopted on resume, whatever the deviation text says', async () => {
    const file = path.join(tempDir(), 'oom.sqlite');
    const first = await simRun(file, OOM_TASK, 1);
    expect(prechecks(first.events)).toEqual(['baseline ok', 'human oom']);
    expect(round(first.trials, 1)).toEqual(['baseline ok  2048', 'human ok  2048']);
    for (const t of first.trials) expect(t.deviations).toContain(OOM);
    // The text, for people, edited by hand: the decision stays.
    await sqlite(file, `update trials set deviations_json = '[]'`);
    const resumed = await simRun(file, OOM_TASK, 2);
    expect(prechecks(resumed.events)).toEqual([]);
    expect(round(resumed.trials, 2)).toEqual(['baseline ok  2048', 'human ok  2048']);
    for (const t of resumed.trials.filter((x) => x.trialIndex === 2)) expect(t.deviations).toContain(OOM);
    // The results table says so from the decision, for both variants.
    expect(resumed.table.match(/oom fallback/g)).toHaveLength(2);
  }, 60_000);

  it('a deviation text alone decides nothing: a task decided without the fallback resumes without it', async () => {
    const file = path.join(tempDir(), 'plain.sqlite');
    const first = await simRun(file, PLAIN_TASK, 1);
    expect(prechecks(first.events)).toEqual(['baseline ok', 'human ok']);
    await sqlite(file, `update trials set deviations_json = '${JSON.stringify([OOM])}'`);
    const resumed = await simRun(file, PLAIN_TASK, 2);
    expect(prechecks(resumed.events)).toEqual([]);
    expect(round(resumed.trials, 2)).toEqual(['baseline ok  -', 'human ok  -']);
    for (const t of resumed.trials.filter((x) => x.trialIndex === 2)) expect(t.deviations).toEqual([]);
    expect(resumed.table).not.toMatch(/oom fallback/);
  }, 60_000);

  it('a store of schema 5 (the decision only in the deviation text) resumes with the decision its trials were measured under', async () => {
    const file = path.join(tempDir(), 'old.sqlite');
    await simRun(file, OOM_TASK, 1);
    await downgradeStore((f, q) => sqlite(f, q), file, 5);
    const resumed = await simRun(file, OOM_TASK, 2);
    expect(prechecks(resumed.events)).toEqual([]);
    expect(round(resumed.trials, 1)).toEqual(['baseline ok  2048', 'human ok  2048']);
    expect(round(resumed.trials, 2)).toEqual(['baseline ok  2048', 'human ok  2048']);
    // The configuration came out of the old trial keys: the trials of both runs are one configuration.
    expect(new Set(resumed.trials.map((t) => t.configKey)).size).toBe(1);
    expect(resumed.trials[0]?.configKey).toBe(planRun([OOM_TASK], [], settings({ trials: 2, variants: ['baseline', 'human'] }))[0]?.configKey);
  }, 60_000);
});
