import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { pgAdmin, usePostgres } from '../store/pg-service.js';
import { repoRoot, tempDir, TINY_SERVING } from '../run/helpers.js';

const pg = usePostgres();
const CLI = path.join(repoRoot, 'bin/isobench.js');

/** A running `isobench` child: its JSON lines, a wait for the first one matching, its exit code. */
interface Child {
  proc: ChildProcess;
  events: Record<string, unknown>[];
  until: (pred: (e: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stderr: () => string;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = [];
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) {
      if (!w.pred(e)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    events,
    exited,
    stderr: () => err,
    until: (pred) => {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void exited.then((code) => reject(new Error(`exited ${String(code)} first; stderr:\n${err}`)));
      });
    },
  };
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A catalog of `n` tiny serving tasks, and the engine config that workers and the run share. */
function catalog(n: number): { tasks: string; engine: string } {
  const dir = tempDir('isobench-queue-');
  const tasks = path.join(dir, 'tasks.json');
  const list = Array.from({ length: n }, (_, i) => ({ commit: String(i + 1).repeat(40).slice(0, 40), parent: 'e'.repeat(40), subject: `task ${i + 1}`, perf_command: TINY_SERVING }));
  writeFileSync(tasks, JSON.stringify({ version: 1, tasks: list }));
  const engine = path.join(dir, 'engine.json');
  // Slow enough decode that a trial is still measuring when the test kills its worker.
  writeFileSync(engine, JSON.stringify({ profile: { decode_base_ms: 40 } }));
  return { tasks, engine };
}

const RUN_ARGS = ['--variants', 'baseline,human', '--trials', '2', '--warmups', '1', '--oom-fallback-max-model-len', '0'];
const WORKER_ARGS = ['--gpus', '0', '--heartbeat', '0.5', '--lease', '2', '--idle-exit', '10', '--json-events'];

async function queueRows(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const schema = new URL(url).searchParams.get('options')?.replace('-c search_path=', '') ?? 'public';
  return pgAdmin(url, async (c) => (await c.query(sql.replaceAll('Q.', `"${schema}_queue".`))).rows as Record<string, unknown>[]);
}

describe('run --queue with isobench workers on PostgreSQL', () => {
  it('3 workers drain a catalog; one killed with -9 mid-trial, another finishes its task; every trial stored once; a second run --queue adds nothing', async () => {
    const url = await pg.fresh();
    const { tasks, engine } = catalog(6);
    const queued = await run(['run', '--tasks', tasks, '--store', url, '--engine-config', engine, '--queue', '--json-events', ...RUN_ARGS]);
    expect(queued.code, queued.stderr).toBe(0);
    const plan = JSON.parse(queued.stdout.trim().split('\n').at(-1) ?? '{}') as { runId: string; trialsToRun: number; tasks: { status: string }[] };
    expect(plan.trialsToRun).toBe(24);
    expect(plan.tasks.map((t) => t.status)).toEqual(Array(6).fill('added'));

    const workers = [0, 1, 2].map(() => start(['worker', '--store', url, '--engine-config', engine, ...WORKER_ARGS]));
    try {
      const victim = workers[0]!;
      const job = await victim.until((e) => e.type === 'worker_job');
      await victim.until((e) => e.type === 'trial_phase' && e.phase === 'measure');
      victim.proc.kill('SIGKILL');
      expect(await victim.exited).toBe(null);
      const survivors = await Promise.all(workers.slice(1).map((w) => w.exited));
      expect(survivors, workers.map((w) => w.stderr()).join('\n')).toEqual([0, 0]);

      // The victim's task was finished by another worker, after its lease expired.
      const victimId = job.workerId as string;
      const retried = workers.slice(1).flatMap((w) => w.events).filter((e) => e.type === 'worker_job' && e.jobKey === job.jobKey);
      expect(retried.length).toBe(1);
      expect(retried[0]?.attempt).toBe(2);
      const rows = await queueRows(url, 'select job_key, state, worker_id, attempts from Q.isobench_tasks order by job_key');
      expect(rows.map((r) => r.state)).toEqual(Array(6).fill('done'));
      const victimTask = rows.find((r) => r.job_key === job.jobKey);
      expect(victimTask?.worker_id).not.toBe(victimId);
      expect((await queueRows(url, `select state from Q.isobench_workers where id = '${victimId}'`))[0]?.state).toBe('lost');
      expect(await queueRows(url, 'select id from Q.jobs')).toEqual([]);

      const store = await openStore(url);
      try {
        const trials = await store.listTrials();
        expect(trials.length).toBe(24);
        expect(new Set(trials.map((t) => t.trialKey)).size).toBe(24);
        expect(trials.filter((t) => t.status !== 'ok' || t.runId !== plan.runId).map((t) => [t.trialKey, t.runId, t.failure])).toEqual([]);
        const runs = await store.listRuns();
        expect(runs.map((r) => r.status)).toEqual(['finished']);

        const again = await run(['run', '--tasks', tasks, '--store', url, '--engine-config', engine, '--queue', '--json-events', ...RUN_ARGS]);
        expect(again.code, again.stderr).toBe(0);
        const second = JSON.parse(again.stdout.trim().split('\n').at(-1) ?? '{}') as { runId: string | null; tasks: { status: string }[] };
        expect(second.runId).toBe(null);
        expect(second.tasks.map((t) => t.status)).toEqual(Array(6).fill('stored'));
        expect(await queueRows(url, 'select id from Q.jobs')).toEqual([]);
        expect((await store.listRuns()).length).toBe(1);
        expect(await store.countTrials()).toBe(24);
      } finally {
        await store.close();
      }
    } finally {
      for (const w of workers) w.proc.kill('SIGKILL');
    }
  }, 300_000);

  it('SIGTERM: the worker finishes the trial in flight, stores it, hands the task back, exits 0; another worker resumes the task without re-running it', async () => {
    const url = await pg.fresh();
    const { tasks, engine } = catalog(2);
    const queued = await run(['run', '--tasks', tasks, '--store', url, '--engine-config', engine, '--queue', '--json-events', ...RUN_ARGS]);
    expect(queued.code, queued.stderr).toBe(0);
    const first = start(['worker', '--store', url, '--engine-config', engine, ...WORKER_ARGS]);
    let second: Child | undefined;
    try {
      const job = await first.until((e) => e.type === 'worker_job');
      const inFlight = await first.until((e) => e.type === 'trial_phase' && e.phase === 'measure');
      first.proc.kill('SIGTERM');
      expect(await first.exited, first.stderr()).toBe(0);
      const ended = first.events.filter((e) => e.type === 'trial_end').map((e) => (e.outcome as { trialKey: string }).trialKey);
      expect(ended).toContain(inFlight.trialKey);
      expect(first.events.find((e) => e.type === 'worker_job_end')).toMatchObject({ jobKey: job.jobKey, result: 'handed_back' });
      expect(first.events.find((e) => e.type === 'worker_stop')).toMatchObject({ reason: 'signal', jobsDone: 0 });

      second = start(['worker', '--store', url, '--engine-config', engine, ...WORKER_ARGS]);
      expect(await second.exited, second.stderr()).toBe(0);
      const resumed = second.events.find((e) => e.type === 'worker_job' && e.jobKey === job.jobKey);
      expect(resumed?.attempt).toBe(2);
      const rerun = second.events.filter((e) => e.type === 'trial_end').map((e) => (e.outcome as { trialKey: string; status: string }));
      expect(rerun.filter((o) => ended.includes(o.trialKey) && o.status !== 'skipped')).toEqual([]);

      const store = await openStore(url);
      try {
        const trials = await store.listTrials();
        expect(trials.length).toBe(8);
        expect(new Set(trials.map((t) => t.trialKey)).size).toBe(8);
        expect((await store.listRuns()).map((r) => r.status)).toEqual(['finished']);
      } finally {
        await store.close();
      }
    } finally {
      first.proc.kill('SIGKILL');
      second?.proc.kill('SIGKILL');
    }
  }, 300_000);

  it('run --queue --wait follows a worker with the usual events and prints the results; status shows the fleet and the run', async () => {
    const url = await pg.fresh();
    const { tasks, engine } = catalog(1);
    const waiting = start(['run', '--tasks', tasks, '--store', url, '--engine-config', engine, '--queue', '--wait', '--json-events', ...RUN_ARGS]);
    await waiting.until((e) => e.type === 'queued');
    const w = start(['worker', '--store', url, '--engine-config', engine, ...WORKER_ARGS]);
    try {
      expect(await waiting.exited, waiting.stderr()).toBe(0);
      const types = waiting.events.map((e) => e.type);
      expect(types.filter((t) => t === 'trial_end').length).toBe(4);
      expect(types).toContain('run_start');
      expect(waiting.events.find((e) => e.type === 'run_end')).toMatchObject({ status: 'finished', ok: 4, failed: 0 });
      expect(types.at(-1)).toBe('results');
      expect(await w.exited).toBe(0);
      const status = await run(['status', '--store', url, '--json']);
      expect(status.code, status.stderr).toBe(0);
      const fleet = (JSON.parse(status.stdout) as { fleet: { jobs: Record<string, number>; workers: { state: string; jobsDone: number }[]; runs: { done: number; tasks: number; trialsStored: number; etaS: number }[] } }).fleet;
      expect(fleet.jobs).toEqual({ queued: 0, running: 0, failed: 0 });
      expect(fleet.workers.map((x) => [x.state, x.jobsDone])).toEqual([['stopped', 1]]);
      expect(fleet.runs).toMatchObject([{ done: 1, tasks: 1, trialsStored: 4, etaS: 0 }]);
    } finally {
      waiting.proc.kill('SIGKILL');
      w.proc.kill('SIGKILL');
    }
  }, 300_000);
});
