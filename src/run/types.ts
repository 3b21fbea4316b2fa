import type { Failure } from '../core/index.js';
import type { VariantSpec } from '../engine/index.js';
import type { VariantRecord } from '../store/index.js';
import type { BenchmarkMode, Task, VariantKind } from '../task/index.js';

/** Defaults of the original methodology where the perf command leaves the workload open. */
export const WORKLOAD_DEFAULTS = {
  numPrompts: 100,
  inputLen: 512,
  outputLen: 64,
  maxConcurrency: 16,
  warmups: 10,
  timeoutTrialS: 600,
  timeoutStartupS: 600,
  seed: 0,
  /** `--max-model-len` of the out-of-memory fallback (the original's custom-context runner used 2048). */
  oomFallbackMaxModelLen: 2048,
} as const;

/** Everything a run needs, resolved once at the boundary (no defaults are applied below this point). */
export interface RunSettings {
  trials: number;
  /** Warm-up requests before each measured serving run. */
  warmups: number;
  variants: readonly VariantKind[];
  /** Commit prefixes to run (empty = all tasks). */
  only: readonly string[];
  timeoutStartupS: number;
  timeoutTrialS: number;
  /** GPUs on this host for the tensor-parallel check; null skips the check (sim engine, unknown host). */
  gpuCount: number | null;
  /** `--max-model-len` applied to every variant of a task whose server runs out of memory at start; 0 disables. */
  oomFallbackMaxModelLen: number;
  /** Hash of the engine's settings (engine kind + config file), part of every trial key. */
  engineSettingsKey: string;
}

/** What run/ needs to know of a task's perf command (filled from src/vllm's parser). */
export interface PerfInfo {
  mode: BenchmarkMode | 'unknown';
  /** Why the mode is unknown, or parse problems. */
  problem: string | null;
  env: Record<string, string>;
  model: string | null;
  /** Server-side arguments after `--model` (e.g. `--tensor-parallel-size 2`). */
  serverArgs: string[];
  /** Client-side arguments (dataset, lengths, rate, concurrency, ...), as on the command line. */
  clientArgs: string[];
  /** The client arguments structured (camelCase of the flag: numPrompts, randomInputLen, maxConcurrency, ...). */
  client: Readonly<Record<string, string | number | boolean | undefined>>;
  /** The standalone script's argv as given (latency/throughput/prefix_caching), normalized. */
  scriptArgv: string[];
  gpusNeeded: number;
  /** Fixes the parser applied to the command (recorded as deviations). */
  fixes: string[];
  /** The normalized command text, secrets redacted. */
  command: string;
}

/** One variant of a planned task. */
export interface PlannedVariant {
  record: VariantRecord;
  spec: VariantSpec;
  /** `baseline`, `human`, or the agent's name. */
  label: string;
}

/** One trial slot of the plan, in run order. */
export interface PlannedTrial {
  key: string;
  variantId: string;
  trialIndex: number;
}

/** A task turned into variants and interleaved trial slots; `preFailure` is set when nothing can be run. */
export interface TaskPlan {
  task: Task;
  perf: PerfInfo | null;
  mode: BenchmarkMode | null;
  configKey: string;
  variants: PlannedVariant[];
  trials: PlannedTrial[];
  /** A failure that applies to every trial of the task (task_invalid, unsupported_mode, gpus_insufficient). */
  preFailure: Failure | null;
}
