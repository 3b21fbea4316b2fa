import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { backfillDecisions } from './legacy.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** One schema version: its statements run in one transaction together with the row that records it. */
export interface Migration {
  version: number;
  name: string;
  statements(db: Kysely<Database>, dialect: Dialect): CompiledQuery[];
  /**
   * A data step: reads the store as the previous version left it and returns statements that run after
   * `statements`, in the same transaction (so an opener that loses the race to apply the version writes nothing).
   */
  backfill?(db: Kysely<Database>): Promise<CompiledQuery[]>;
}

const LOG_KINDS = sql`kind in ('server', 'bench', 'probe', 'patch', 'raw')`;

/** Versions in order. Append new ones; never edit one that has shipped (stores out there already ran it). */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks, variants, runs, trials, samples, logs',
    statements(db, dialect) {
      const blob = dialect === 'postgres' ? 'bytea' : 'blob';
      const s = db.schema;
      return [
        s.createTable('tasks').addColumn('commit', 'text', (c) => c.primaryKey()).addColumn('json', 'text', (c) => c.notNull()).compile(),
        s
          .createTable('variants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('task_commit', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('agent_name', 'text')
          .addColumn('agent_model', 'text')
          .addColumn('patch_sha256', 'text')
          .addColumn('patch_text', 'text')
          .addCheckConstraint('variants_kind', sql`kind in ('baseline', 'human', 'agent')`)
          .compile(),
        s.createIndex('variants_task').on('variants').column('task_commit').compile(),
        s
          .createTable('runs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('engine', 'text', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('config_json', 'text', (c) => c.notNull())
          .addCheckConstraint('runs_status', sql`status in ('running', 'finished', 'cancelled', 'failed')`)
          .compile(),
        s
          .createTable('trials')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('trial_key', 'text', (c) => c.notNull().unique())
          .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
          .addColumn('variant_id', 'text', (c) => c.notNull().references('variants.id'))
          .addColumn('task_commit', 'text', (c) => c.notNull())
          .addColumn('trial_index', 'integer', (c) => c.notNull())
          .addColumn('mode', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('failure_code', 'text')
          .addColumn('failure_json', 'text')
          .addColumn('metrics_json', 'text', (c) => c.notNull())
          .addColumn('deviations_json', 'text', (c) => c.notNull())
          .addColumn('correctness_json', 'text')
          .addColumn('engine', 'text', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('data_source', 'text', (c) => c.notNull())
          .addColumn('model', 'text')
          .addColumn('command', 'text')
          .addColumn('workload_hash', 'text')
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text', (c) => c.notNull())
          .addColumn('duration_s', 'double precision', (c) => c.notNull())
          // A failed trial carries exactly one failure code; an ok one none.
          .addCheckConstraint('trials_status', sql`(status = 'ok' and failure_code is null) or (status = 'failed' and failure_code is not null)`)
          .compile(),
        s.createIndex('trials_task').on('trials').column('task_commit').compile(),
        s.createIndex('trials_variant').on('trials').column('variant_id').compile(),
        s.createIndex('trials_run').on('trials').column('run_id').compile(),
        s.createIndex('trials_status_finished').on('trials').columns(['status', 'finished_at']).compile(),
        s
          .createTable('samples')
          .addColumn('trial_id', 'text', (c) => c.primaryKey().references('trials.id').onDelete('cascade'))
          .addColumn('count', 'integer', (c) => c.notNull())
          .addColumn('encoding', 'text', (c) => c.notNull())
          .addColumn('data', blob, (c) => c.notNull())
          .compile(),
        s
          .createTable('logs')
          .addColumn('trial_id', 'text', (c) => c.notNull().references('trials.id').onDelete('cascade'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('encoding', 'text', (c) => c.notNull())
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('data', blob, (c) => c.notNull())
          .addPrimaryKeyConstraint('logs_pk', ['trial_id', 'seq'])
          .addCheckConstraint('logs_kind', LOG_KINDS)
          .compile(),
      ];
    },
  },
  {
    version: 2,
    name: 'runs.pid: the process of a run, so a run whose process died is told from one still going',
    statements(db) {
      return [db.schema.alterTable('runs').addColumn('pid', 'integer').compile()];
    },
  },
  {
    version: 3,
    name: 'trials.position, trials.order_seed: where each trial ran inside its round and the seed of that order',
    statements(db) {
      return [db.schema.alterTable('trials').addColumn('position', 'integer').compile(), db.schema.alterTable('trials').addColumn('order_seed', 'integer').compile()];
    },
  },
  {
    version: 4,
    name: 'variants.patch_bytes: the agent patch byte for byte (patch_text held it decoded as UTF-8)',
    statements(db, dialect) {
      return [db.schema.alterTable('variants').addColumn('patch_bytes', dialect === 'postgres' ? 'bytea' : 'blob').compile()];
    },
  },
  {
    version: 5,
    name: 'run_leases: one run per store configuration at a time (the run holding each task configuration)',
    statements(db) {
      return [
        db.schema
          .createTable('run_leases')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer')
          .addColumn('acquired_at', 'text', (c) => c.notNull())
          .addColumn('heartbeat_at', 'text', (c) => c.notNull())
          .compile(),
        db.schema.createIndex('run_leases_run').on('run_leases').column('run_id').compile(),
      ];
    },
  },
  {
    version: 6,
    name: 'task_stops: where and why --trials auto stopped each task configuration (round, reason, looks, alpha spent, GPU-seconds)',
    statements(db) {
      return [
        db.schema
          .createTable('task_stops')
          .addColumn('task_commit', 'text', (c) => c.notNull())
          .addColumn('config_key', 'text', (c) => c.notNull())
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('primary_metric', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('rounds', 'integer', (c) => c.notNull())
          .addColumn('max_rounds', 'integer', (c) => c.notNull())
          .addColumn('looks', 'integer', (c) => c.notNull())
          .addColumn('alpha_spent', 'double precision', (c) => c.notNull())
          .addColumn('gpu_seconds', 'double precision', (c) => c.notNull())
          .addColumn('gpu_seconds_at_max', 'double precision', (c) => c.notNull())
          .addColumn('decided_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('task_stops_pk', ['task_commit', 'config_key'])
          .addCheckConstraint('task_stops_reason', sql`reason in ('settled', 'futile', 'max_rounds')`)
          .compile(),
      ];
    },
  },
  {
    version: 7,
    name: "variants.build_json: the variant's latest build from source (seconds it took, whether the run found it cached)",
    statements(db) {
      return [db.schema.alterTable('variants').addColumn('build_json', 'text').compile()];
    },
  },
  {
    version: 8,
    name: 'trials.config_key, oom_fallback_max_model_len, probe_outputs_json: the run decisions as data (were trial key, deviation and log text)',
    statements(db) {
      const trials = () => db.schema.alterTable('trials');
      return [
        trials().addColumn('config_key', 'text').compile(),
        trials().addColumn('oom_fallback_max_model_len', 'integer').compile(),
        trials().addColumn('probe_outputs_json', 'text').compile(),
        db.schema.createIndex('trials_task_config').on('trials').columns(['task_commit', 'config_key']).compile(),
      ];
    },
    backfill: backfillDecisions,
  },
  {
    version: 9,
    name: 'task_stops.min_rounds: --min-trials of the stopped configuration (the look schedule the interval at the stop needs)',
    statements(db) {
      return [db.schema.alterTable('task_stops').addColumn('min_rounds', 'integer').compile()];
    },
  },
];

/** The schema version this isobench writes. */
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The statement that creates the migrations table, safe to run by several openers at once. */
export function createMigrationsTable(db: Kysely<Database>): CompiledQuery {
  return db.schema
    .createTable('isobench_migrations')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .compile();
}

/** Records `m` as applied; does nothing when another opener recorded it first (the guard of its transaction). */
export function recordMigration(db: Kysely<Database>, m: Migration, appliedAt: string): CompiledQuery {
  return db
    .insertInto('isobench_migrations')
    .values({ version: m.version, name: m.name, applied_at: appliedAt })
    .onConflict((oc) => oc.column('version').doNothing())
    .compile();
}
