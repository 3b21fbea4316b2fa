import { hostname } from 'node:os';
import type { RunSettings, TaskPlan } from '../run/index.js';
import type { Store } from '../store/index.js';
import { openQueue } from './db.js';
import { gpuNeedOf, taskIdentifier } from './gpus.js';
import { encodePayload, jobKeyOf, MAX_ATTEMPTS, PAYLOAD_VERSION, type JobPayload } from './jobs.js';

/** What `run --queue` hands to the queue. */
export interface EnqueueInput {
  /** The PostgreSQL URL of the store (the queue lives beside it). */
  url: string;
  store: Store;
  plans: readonly TaskPlan[];
  settings: RunSettings;
  runId: string;
  engineKind: string;
  /** Hash of the engine settings: only workers with the same settings take the jobs. */
  engineKey: string;
  /** The resolved options, secrets removed (stored with the run). */
  config: unknown;
}

/** One task of the plan, as the queue saw it. */
export interface EnqueuedTask {
  taskCommit: string;
  jobKey: string;
  identifier: string;
  trialsToRun: number;
  /** `added`: a job of this run; `queued`: a job of an earlier run is queued or running; `stored`: nothing left to run. */
  status: 'added' | 'queued' | 'stored';
}

export interface EnqueueResult {
  /** The run the new jobs belong to; null when nothing was added (no run record is written then). */
  runId: string | null;
  queueSchema: string;
  tasks: EnqueuedTask[];
  trialsPlanned: number;
  /** Trials of the added jobs that the store does not hold yet. */
  trialsToRun: number;
}

/**
 * Enqueues one job per task (all its variants and trials run on one host, so interleaving keeps its meaning).
 * A task whose trials are all stored, or whose job is already queued or running, adds nothing; a job that
 * graphile-worker gave up on (attempts exhausted) is replaced, so re-running the command retries it.
 */
export async function enqueueRun(input: EnqueueInput): Promise<EnqueueResult> {
  const allKeys = input.plans.flatMap((p) => p.trials.map((t) => t.key));
  const existing = await input.store.existingTrialKeys(allKeys);
  const queue = await openQueue(input.url, { create: true });
  try {
    const candidates = input.plans.map((plan) => {
      const trialsToRun = plan.trials.filter((t) => !existing.has(t.key)).length;
      const identifier = taskIdentifier(input.engineKind, input.engineKey, gpuNeedOf(plan, input.engineKind));
      return { plan, jobKey: jobKeyOf(plan), identifier, trialsToRun };
    });
    const open = candidates.filter((c) => c.trialsToRun > 0);
    const live = await queue.pool.query<{ key: string; attempts: number; max_attempts: number; locked_at: Date | null }>(
      `select key, attempts, max_attempts, locked_at from ${queue.q}.jobs where key = any($1::text[])`,
      [open.map((c) => c.jobKey)],
    );
    const given = new Set(live.rows.filter((r) => r.locked_at === null && r.attempts >= r.max_attempts).map((r) => r.key));
    const queued = new Set(live.rows.filter((r) => !given.has(r.key)).map((r) => r.key));
    const toAdd = open.filter((c) => !queued.has(c.jobKey));
    const added = new Set<string>();
    if (toAdd.length > 0) {
      await input.store.createRun({
        id: input.runId,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        status: 'running',
        engine: input.engineKind,
        host: hostname(),
        config: { ...(input.config as object), queue: queue.schema },
        // Workers on other hosts run it: no process of this host stands for the run.
        pid: null,
      });
      const client = await queue.pool.connect();
      try {
        await client.query('begin');
        for (const c of toAdd) {
          if (given.has(c.jobKey)) await client.query(`select ${queue.q}.remove_job($1)`, [c.jobKey]);
          const payload: JobPayload = { v: PAYLOAD_VERSION, runId: input.runId, plan: c.plan, settings: input.settings };
          // unsafe_dedupe: a job with this key that appeared since the check above (another `run --queue`) wins.
          const res = await client.query<{ payload: { runId?: string } }>(
            `select payload from ${queue.q}.add_job(identifier => $1, payload => $2::json, max_attempts => $3, job_key => $4, job_key_mode => 'unsafe_dedupe')`,
            [c.identifier, encodePayload(payload), MAX_ATTEMPTS, c.jobKey],
          );
          if (res.rows[0]?.payload.runId !== input.runId) continue;
          added.add(c.jobKey);
          await client.query(
            `insert into ${queue.q}.isobench_tasks (run_id, job_key, task_commit, identifier, trials_todo, state) values ($1, $2, $3, $4, $5, 'queued')`,
            [input.runId, c.jobKey, c.plan.task.commit, c.identifier, c.trialsToRun],
          );
        }
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        await input.store.finishRun(input.runId, 'failed', new Date().toISOString()).catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      // Every job raced away to a concurrent `run --queue`: this run has nothing to wait for.
      if (added.size === 0) await input.store.finishRun(input.runId, 'finished', new Date().toISOString());
    }
    const tasks: EnqueuedTask[] = candidates.map((c) => ({
      taskCommit: c.plan.task.commit,
      jobKey: c.jobKey,
      identifier: c.identifier,
      trialsToRun: c.trialsToRun,
      status: c.trialsToRun === 0 ? 'stored' : added.has(c.jobKey) ? 'added' : 'queued',
    }));
    return {
      runId: added.size > 0 ? input.runId : null,
      queueSchema: queue.schema,
      tasks,
      trialsPlanned: allKeys.length,
      trialsToRun: tasks.filter((t) => t.status === 'added').reduce((n, t) => n + t.trialsToRun, 0),
    };
  } finally {
    await queue.close();
  }
}
