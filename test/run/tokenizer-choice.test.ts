import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.js';
import { planRun, runBenchmarks, type RunEvent } from '../../src/run/index.js';
import { writeTinyTokenizer } from '../loadgen/helpers.js';
import { settings, task, withStore } from './helpers.js';

/** Runs one baseline trial of `t` on the sim engine; returns the workload event and the trial's stored command. */
async function workloadOf(t: ReturnType<typeof task>, tokenizer?: string): Promise<{ event: RunEvent | undefined; command: string | null }> {
  return withStore(async (store) => {
    const s = settings({ trials: 1, variants: ['baseline'], ...(tokenizer === undefined ? {} : { tokenizer }) });
    const events: RunEvent[] = [];
    const engine = createEngine({ kind: 'sim', runId: 'tok-run', profile: { decode_base_ms: 1, startup_delay_ms: 10 } });
    try {
      await runBenchmarks({ plans: planRun([t], [], s), engine, store, settings: s, config: {}, onEvent: (e) => events.push(e) });
    } finally {
      await engine.cleanup();
    }
    const [trial] = await store.listTrials({});
    return { event: events.find((e) => e.type === 'workload'), command: trial?.command ?? null };
  });
}

describe('the tokenizer of a task\'s workload', () => {
  it('is the server\'s by default, run --tokenizer when given, the task\'s own before that; the run log and the trial say which', async () => {
    const byServer = await workloadOf(task('a'));
    expect(byServer.event).toMatchObject({ type: 'workload', tokenizer: "server-model:sim/tiny (the server's /tokenize, vllm API)" });

    const file = writeTinyTokenizer();
    const byRun = await workloadOf(task('b'), file);
    expect(byRun.event).toMatchObject({ tokenizer: `file:${file} (tokenizer file)` });
    expect(byRun.command).toContain(`tokenizer file:${file} (tokenizer file)`);

    const own = writeTinyTokenizer();
    const byTask = await workloadOf(task('c', { tokenizer: own }), file);
    expect(byTask.event).toMatchObject({ tokenizer: `file:${own} (tokenizer file)` });
  }, 120_000);
});
