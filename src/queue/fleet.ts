import type { Store } from '../store/index.js';
import { openQueue, queueExists } from './db.js';

/** One worker as `isobench status` shows it. */
export interface FleetWorker {
  id: string;
  host: string;
  pid: number;
  gpus: string;
  gpuType: string | null;
  engine: string;
  /** `late`: still marked busy but its heartbeat is older than its lease (the next sweep declares it lost). */
  state: 'idle' | 'running' | 'stopping' | 'stopped' | 'lost' | 'late';
  heartbeatAgeS: number;
  runId: string | null;
  taskCommit: string | null;
  trialsDone: number;
  trialsTotal: number;
  jobsDone: number;
}

/** A queued run's progress. */
export interface FleetRun {
  runId: string;
  tasks: number;
  done: number;
  running: number;
  queued: number;
  failed: number;
  trialsToRun: number;
  trialsStored: number;
  /** Trials stored per minute from the run's first task start to now (to its last task's end once done); null before the first trial. */
  trialsPerMinute: number | null;
  /** Remaining trials ÷ trialsPerMinute, in seconds; null when there is no rate yet. */
  etaS: number | null;
  lastError: string | null;
}

/** The queue beside a PostgreSQL store: job counts, the workers and the runs that still have tasks. */
export interface FleetStatus {
  queue: string;
  jobs: { queued: number; running: number; failed: number };
  workers: FleetWorker[];
  runs: FleetRun[];
}

/** Workers that stopped longer ago than this are not shown. */
const SHOW_STOPPED_S = 3600;

/** Reads the fleet of the store at `url`; null when the store has no queue (no `run --queue` yet). */
export async function readFleet(url: string, store: Store): Promise<FleetStatus | null> {
  const queue = await openQueue(url, { create: false, poolSize: 2 });
  try {
    if (!(await queueExists(queue))) return null;
    const jobs = await queue.pool.query<{ queued: string; running: string; failed: string }>(`
      select count(*) filter (where locked_at is null and attempts < max_attempts) as queued,
             count(*) filter (where locked_at is not null) as running,
             count(*) filter (where locked_at is null and attempts >= max_attempts) as failed
        from ${queue.q}.jobs where task_identifier like 'isobench/%'`);
    const workers = await queue.pool.query<{
      id: string; host: string; pid: number; gpus: string; gpu_type: string | null; engine: string; state: FleetWorker['state']; age: number; lease_s: number;
      run_id: string | null; task_commit: string | null; trials_done: number; trials_total: number; jobs_done: number;
    }>(`
      select id, host, pid, gpus, gpu_type, engine, state, extract(epoch from now() - heartbeat_at)::float8 as age, lease_s,
             run_id, task_commit, trials_done, trials_total, jobs_done
        from ${queue.q}.isobench_workers
       where state not in ('stopped', 'lost') or heartbeat_at > now() - make_interval(secs => $1)
       order by started_at, id`, [SHOW_STOPPED_S]);
    const runs = await queue.pool.query<{
      run_id: string; tasks: string; done: string; running: string; queued: string; failed: string; todo: string; first: number | null; last_error: string | null; open: string;
    }>(`
      select run_id, count(*) as tasks, count(*) filter (where state = 'done') as done, count(*) filter (where state = 'running') as running,
             count(*) filter (where state = 'queued') as queued, count(*) filter (where state = 'failed') as failed, sum(trials_todo) as todo,
             extract(epoch from (case when count(*) filter (where state in ('queued', 'running')) = 0 then max(finished_at) else now() end) - min(started_at))::float8 as first,
             (array_agg(last_error order by finished_at desc nulls last) filter (where last_error is not null))[1] as last_error,
             count(*) filter (where state in ('queued', 'running')) as open
        from ${queue.q}.isobench_tasks group by run_id
       order by min(enqueued_at) desc`);
    // Runs with open tasks, and the latest one even when done (what a user looks for right after a run).
    const shown = runs.rows.filter((r, i) => i === 0 || Number(r.open) > 0);
    const fleetRuns: FleetRun[] = [];
    for (const r of shown) {
      const stored = await store.countTrials({ runId: r.run_id });
      const todo = Number(r.todo);
      const rate = r.first !== null && r.first > 0 && stored > 0 ? (stored / r.first) * 60 : null;
      const open = Number(r.open) > 0;
      fleetRuns.push({
        runId: r.run_id,
        tasks: Number(r.tasks),
        done: Number(r.done),
        running: Number(r.running),
        queued: Number(r.queued),
        failed: Number(r.failed),
        trialsToRun: todo,
        trialsStored: stored,
        trialsPerMinute: rate,
        etaS: open && rate !== null ? (Math.max(0, todo - stored) / rate) * 60 : open ? null : 0,
        lastError: r.last_error,
      });
    }
    const j = jobs.rows[0];
    return {
      queue: queue.schema,
      jobs: { queued: Number(j?.queued ?? 0), running: Number(j?.running ?? 0), failed: Number(j?.failed ?? 0) },
      workers: workers.rows.map((w) => ({
        id: w.id,
        host: w.host,
        pid: w.pid,
        gpus: w.gpus,
        gpuType: w.gpu_type,
        engine: w.engine,
        state: ['idle', 'running', 'stopping'].includes(w.state) && w.age > w.lease_s ? 'late' : w.state,
        heartbeatAgeS: w.age,
        runId: w.run_id,
        taskCommit: w.task_commit,
        trialsDone: w.trials_done,
        trialsTotal: w.trials_total,
        jobsDone: w.jobs_done,
      })),
      runs: fleetRuns,
    };
  } finally {
    await queue.close();
  }
}
