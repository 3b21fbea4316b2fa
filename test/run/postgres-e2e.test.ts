import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.js';
import { planRun, runBenchmarks } from '../../src/run/index.js';
import { openStore } from '../../src/store/index.js';
import { usePostgres } from '../store/pg-service.js';
import { memAgent, pyPatch, settings, task } from './helpers.js';

const pg = usePostgres();

describe('runBenchmarks with a PostgreSQL store', () => {
  it('records every trial with samples and logs, and a re-run resumes without double counting', async () => {
    const store = await openStore(await pg.fresh());
    try {
      const plans = planRun([task('9', { sim: { human: { prefill_speed: 2 } } })], [memAgent('a1', pyPatch('5'))], settings());
      const run = () => {
        const engine = createEngine({ kind: 'sim', runId: 'pg-run', profile: { decode_base_ms: 1 } });
        return runBenchmarks({ plans, engine, store, settings: settings(), config: { store: 'postgres' } }).finally(() => engine.cleanup());
      };
      const first = await run();
      expect(first.status).toBe('finished');
      const trials = await store.listTrials();
      expect(trials.map((t) => t.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
      expect((await store.getSamples(trials[0]?.id ?? '')).length).toBe(4);
      expect((await store.getLogs(trials[0]?.id ?? '')).map((l) => l.kind)).toContain('server');
      const second = await run();
      expect(second.outcomes.map((o) => o.status)).toEqual(Array(6).fill('skipped'));
      expect(await store.countTrials({})).toBe(6);
      expect((await store.listRuns()).map((r) => r.status)).toEqual(['finished', 'finished']);
    } finally {
      await store.close();
    }
  }, 180_000);
});
