import { Logger, runMigrations } from 'graphile-worker';
import pg from 'pg';
import { IsobenchError, errorMessage, redactSecrets } from '../core/index.js';
import { redactUrl } from '../store/index.js';

/** Advisory lock key of the queue's schema setup (any constant; 'isoq' in ASCII). */
const SETUP_LOCK = 0x69736f71;

/** The queue of one store: graphile-worker's schema and isobench's own fleet tables in it. */
export interface QueueDb {
  pool: pg.Pool;
  /** The schema of graphile-worker's tables and of `isobench_workers` / `isobench_tasks`. */
  schema: string;
  /** `"schema"`, quoted for SQL text. */
  q: string;
  url: string;
  location: string;
  close(): Promise<void>;
}

/**
 * The queue's schema for a store in schema `storeSchema`: `isobench_queue` beside a store in `public`, else
 * `<storeSchema>_queue`, so that stores in separate schemas of one database have separate queues.
 */
export function queueSchemaOf(storeSchema: string): string {
  return storeSchema === 'public' ? 'isobench_queue' : `${storeSchema}_queue`;
}

/** Opens the queue beside the store at `url`; with `create`, installs graphile-worker's schema and the fleet tables. */
export async function openQueue(url: string, opts: { create: boolean; poolSize?: number }): Promise<QueueDb> {
  const location = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 6, connectionTimeoutMillis: 10_000 });
  // A client that loses its server emits 'error'; unhandled it would crash the process (graphile-worker checks both).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const res = await pool.query<{ s: string }>('select current_schema() as s');
    const schema = queueSchemaOf(res.rows[0]?.s ?? 'public');
    const q = `"${schema.replace(/"/g, '""')}"`;
    const db: QueueDb = { pool, schema, q, url, location, close: () => pool.end() };
    if (opts.create) await setUp(db);
    return db;
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof IsobenchError) throw err;
    throw new IsobenchError('E_STORE', `queue at ${location}: ${redactSecrets(errorMessage(err))}`, { cause: err });
  }
}

/** True when the queue's tables exist (a store that never had `run --queue` has none). */
export async function queueExists(db: QueueDb): Promise<boolean> {
  const res = await db.pool.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', [db.schema, 'isobench_tasks']);
  return res.rowCount === 1;
}

async function setUp(db: QueueDb): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [SETUP_LOCK]);
    try {
      await runMigrations({ pgPool: db.pool, schema: db.schema, logger: quietLogger() });
      await client.query(`
        create table if not exists ${db.q}.isobench_workers (
          id text primary key,
          pool_id text,
          host text not null,
          pid integer not null,
          gpus text not null,
          gpu_type text,
          engine text not null,
          heartbeat_s double precision not null,
          lease_s double precision not null,
          state text not null check (state in ('idle', 'running', 'stopping', 'stopped', 'lost')),
          started_at timestamptz not null default now(),
          heartbeat_at timestamptz not null default now(),
          run_id text,
          job_key text,
          task_commit text,
          trials_done integer not null default 0,
          trials_total integer not null default 0,
          jobs_done integer not null default 0
        )`);
      await client.query(`
        create table if not exists ${db.q}.isobench_tasks (
          run_id text not null,
          job_key text not null,
          task_commit text not null,
          identifier text not null,
          trials_todo integer not null,
          state text not null check (state in ('queued', 'running', 'done', 'failed')),
          worker_id text,
          attempts integer not null default 0,
          last_error text,
          enqueued_at timestamptz not null default now(),
          started_at timestamptz,
          finished_at timestamptz,
          primary key (run_id, job_key)
        )`);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [SETUP_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** graphile-worker's logger with its debug and info lines dropped; warnings and errors go to `sink` (default: dropped). */
export function quietLogger(sink: (line: string) => void = () => undefined): Logger {
  return new Logger(() => (level, message) => {
    // LogLevel is an ambient const enum (unusable under verbatimModuleSyntax); its values are these strings.
    const name: string = level;
    if (name === 'error' || name === 'warning') sink(`queue ${level}: ${redactSecrets(message)}`);
  });
}
