import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import { planRun, runBenchmarks, type TaskPlan } from '../../src/run/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { usePostgres } from '../store/pg-service.js';
import { settings, task, tempDir } from './helpers.js';

const pg = usePostgres();

const sim = (runId: string) => createEngine({ kind: 'sim', runId, profile: { decode_base_ms: 1, startup_delay_ms: 20 } });

/** A pid that belonged to a process that has exited (no process has it now). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function run(store: Store, plans: TaskPlan[], runId: string, onStart?: () => Promise<void>) {
  const engine = sim(runId);
  let started: Promise<void> = Promise.resolve();
  return runBenchmarks({
    plans,
    engine,
    store,
    settings: settings({ trials: 2, variants: ['baseline', 'human'] }),
    config: {},
    runId,
    onEvent: (e) => {
      if (e.type === 'run_start' && onStart) started = onStart();
    },
  }).then(
    async (s) => {
      await started;
      await engine.cleanup();
      return s;
    },
    async (err: unknown) => {
      await engine.cleanup();
      throw err;
    },
  );
}

describe.each([
  ['sqlite', () => Promise.resolve(path.join(tempDir(), 'lease.sqlite'))],
  ['postgres', () => pg.fresh()],
])('one run per store configuration (%s)', (_kind, location) => {
  it('a second run of the same configuration is refused, naming the run that holds it; the first measures everything', async () => {
    const where = await location();
    const [a, b] = [await openStore(where), await openStore(where)];
    try {
      const plans = planRun([task('a')], [], settings({ trials: 2, variants: ['baseline', 'human'] }));
      let refusal: unknown;
      const first = await run(a, plans, 'run-first', async () => {
        refusal = await run(b, plans, 'run-second').then(
          () => null,
          (err: unknown) => err,
        );
      });
      expect(first.status).toBe('finished');
      expect(refusal).toBeInstanceOf(IsobenchError);
      expect((refusal as IsobenchError).message).toMatch(/run-first/);
      expect((refusal as IsobenchError).message).toMatch(new RegExp(`pid ${process.pid}`));
      expect((refusal as IsobenchError).message).toContain(`measuring task ${plans[0]!.task.commit.slice(0, 12)} with the same configuration (${plans[0]!.configKey})`);
      expect((refusal as IsobenchError).exitCode).toBe(2);
      // The refused run measured nothing and left no run record; the first stored all four trials, once.
      expect((await a.listRuns()).map((r) => r.id)).toEqual(['run-first']);
      expect((await a.listTrials()).map((t) => t.runId)).toEqual(Array(4).fill('run-first'));
      // Once the first is done, the configuration is free again.
      const again = await run(b, plans, 'run-third');
      expect(again.outcomes.map((o) => o.status)).toEqual(Array(4).fill('skipped'));
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);

  it('takes over the lease of a run whose process died (kill -9) and of a run elsewhere that stopped renewing it', async () => {
    const where = await location();
    const store = await openStore(where);
    try {
      const keys = ['k1', 'k2'];
      expect(await store.acquireRunLease(keys, { runId: 'dead', host: (await import('node:os')).hostname(), pid: deadPid() })).toEqual({ status: 'acquired' });
      // Its holder is gone: the next run takes the lease.
      expect(await store.acquireRunLease(keys, { runId: 'live', host: (await import('node:os')).hostname(), pid: process.pid })).toEqual({ status: 'acquired' });
      const held = await store.acquireRunLease(['k2', 'k3'], { runId: 'other', host: 'elsewhere', pid: 1 });
      expect(held.status === 'held' && held.holder).toMatchObject({ runId: 'live', pid: process.pid });
      // A refused acquisition keeps nothing: k3 is still free.
      expect(await store.acquireRunLease(['k3'], { runId: 'other', host: 'elsewhere', pid: 1 })).toEqual({ status: 'acquired' });
      await store.releaseRunLease('live');
      await store.releaseRunLease('other');
      // A holder on another host cannot be checked by pid: it is alive while it renews, dead once it stopped.
      expect(await store.acquireRunLease(keys, { runId: 'remote', host: 'elsewhere', pid: 1 }, { now: new Date('2026-01-01T00:00:00Z') })).toEqual({ status: 'acquired' });
      const fresh = await store.acquireRunLease(keys, { runId: 'local', host: 'here', pid: process.pid }, { now: new Date('2026-01-01T00:00:30Z') });
      expect(fresh.status).toBe('held');
      expect(await store.acquireRunLease(keys, { runId: 'local', host: 'here', pid: process.pid }, { now: new Date('2026-01-01T00:10:00Z') })).toEqual({ status: 'acquired' });
    } finally {
      await store.close();
    }
  });
});
