import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { run, type JobHelpers, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import { errorMessage, redactSecrets } from '../core/index.js';
import { createEngine, type ResolvedEngineConfig } from '../engine/index.js';
import { leaseKey, runPlansOfRun, type RunEventListener, type RunSummary } from '../run/index.js';
import { LEASE_RENEW_MS, openStore, type Store } from '../store/index.js';
import { openQueue, quietLogger, type QueueDb } from './db.js';
import { identifiersFor } from './gpus.js';
import { readPayload } from './jobs.js';

/** How one `isobench worker` process behaves. */
export interface WorkerOptions {
  /** The PostgreSQL URL of the store. */
  url: string;
  engine: ResolvedEngineConfig;
  /** Hash of the engine settings (as `run` computes it): only jobs planned with the same settings are taken. */
  engineKey: string;
  /** The GPU ids this worker owns (`CUDA_VISIBLE_DEVICES` of its servers); null: not checked (sim). */
  gpus: readonly string[] | null;
  /** The GPU type (e.g. H100); null: unknown, only jobs that name no type are taken. */
  gpuType: string | null;
  heartbeatS: number;
  /** A worker whose heartbeat is older than this is lost: its job goes back to the queue. */
  leaseS: number;
  /** Seconds the trial in flight may take to finish after the stop signal before it is cancelled. */
  graceS: number;
  /** Exit after the queue has had no job for this worker for so many seconds; null: wait for jobs forever. */
  idleExitS: number | null;
  /** Milliseconds between polls for jobs that became due (new jobs wake the worker at once). */
  pollMs?: number;
  /** Aborted: stop gracefully (finish or hand back the task); a second abort of `kill` cancels the trial in flight. */
  stop: AbortSignal;
  kill: AbortSignal;
  onEvent?: RunEventListener;
  onLog?: (line: WorkerLogLine) => void;
}

/** What a worker reports about itself, besides the run events of its task. */
export type WorkerLogLine =
  | { type: 'worker_start'; workerId: string; gpus: string; gpuType: string | null; identifiers: number; queue: string }
  | { type: 'worker_job'; workerId: string; runId: string; taskCommit: string; jobKey: string; attempt: number }
  | { type: 'worker_job_end'; workerId: string; runId: string; taskCommit: string; jobKey: string; result: 'done' | 'handed_back' | 'failed'; detail: string | null }
  | { type: 'worker_swept'; workerId: string; lost: string[] }
  /** Queued jobs of this engine that were planned with other engine settings: this worker never takes them. */
  | { type: 'worker_other_settings'; workerId: string; engineKey: string; jobs: number; keys: string[] }
  /** A warning or error of graphile-worker itself (secrets redacted). */
  | { type: 'worker_queue_log'; workerId: string; message: string }
  | { type: 'worker_stop'; workerId: string; reason: 'idle' | 'signal' | 'lost' | 'error'; jobsDone: number };

export interface WorkerResult {
  workerId: string;
  jobsDone: number;
  reason: 'idle' | 'signal' | 'lost' | 'error';
}

/**
 * Runs queued tasks one at a time with the same runner as a local run, until stopped or idle. Heartbeats into
 * `isobench_workers`; each heartbeat also sweeps workers whose lease expired (kill -9, a lost host) and gives their
 * jobs back to graphile-worker, so another worker resumes the task: stored trials are skipped by their keys.
 */
export async function runWorker(opts: WorkerOptions): Promise<WorkerResult> {
  const workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const store = await openStore(opts.url);
  let queue: QueueDb | undefined;
  try {
    queue = await openQueue(opts.url, { create: true });
    return await new QueueWorker(workerId, opts, store, queue).run();
  } finally {
    await queue?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

class QueueWorker {
  private runner: Runner | null = null;
  /** The 'stopping' write of shutdown(); the final 'stopped' write waits for it so it can never land after it. */
  private stoppingWrite: Promise<unknown> = Promise.resolve();
  private jobsDone = 0;
  private lastBusy = Date.now();
  private busy = false;
  private reason: WorkerResult['reason'] = 'signal';
  /** Aborted when this worker must stop its task at once (kill, lost lease). */
  private readonly cancel = new AbortController();
  private readonly drain = new AbortController();
  private readonly log: (line: WorkerLogLine) => void;

  constructor(
    private readonly id: string,
    private readonly opts: WorkerOptions,
    private readonly store: Store,
    private readonly queue: QueueDb,
  ) {
    this.log = (line) => {
      try {
        opts.onLog?.(line);
      } catch {
        /* a reporter must not break the worker */
      }
    };
  }

  async run(): Promise<WorkerResult> {
    const { opts, queue } = this;
    const gpus = opts.gpus === null ? null : opts.gpus.length;
    const identifiers = identifiersFor(opts.engine.kind, opts.engineKey, gpus, opts.gpuType);
    await queue.pool.query(
      `insert into ${queue.q}.isobench_workers (id, host, pid, gpus, gpu_type, engine, heartbeat_s, lease_s, state) values ($1, $2, $3, $4, $5, $6, $7, $8, 'idle')`,
      [this.id, hostname(), process.pid, opts.gpus?.join(',') ?? '', opts.gpuType, opts.engine.kind, opts.heartbeatS, opts.leaseS],
    );
    this.log({ type: 'worker_start', workerId: this.id, gpus: opts.gpus?.join(',') ?? 'unchecked', gpuType: opts.gpuType, identifiers: identifiers.length, queue: queue.schema });
    await this.reportOtherSettings();
    const taskList: TaskList = {};
    for (const name of identifiers) taskList[name] = (payload, helpers) => this.handle(payload, helpers);
    const events = new EventEmitter() as WorkerEvents;
    events.on('pool:create', ({ workerPool }) => {
      void queue.pool.query(`update ${queue.q}.isobench_workers set pool_id = $2 where id = $1`, [this.id, workerPool.id]).catch(() => undefined);
    });
    events.on('worker:getJob:empty', () => {
      if (opts.idleExitS !== null && !this.busy && Date.now() - this.lastBusy > opts.idleExitS * 1000) this.shutdown('idle');
    });
    events.on('job:failed', ({ job, error }) => {
      const payload = readPayload(job.payload);
      if (payload && job.key) void this.markTask(payload.runId, job.key, 'failed', errorMessage(error));
    });
    const onStop = () => this.shutdown('signal');
    const onKill = () => this.cancel.abort(new Error('killed'));
    opts.stop.addEventListener('abort', onStop);
    opts.kill.addEventListener('abort', onKill);
    const beat = setInterval(() => void this.heartbeat(), opts.heartbeatS * 1000);
    try {
      this.runner = await run({
        pgPool: queue.pool,
        schema: queue.schema,
        concurrency: 1,
        noHandleSignals: true,
        pollInterval: opts.pollMs ?? 1000,
        gracefulShutdownAbortTimeout: opts.graceS * 1000,
        logger: quietLogger((message) => this.log({ type: 'worker_queue_log', workerId: this.id, message })),
        events,
        taskList,
      });
      if (opts.stop.aborted) this.shutdown('signal');
      await this.runner.promise;
    } catch (err) {
      this.reason = 'error';
      throw err;
    } finally {
      clearInterval(beat);
      opts.stop.removeEventListener('abort', onStop);
      opts.kill.removeEventListener('abort', onKill);
      await this.stoppingWrite;
      await queue.pool
        .query(`update ${queue.q}.isobench_workers set state = case when state = 'lost' then 'lost' else 'stopped' end, heartbeat_at = now(), run_id = null, job_key = null, task_commit = null where id = $1`, [this.id])
        .catch(() => undefined);
      this.log({ type: 'worker_stop', workerId: this.id, reason: this.reason, jobsDone: this.jobsDone });
    }
    return { workerId: this.id, jobsDone: this.jobsDone, reason: this.reason };
  }

  /** Says so when queued jobs of this engine carry another settings hash (the run was planned with another --engine-config). */
  private async reportOtherSettings(): Promise<void> {
    const { opts, queue } = this;
    const prefix = `isobench/${opts.engine.kind}/`;
    const res = await queue.pool.query<{ id: string; n: string }>(
      `select task_identifier as id, count(*) as n from ${queue.q}.jobs where task_identifier like $1 and task_identifier not like $2 and locked_at is null group by 1`,
      [`${prefix}%`, `${prefix}${opts.engineKey}/%`],
    );
    if (res.rows.length === 0) return;
    const keys = [...new Set(res.rows.map((r) => r.id.split('/')[2] ?? ''))];
    this.log({ type: 'worker_other_settings', workerId: this.id, engineKey: opts.engineKey, jobs: res.rows.reduce((n, r) => n + Number(r.n), 0), keys });
  }

  private shutdown(reason: WorkerResult['reason']): void {
    if (this.drain.signal.aborted) return;
    this.reason = reason;
    this.drain.abort();
    this.stoppingWrite = this.queue.pool.query(`update ${this.queue.q}.isobench_workers set state = 'stopping' where id = $1 and state <> 'lost'`, [this.id]).catch(() => undefined);
    void this.runner?.stop().catch(() => undefined);
  }

  /** One queued task: the runner resumes it (stored trials are skipped), then the job completes or is handed back. */
  private async handle(raw: unknown, helpers: JobHelpers): Promise<void> {
    const { queue } = this;
    const jobKey = helpers.job.key ?? `job-${helpers.job.id}`;
    const payload = readPayload(raw);
    if (!payload) throw new Error(`job ${jobKey}: payload of another isobench version; a matching worker must take it`);
    const { runId, plan } = payload;
    this.busy = true;
    this.log({ type: 'worker_job', workerId: this.id, runId, taskCommit: plan.task.commit, jobKey, attempt: helpers.job.attempts });
    // One round trip for both rows: the per-job cost of the queue is mostly such round trips.
    await queue.pool.query(
      `with w as (update ${queue.q}.isobench_workers set state = 'running', heartbeat_at = now(), run_id = $2, job_key = $3, task_commit = $4, trials_done = 0, trials_total = $5 where id = $1 and state <> 'lost')
       update ${queue.q}.isobench_tasks set state = 'running', worker_id = $1, attempts = $6, started_at = coalesce(started_at, now()) where run_id = $2 and job_key = $3`,
      [this.id, runId, jobKey, plan.task.commit, plan.trials.length, helpers.job.attempts],
    );
    // The store's run lease of this task's configuration, held under the queued run's id: workers of one queued run
    // never block each other (same run id), a local `isobench run` of the same configuration is refused meanwhile,
    // and a local run that holds it makes this worker hand the task back (retried later).
    const lease = await this.store.acquireRunLease([leaseKey(plan)], { runId, host: hostname(), pid: process.pid });
    if (lease.status === 'held') {
      const why = `run ${lease.holder.runId} (pid ${lease.holder.pid ?? '?'} on ${lease.holder.host}) is measuring this task's configuration`;
      await queue.pool.query(`update ${queue.q}.isobench_tasks set state = 'queued', worker_id = null, last_error = $3 where run_id = $1 and job_key = $2`, [runId, jobKey, why]);
      this.busy = false;
      throw new Error(why);
    }
    const renew = setInterval(() => void this.store.renewRunLease(runId).catch(() => undefined), LEASE_RENEW_MS);
    const stopNow = new AbortController();
    const abort = () => stopNow.abort(new Error('cancelled'));
    helpers.abortSignal.addEventListener('abort', abort);
    this.cancel.signal.addEventListener('abort', abort);
    if (this.cancel.signal.aborted) abort();
    const engine = createEngine({ ...this.opts.engine, runId });
    let summary: RunSummary | undefined;
    let done = 0;
    try {
      summary = await runPlansOfRun({
        plans: [plan],
        engine,
        store: this.store,
        settings: payload.settings,
        config: null,
        runId,
        signal: stopNow.signal,
        drain: this.drain.signal,
        onEvent: (event) => {
          this.opts.onEvent?.(event);
          if (event.type === 'trial_end') {
            done++;
            void queue.pool.query(`update ${queue.q}.isobench_workers set trials_done = $2 where id = $1`, [this.id, done]).catch(() => undefined);
          }
        },
      });
    } finally {
      clearInterval(renew);
      helpers.abortSignal.removeEventListener('abort', abort);
      this.cancel.signal.removeEventListener('abort', abort);
      await engine.cleanup().catch(() => undefined);
      this.busy = false;
      this.lastBusy = Date.now();
      await queue.pool
        .query(`update ${queue.q}.isobench_workers set state = case when state = 'running' then 'idle' else state end, run_id = null, job_key = null, task_commit = null, jobs_done = jobs_done + $2 where id = $1`, [
          this.id,
          summary?.status === 'finished' ? 1 : 0,
        ])
        .catch(() => undefined);
    }
    const end = (result: 'done' | 'handed_back' | 'failed', detail: string | null) =>
      this.log({ type: 'worker_job_end', workerId: this.id, runId, taskCommit: plan.task.commit, jobKey, result, detail: detail === null ? null : redactSecrets(detail) });
    if (summary.status === 'finished') {
      this.jobsDone++;
      await this.markTask(runId, jobKey, 'done', null);
      end('done', null);
      return;
    }
    const why = summary.status === 'cancelled' ? `handed back by worker ${this.id} (${this.reason === 'lost' ? 'lease lost' : 'stopping'})` : `worker ${this.id}: ${summary.error ?? 'run failed'}`;
    await queue.pool.query(`update ${queue.q}.isobench_tasks set state = 'queued', worker_id = null, last_error = $3 where run_id = $1 and job_key = $2 and state = 'running'`, [runId, jobKey, why]);
    end(summary.status === 'cancelled' ? 'handed_back' : 'failed', why);
    // Throwing gives the job back to graphile-worker, which retries it (another worker, after a short backoff).
    throw new Error(why);
  }

  /**
   * Marks a task done or failed and, when it was the run's last open task, finishes the run record. The advisory
   * lock on the run serializes the last two tasks of a run, so exactly one of them sees none left.
   */
  private async markTask(runId: string, jobKey: string, state: 'done' | 'failed', error: string | null): Promise<void> {
    const { queue } = this;
    const client = await queue.pool.connect();
    let open = -1;
    let failed = 0;
    try {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`isobench-run:${runId}`]);
      await client.query(`update ${queue.q}.isobench_tasks set state = $3, finished_at = now(), last_error = $4 where run_id = $1 and job_key = $2`, [runId, jobKey, state, error]);
      const res = await client.query<{ open: string; failed: string }>(
        `select count(*) filter (where state in ('queued', 'running')) as open, count(*) filter (where state = 'failed') as failed from ${queue.q}.isobench_tasks where run_id = $1`,
        [runId],
      );
      open = Number(res.rows[0]?.open ?? -1);
      failed = Number(res.rows[0]?.failed ?? 0);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    if (open !== 0) return;
    await this.store.finishRun(runId, failed > 0 ? 'failed' : 'finished', new Date().toISOString());
    await this.store.releaseRunLease(runId);
  }

  /** Renews this worker's lease, then gives the jobs of workers whose lease expired back to the queue. */
  private async heartbeat(): Promise<void> {
    const { queue } = this;
    try {
      const mine = await queue.pool.query(`update ${queue.q}.isobench_workers set heartbeat_at = now() where id = $1 and state <> 'lost'`, [this.id]);
      if (mine.rowCount === 0) {
        // Another worker declared this one lost (it stalled past its lease) and gave its job away: stop at once.
        this.cancel.abort(new Error('lease lost'));
        this.shutdown('lost');
        return;
      }
      const client = await queue.pool.connect();
      try {
        await client.query('begin');
        const lost = await client.query<{ id: string; pool_id: string | null; run_id: string | null; job_key: string | null }>(
          `update ${queue.q}.isobench_workers w set state = 'lost'
             from (select id from ${queue.q}.isobench_workers
                    where state in ('idle', 'running', 'stopping') and heartbeat_at < now() - make_interval(secs => lease_s)
                    for update skip locked) dead
            where w.id = dead.id
            returning w.id, w.pool_id, w.run_id, w.job_key`,
        );
        const pools = lost.rows.flatMap((r) => (r.pool_id === null ? [] : [r.pool_id]));
        if (pools.length > 0) await client.query(`select ${queue.q}.force_unlock_workers($1::text[])`, [pools]);
        for (const r of lost.rows) {
          if (r.run_id === null || r.job_key === null) continue;
          await client.query(`update ${queue.q}.isobench_tasks set state = 'queued', worker_id = null, last_error = $3 where run_id = $1 and job_key = $2 and state = 'running'`, [
            r.run_id,
            r.job_key,
            `worker ${r.id} lost its lease (no heartbeat)`,
          ]);
        }
        await client.query('commit');
        if (lost.rows.length > 0) this.log({ type: 'worker_swept', workerId: this.id, lost: lost.rows.map((r) => r.id) });
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    } catch {
      /* a missed heartbeat is retried at the next one; the lease allows several */
    }
  }
}
