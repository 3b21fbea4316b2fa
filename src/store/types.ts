import type { Failure, MetricSet } from '../core/index.js';
import type { RequestSample } from '../loadgen/index.js';
import type { BenchmarkMode, Task, VariantKind } from '../task/index.js';
import type { IntegrityReport } from './integrity.js';
import type { LeaseHolder, LeaseResult } from './lease.js';

/** One engine variant of one task. `id` is stable across runs so trials of re-runs land on the same variant. */
export interface VariantRecord {
  /** `${commit}:baseline`, `${commit}:human`, `${commit}:agent:${agentName}:${agentModel}:${patchSha256.slice(0,12)}`. */
  id: string;
  taskCommit: string;
  kind: VariantKind;
  agentName: string | null;
  agentModel: string | null;
  patchSha256: string | null;
  /** The patch read as UTF-8 (agents only), for reading; `patchBytes` is the patch itself. */
  patchText: string | null;
  /** The patch byte for byte, as applied and hashed (agents run by isobench); absent for imported patches. */
  patchBytes?: Uint8Array | null;
  /**
   * The variant's latest build from source (schema 7), null when it was never built. `upsertVariant` without it
   * leaves the stored one as it is.
   */
  build?: VariantBuildRecord | null;
}

/** A variant's build from source, as the run that last prepared it found it. */
export interface VariantBuildRecord {
  /** Seconds the build took when it was made (also when this run reused it from the build cache). */
  seconds: number;
  /** True when the run found the build in the cache (no compiler ran). */
  cached: boolean;
  /** The run that prepared it. */
  runId: string;
  /** Where the build is: the tree (process engine) or the image (docker engine). */
  where: string;
}

export type RunStatus = 'running' | 'finished' | 'cancelled' | 'failed';

/** One invocation of `isobench run` (or one import). */
export interface RunRecord {
  id: string;
  startedAt: string; // ISO 8601
  finishedAt: string | null;
  status: RunStatus;
  /** `sim`, `process`, `docker`, or `import`. */
  engine: string;
  host: string;
  /** The resolved options of the run, secrets removed. */
  config: unknown;
  /** The OS process that runs it on `host`: a `running` run whose process is gone was killed (see readStoreStatus). */
  pid?: number | null;
}

/** One measurement of one variant: `ok` with metrics, or `failed` with exactly one failure code and its evidence. */
export interface TrialRecord {
  id: string;
  /**
   * Resume key, unique in the store: `${variantId}#${configKey}#${trialIndex}` for isobench runs (configKey = hash
   * of the workload and engine settings), `import:${dataSource}:${file}:${role}` for imported records.
   */
  trialKey: string;
  runId: string;
  variantId: string;
  taskCommit: string;
  /** The round (1-based) for isobench runs: every variant of a task runs once per round, next to the others. */
  trialIndex: number;
  /** Position of the trial inside its round (1-based); null for imports and trials stored before schema 3. */
  position?: number | null;
  /** Seed the round's order was drawn from; null where `position` is. */
  orderSeed?: number | null;
  /**
   * The configuration the trial measured (schema 8): the run's `configKey` (hash of the workload and engine settings),
   * IMPORTED_CONFIG_KEY for imported records; absent where none is known (a key of another shape).
   */
  configKey?: string | null;
  /**
   * The run's OOM-fallback decision for the trial's task (schema 8): the `--max-model-len` every variant of the task
   * ran with because a server ran out of memory at start; absent when the task ran with its own arguments. A resumed
   * run adopts it from here (the deviation text says the same to people, and is never read back).
   */
  oomFallbackMaxModelLen?: number | null;
  /**
   * What the correctness probe got, one entry per probe prompt (null: that prompt got no output) (schema 8); absent
   * when no probe ran. A baseline trial whose probe got every output is the reference of a resumed run.
   */
  probeOutputs?: readonly (string | null)[] | null;
  mode: BenchmarkMode | null;
  status: 'ok' | 'failed';
  failure: Failure | null;
  /** Canonical metric keys (see core/metrics.ts): ms, tok/s, req/s. Empty when failed before measuring. */
  metrics: MetricSet;
  /** Departures from the plan that apply to this trial, for people, e.g. `max_model_len=2048 (oom fallback for every variant)`. */
  deviations: string[];
  /** Agreement of the correctness probe with the baseline's outputs (0..1), null when no probe ran. */
  correctness: { agreement: number; probes: number } | null;
  engine: string;
  host: string;
  /** Provenance: `isobench` for our runs, the legacy pipeline (`docker`, `modal`, `separate`, ...) for imports. */
  dataSource: string;
  model: string | null;
  /** The benchmark command actually run (or the legacy perf command), secrets redacted. */
  command: string | null;
  workloadHash: string | null;
  startedAt: string;
  finishedAt: string;
  durationS: number;
}

/** Why `--trials auto` stopped a task: the adaptive rule's verdict is settled, futile, or the maximum was reached. */
export type TaskStopReason = 'settled' | 'futile' | 'max_rounds';

/**
 * Where and why `--trials auto` stopped one task configuration (schema 6), written when the runner stops it. One row
 * per (task, configuration): a resumed run that decides again replaces it. The decision is a pure function of the
 * stored trials (src/run adaptiveStop), so the row says what the trials already imply, for `status` and the dataset.
 */
export interface TaskStopRecord {
  taskCommit: string;
  /** The configuration (see TrialRecord.trialKey) whose trials were decided on. */
  configKey: string;
  runId: string;
  /** The metric the rule watched. */
  primaryMetric: string;
  reason: TaskStopReason;
  /** Complete rounds at the stop: every variant's trials used. */
  rounds: number;
  /** `--max-trials`: the rounds a fixed run would have used. */
  maxRounds: number;
  /** `--min-trials` (schema 9): with maxRounds the look schedule; null on rows stored before schema 9. */
  minRounds?: number | null;
  /** Looks of the group-sequential rule taken up to and including the one that stopped. */
  looks: number;
  /** Error rate (1 − level) spent by the boundary up to that look, of the run's total. */
  alphaSpent: number;
  /** Seconds the configuration's trials took (GPU-seconds on one GPU) and that rate at the maximum. */
  gpuSeconds: number;
  gpuSecondsAtMax: number;
  decidedAt: string;
}

/** One request of a serving trial: the load generator's measurement, keyed by its trial. */
export interface SampleRecord extends RequestSample {
  trialId: string;
}

export type LogKind = 'server' | 'bench' | 'probe' | 'patch' | 'raw';

export interface LogRecord {
  trialId: string;
  kind: LogKind;
  /** Stored compressed; secrets are redacted before this point. */
  text: string;
}

export interface TrialFilter {
  taskCommit?: string;
  variantId?: string;
  runId?: string;
  dataSource?: string;
  status?: 'ok' | 'failed';
  /** Trials of one configuration (`TrialRecord.configKey`). */
  configKey?: string;
}

/** Trials of one variant of one task, by outcome (for `isobench status`). */
export interface TrialCount {
  taskCommit: string;
  variantId: string;
  ok: number;
  failed: number;
}

/** How `openStore` treats a store that does not exist yet. */
export interface OpenStoreOptions {
  /** Create the store (file or tables) when missing; default true. `false` fails with E_STORE instead (status). */
  create?: boolean;
}

/**
 * The record of tasks, variants, runs, trials, samples and logs. SQLite (default) and PostgreSQL implement it with
 * the same schema. Every write is one transaction: a crash leaves either the whole trial or nothing.
 */
export interface Store {
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Where the store lives, password removed (for messages). */
  readonly location: string;
  close(): Promise<void>;

  upsertTask(task: Task): Promise<void>;
  getTask(commit: string): Promise<Task | null>;
  listTasks(): Promise<Task[]>;

  upsertVariant(variant: VariantRecord): Promise<void>;
  listVariants(taskCommit?: string): Promise<VariantRecord[]>;

  createRun(run: RunRecord): Promise<void>;
  finishRun(id: string, status: RunStatus, finishedAt: string): Promise<void>;
  listRuns(): Promise<RunRecord[]>;

  /** Writes the trial with its samples and logs in one transaction; an existing `trialKey` writes nothing. */
  saveTrial(trial: TrialRecord, samples: readonly SampleRecord[], logs: readonly LogRecord[]): Promise<'inserted' | 'exists'>;
  /** The trial keys already stored among `keys` (for resume). */
  existingTrialKeys(keys: readonly string[]): Promise<Set<string>>;
  /** Trials in insertion order. Loads them all: prefer `iterateTrials` for large stores. */
  listTrials(filter?: TrialFilter): Promise<TrialRecord[]>;
  /** Trials in insertion order, read in pages of `pageSize` (default 5,000) so memory stays bounded. */
  iterateTrials(filter?: TrialFilter, opts?: { pageSize?: number }): AsyncIterable<TrialRecord>;
  countTrials(filter?: TrialFilter): Promise<number>;
  /** Counts of ok and failed trials per task and variant. */
  trialCounts(): Promise<TrialCount[]>;
  /** The `limit` most recently finished failed trials, newest first. */
  recentFailures(limit: number): Promise<TrialRecord[]>;
  getSamples(trialId: string): Promise<SampleRecord[]>;
  getLogs(trialId: string): Promise<LogRecord[]>;

  /**
   * Takes the leases of `keys` (task configurations) for `holder`, all or none: `held` names a live holder of one of
   * them. A lease whose holder died (its process is gone on this host, or it was not renewed for LEASE_TTL_MS) is
   * taken over. `now` is for tests.
   */
  acquireRunLease(keys: readonly string[], holder: LeaseHolder, opts?: { now?: Date }): Promise<LeaseResult>;
  /** Renews every lease of `runId` (a live run calls this every LEASE_RENEW_MS). */
  renewRunLease(runId: string): Promise<void>;
  /** Gives back every lease of `runId`. */
  releaseRunLease(runId: string): Promise<void>;

  /** Records a `--trials auto` stop, replacing the row of the same task configuration. */
  saveTaskStop(stop: TaskStopRecord): Promise<void>;
  /** Stop rows, by task then configuration. */
  listTaskStops(taskCommit?: string): Promise<TaskStopRecord[]>;

  /** Reads and decodes the whole store and says what is damaged (`isobench status --check`). */
  checkIntegrity(): Promise<IntegrityReport>;
}
