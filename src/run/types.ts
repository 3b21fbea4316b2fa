import type { PrimaryMetricOverrides } from '../analysis/index.js';
import type { Failure } from '../core/index.js';
import type { PresetName, VariantSpec } from '../engine/index.js';
import type { VariantRecord } from '../store/index.js';
import type { BenchmarkMode, Task, VariantKind } from '../task/index.js';
import type { ScriptKind } from '../vllm/index.js';
import type { WorkloadPlan } from './serving.js';

export { WORKLOAD_DEFAULTS } from '../core/index.js';

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
  /** Where dataset files (ShareGPT JSON, sonnet text, custom JSONL) are looked up; null: only the path as given. */
  datasetDir: string | null;
  /** What a serving task whose dataset file is missing does: refused (`dataset_missing`) or random prompts (a deviation). */
  missingDataset: 'refuse' | 'random';
  /** Seed of the order of the variants inside each round (default 1); the CLI draws one per run (`--order-seed`). */
  orderSeed?: number;
  /** The server the process/docker engine starts (its preset); absent: vLLM, or the sim engine. */
  serverPreset?: PresetName;
  /** `run --tokenizer`: a tokenizer.json, a folder holding one, or a Hugging Face name (a task's own `tokenizer` wins). */
  tokenizer?: string;
  /** `--primary-metric MODE=METRIC` overrides of the primary metric the perf command implies. */
  primaryMetrics?: PrimaryMetricOverrides;
  /** `--trials auto`: rounds run up to `trials` (the maximum) and stop once the primary verdicts are settled. */
  adaptive?: { minTrials: number } | null;
  /** `--aa`: a second baseline variant (baseline′) in every round, whose spread against the baseline is the noise floor. */
  aa?: boolean;
}

/** What run/ needs to know of a task's perf command (filled from src/vllm's parser). */
export interface PerfInfo {
  mode: BenchmarkMode | 'unknown';
  /** Which program the command runs (decides the era's defaults, e.g. the dataset of benchmark_serving.py). */
  script: ScriptKind;
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
  /** The round (1-based): every variant of a task runs once per round, next to the others. */
  trialIndex: number;
  /** Position of the trial inside its round (1-based), drawn by `roundOrders`. */
  position: number;
  /** The seed the task's order was drawn from (recorded on the trial). */
  orderSeed: number;
}

/** A task turned into variants and interleaved trial slots; `preFailure` is set when nothing can be run. */
export interface TaskPlan {
  task: Task;
  perf: PerfInfo | null;
  mode: BenchmarkMode | null;
  configKey: string;
  variants: PlannedVariant[];
  trials: PlannedTrial[];
  /** A failure that applies to every trial of the task (task_invalid, unsupported_mode, unsupported_flag, dataset_missing, gpus_insufficient). */
  preFailure: Failure | null;
  /** The serving workload decided at plan time; null for standalone tasks and tasks that cannot run. */
  workload: WorkloadPlan | null;
  /** The metric the headline verdicts are about, from the perf command (or `--primary-metric`), and why. */
  primary: { metric: string; why: string };
  /** A point of the sweep the task's perf command asks for (one plan per point, each its own configuration); null: no sweep. */
  sweep: SweepPlanPoint | null;
}

/** Which point of its task's sweep a plan measures. */
export interface SweepPlanPoint {
  /** 1-based, in the order of the sweep. */
  index: number;
  count: number;
  /** `max_concurrency=16, request_rate=4`. */
  label: string;
  params: Readonly<Record<string, string | number | boolean>>;
  form: 'vllm_bench_sweep' | 'load_list';
  /** Options of the sweep command isobench reads differently (e.g. --num-runs: run's --trials decide). */
  notes: readonly string[];
}
