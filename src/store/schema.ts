import type { Generated } from 'kysely';

/**
 * The tables as kysely sees them. One logical schema on SQLite and PostgreSQL: JSON goes in text columns, binary
 * (compressed samples and logs) in blob/bytea, timestamps as ISO 8601 text so both backends sort them alike.
 */
export interface Database {
  isobench_migrations: MigrationsTable;
  tasks: TasksTable;
  variants: VariantsTable;
  runs: RunsTable;
  trials: TrialsTable;
  samples: SamplesTable;
  logs: LogsTable;
  run_leases: RunLeasesTable;
  task_stops: TaskStopsTable;
}

/** Schema 6: where and why `--trials auto` stopped each task configuration (see TaskStopRecord). */
export interface TaskStopsTable {
  task_commit: string;
  config_key: string;
  run_id: string;
  primary_metric: string;
  reason: string;
  rounds: number;
  max_rounds: number;
  /** Schema 9; null on rows written before it. */
  min_rounds: number | null;
  looks: number;
  alpha_spent: number;
  gpu_seconds: number;
  gpu_seconds_at_max: number;
  decided_at: string;
}

/** Schema 5: which run measures each task configuration now (see KyselyStore.acquireRunLease). */
export interface RunLeasesTable {
  /** `${taskCommit}#${configKey}`. */
  key: string;
  run_id: string;
  host: string;
  pid: number | null;
  acquired_at: string;
  /** Renewed while the run lives; a holder on another host is dead once this is older than the lease TTL. */
  heartbeat_at: string;
}

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: string;
}

export interface TasksTable {
  commit: string;
  json: string;
}

export interface VariantsTable {
  id: string;
  task_commit: string;
  kind: string;
  agent_name: string | null;
  agent_model: string | null;
  patch_sha256: string | null;
  patch_text: string | null;
  /** The patch exactly (schema 4); null for variants without a patch and rows written before. */
  patch_bytes: Uint8Array | null;
  /** Schema 7: the latest build from source of the variant (VariantBuildRecord as JSON); null when never built. */
  build_json: string | null;
}

export interface RunsTable {
  id: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  engine: string;
  host: string;
  config_json: string;
  pid: number | null;
}

export interface TrialsTable {
  /** Insertion order, for stable paging (PostgreSQL returns bigint as text). */
  seq: Generated<number | string>;
  id: string;
  trial_key: string;
  run_id: string;
  variant_id: string;
  task_commit: string;
  trial_index: number;
  /** Schema 3: position inside the round and the seed of the round order (null for older trials and imports). */
  position: number | null;
  order_seed: number | null;
  /** Schema 8: the run's decisions stored as data (see TrialRecord); null for imports' OOM/probe and where not known. */
  config_key: string | null;
  oom_fallback_max_model_len: number | null;
  /** JSON array of string|null, one per probe prompt; null when no probe ran. */
  probe_outputs_json: string | null;
  mode: string | null;
  status: string;
  failure_code: string | null;
  failure_json: string | null;
  metrics_json: string;
  deviations_json: string;
  correctness_json: string | null;
  engine: string;
  host: string;
  data_source: string;
  model: string | null;
  command: string | null;
  workload_hash: string | null;
  started_at: string;
  finished_at: string;
  duration_s: number;
}

export interface SamplesTable {
  trial_id: string;
  count: number;
  /** Codec of `data`, see samples-codec.ts. */
  encoding: string;
  data: Uint8Array;
}

export interface LogsTable {
  trial_id: string;
  /** Position of the log among the trial's logs. */
  seq: number;
  kind: string;
  encoding: string;
  /** Uncompressed size in bytes. */
  size: number;
  data: Uint8Array;
}

/** Every table isobench owns: one of them without the migrations table means the place is not an isobench store. */
export const STORE_TABLES = ['tasks', 'variants', 'runs', 'trials', 'samples', 'logs', 'run_leases', 'task_stops'] as const;
export const MIGRATIONS_TABLE = 'isobench_migrations';
