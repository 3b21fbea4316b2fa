import { VARIANT_KINDS } from '../core/index.js';

/**
 * ISO-Bench schema v5 as data: the 76 published columns (names, order, DuckDB/Parquet types exactly as in the
 * published `updated_dataset.parquet`), then isobench's extension columns. The dataset card, the Parquet writer,
 * the reader and the lint are all generated from these tables.
 */
export type ColumnType = 'VARCHAR' | 'VARCHAR[]' | 'BOOLEAN' | 'DOUBLE' | 'INTEGER';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

/** The v5 variants and the metrics each variant has a column for, in published order. */
export const V5_VARIANTS = VARIANT_KINDS;
export type V5Variant = (typeof V5_VARIANTS)[number];
export const V5_METRICS = [
  'ttft_mean', 'ttft_median', 'ttft_p99', 'tpot_mean', 'tpot_median', 'tpot_p99', 'itl_mean', 'itl_median', 'itl_p99',
  'latency_avg', 'throughput',
] as const;
export type V5Metric = (typeof V5_METRICS)[number];

/** The three comparisons: column prefix, the variant compared and its reference. */
export const V5_COMPARISONS = [
  { prefix: 'human_improvement', x: 'human', ref: 'baseline' },
  { prefix: 'agent_improvement', x: 'agent', ref: 'baseline' },
  { prefix: 'agent_vs_human', x: 'agent', ref: 'human' },
] as const;
export type V5Comparison = (typeof V5_COMPARISONS)[number];

/** The metrics that have improvement columns (order of the published file is fixed below). */
export const V5_IMPROVEMENT_METRICS = ['ttft_mean', 'tpot_mean', 'itl_mean', 'ttft_median', 'ttft_p99', 'latency_avg', 'throughput'] as const;
export type V5ImprovementMetric = (typeof V5_IMPROVEMENT_METRICS)[number];

const V = (name: string): ColumnSpec => ({ name, type: 'VARCHAR' });
const D = (name: string): ColumnSpec => ({ name, type: 'DOUBLE' });
/** Improvement columns of one block of metrics: comparison-major, as in the published file. */
const improvementBlock = (metrics: readonly string[]): ColumnSpec[] =>
  V5_COMPARISONS.flatMap((c) => metrics.map((m) => D(`${c.prefix}_${m}`)));

/** The 76 published columns, in order. Pinned by test/dataset/schema.test.ts against the published file. */
export const V5_COLUMNS: readonly ColumnSpec[] = [
  V('commit_hash'), V('commit_short'), V('commit_subject'), V('repo'), V('perf_command'),
  { name: 'files_changed', type: 'VARCHAR[]' }, V('pr_url'), { name: 'models', type: 'VARCHAR[]' },
  V('parent_commit'), V('gpu_config'), V('benchmark_mode'), V('agent_name'), V('agent_model'), V('benchmark_date'),
  V('model'), { name: 'has_agent_patch', type: 'BOOLEAN' }, V('patch_path'),
  ...V5_VARIANTS.flatMap((v) => V5_METRICS.map((m) => D(`${v}_${m}`))),
  // The published file has three blocks of improvement columns (means; ttft median/p99; latency/throughput),
  // added by successive schema versions.
  ...improvementBlock(['ttft_mean', 'tpot_mean', 'itl_mean']),
  ...improvementBlock(['ttft_median', 'ttft_p99']),
  ...improvementBlock(['latency_avg', 'throughput']),
  V('baseline_raw'), V('human_raw'), V('agent_raw'), V('test_script'), V('data_source'),
];

/** A column of the extension block with the sentence the dataset card shows for it. */
export interface ExtensionColumnSpec extends ColumnSpec {
  readonly description: string;
}

const ext = (name: string, type: ColumnType, description: string): ExtensionColumnSpec => ({ name, type, description });
const perVariant = (suffix: string, type: ColumnType, what: string): ExtensionColumnSpec[] =>
  V5_VARIANTS.map((v) => ext(`${v}_${suffix}`, type, `${what} (${v})`));
const perComparison = (suffix: string, type: ColumnType, what: string): ExtensionColumnSpec[] =>
  V5_COMPARISONS.map((c) => ext(`${c.prefix}_${suffix}`, type, `${what} (${c.x} vs ${c.ref})`));

/** isobench's columns after the 76: trials, uncertainty, verdicts, failures, correctness, provenance. */
export const EXTENSION_COLUMNS: readonly ExtensionColumnSpec[] = [
  ext('primary_metric', 'VARCHAR', 'the v5 metric the CI and verdict columns are about (per mode)'),
  ext('estimator', 'VARCHAR', 'how the improvement, CI and verdict columns were computed (paired_geomean_ratio_t: see Value convention)'),
  ...perVariant('trials', 'INTEGER', 'number of trials measured'),
  ...perVariant('ok_trials', 'INTEGER', 'number of trials that ended ok'),
  ...perVariant('primary_ci_low', 'DOUBLE', 'Student t 95% CI lower bound of the geometric mean of the primary metric'),
  ...perVariant('primary_ci_high', 'DOUBLE', 'Student t 95% CI upper bound of the geometric mean of the primary metric'),
  ...perComparison('primary', 'DOUBLE', 'improvement of the primary metric in percent (geometric mean of the per-round ratios), positive = better'),
  ...perComparison('primary_n', 'INTEGER', 'rounds paired for the improvement (both variants have an ok trial)'),
  ...perComparison('primary_ci_low', 'DOUBLE', 'Student t 95% CI lower bound of the primary improvement (paired log-ratios); `run --trials auto`, vs baseline: the stage-wise 95% interval at the stop'),
  ...perComparison('primary_ci_high', 'DOUBLE', 'Student t 95% CI upper bound of the primary improvement (paired log-ratios); `run --trials auto`, vs baseline: the stage-wise 95% interval at the stop'),
  ...perComparison('verdict', 'VARCHAR', 'better / worse / tie / inconclusive, or insufficient below 2 paired rounds; `run --trials auto`, vs baseline: the group-sequential boundary\'s verdict at the stop'),
  ...perVariant('failure_code', 'VARCHAR', 'failure code of the variant when no trial ended ok'),
  ...perVariant('failure_evidence', 'VARCHAR', 'the log line that proves the failure code'),
  ...(['human', 'agent'] as const).map((v) => ext(`${v}_correctness_agreement`, 'DOUBLE', `agreement of the correctness probe with the baseline's outputs, 0..1 (${v})`)),
  ...perVariant('engine', 'VARCHAR', 'engine that measured the variant (sim, process, docker, import)'),
  ...perVariant('host', 'VARCHAR', 'host that measured the variant'),
  ...perVariant('date', 'VARCHAR', 'date (ISO 8601) of the last trial of the variant'),
  ...perVariant('data_source', 'VARCHAR', 'provenance of the variant (isobench, docker, modal, separate, rerun, ...)'),
  ext('config_key', 'VARCHAR', 'the configuration every trial of the row measured (hash of the trial procedure, perf command, engine settings and preset, tokenizer, warm-ups, OOM-fallback setting, dataset substitution; `import` for imported records): rows never mix configurations'),
  ext('config', 'VARCHAR', 'that configuration spelled out (JSON): engine, engine config, preset, tokenizer, warm-ups, OOM fallback, dataset options as recorded with the run, and the deviations of its trials'),
  ext('sweep_point', 'VARCHAR', 'for a task whose perf command is a sweep (`vllm bench sweep serve`, several --request-rate / --max-concurrency values): the point the row measured, `2/3: max_concurrency=16` (index/count: parameters); one row per point; null otherwise'),
  ext('slo', 'VARCHAR', "the SLOs of the perf command's `--goodput` (a sweep point's own bench command), in its syntax: `ttft:500 tpot:50` (milliseconds); null without --goodput (then every *_slo_attainment, *_goodput, *_slo_met is null)"),
  ...perVariant('slo_attainment', 'DOUBLE', "fraction (0..1) of the requests of the ok trials (pooled; failed requests count as not good) that meet every SLO of `slo`, by vLLM's per-request goodput test (each SLO at least the request's TTFT / TPOT / E2EL; TPOT 0 for one-token outputs), from the stored request samples"),
  ...perVariant('goodput', 'DOUBLE', "vLLM's request goodput in req/s over the ok trials: requests meeting every SLO of `slo` divided by the trials' benchmark duration, pooled (Σ good / Σ duration)"),
  ...perVariant('slo_met', 'BOOLEAN', 'whether the point meets the SLO: slo_attainment >= 0.9 (DistServe\'s attainment goal, SLO_ATTAINMENT_GOAL)'),
  ext('workload_hash', 'VARCHAR', 'the workload hash every trial of the row shares; null when none recorded one or they differ'),
  ...perVariant('failed_trials', 'VARCHAR', 'failure codes of the failed trials with their counts, e.g. `probe_unavailable×1, requests_failed×2`, also when other trials ended ok'),
  ...(['human', 'agent'] as const).map((v) => ext(`${v}_unchecked_trials`, 'INTEGER', `ok serving trials whose correctness probe had no baseline reference to compare with (${v})`)),
  ...perComparison('comparison_failure', 'VARCHAR', 'why no comparison was made (`workload_mismatch: ` with each hash and where it ran); its improvements and verdict are then null'),
  ext('aa_primary_n', 'INTEGER', '`run --aa`: rounds in which the baseline and its A/A copy baseline′ both have an ok trial; null without baseline′ trials or below 2 such rounds (then every aa_/noise-floor column is null)'),
  ext('aa_primary', 'DOUBLE', '`run --aa`: baseline′ vs baseline on the primary metric, percent (paired geometric mean of per-round ratios; the truth is 0)'),
  ext('aa_primary_ci_low', 'DOUBLE', '`run --aa`: Student t 95% CI lower bound of aa_primary'),
  ext('aa_primary_ci_high', 'DOUBLE', '`run --aa`: Student t 95% CI upper bound of aa_primary'),
  ext('aa_half_width_pct', 'DOUBLE', '`run --aa`: the noise floor: half-width (percent) of a paired 95% interval at the A/A spread and aa_primary_n rounds; a tie at ±2% needs it below 2'),
  ext('min_detectable_effect_pct', 'DOUBLE', '`run --aa`: smallest effect (percent, either direction) detected with 80% power at the A/A spread and aa_primary_n rounds: (t(0.975) + t(0.8)) · sd / √n on the log scale'),
  ext('tie_resolvable', 'BOOLEAN', '`run --aa`: whether a tie at ±2% can be shown at this noise (aa_half_width_pct < 2)'),
  ext('noise_floor_message', 'VARCHAR', '`run --aa`: what every output says when tie_resolvable is false, e.g. `cannot show a tie at ±2% with this noise (A/A interval half-width 4.1% at n=5); smallest detectable effect 7.5%`'),
  ext('stop_reason', 'VARCHAR', '`run --trials auto`: why the configuration stopped: settled (every primary verdict decided at a look), futile (none reachable by the maximum), max_rounds; null for fixed trials'),
  ext('trials_used', 'INTEGER', '`run --trials auto`: rounds run before the stop (trials per variant)'),
  ext('trials_max', 'INTEGER', '`run --trials auto`: --max-trials, the rounds a fixed run would have used'),
  ext('stop_looks', 'INTEGER', '`run --trials auto`: looks of the group-sequential rule taken up to the one that stopped'),
  ext('stop_alpha_spent', 'DOUBLE', '`run --trials auto`: error rate (1 − level) spent by the boundary up to that look, of 0.05 in all'),
  ext('gpu_seconds', 'DOUBLE', '`run --trials auto`: seconds the configuration\'s trials took up to the stop (GPU-seconds on one GPU)'),
  ext('gpu_seconds_at_max', 'DOUBLE', '`run --trials auto`: GPU-seconds trials_max rounds of every variant take at the same rate per trial'),
  ...perVariant('build_s', 'DOUBLE', 'seconds the build from source of the measured variant took when it was made (null when it was not built from source; never part of any measured metric)'),
  ...perVariant('build_cached', 'BOOLEAN', 'the latest run found that build in the build cache (no compiler ran)'),
];

/** Every column isobench writes: the 76 v5 columns then the extensions. */
export const ALL_COLUMNS: readonly ColumnSpec[] = [...V5_COLUMNS, ...EXTENSION_COLUMNS];

/** The value a cell of a column of this type holds. */
export type CellValue = string | number | boolean | string[] | null;

/**
 * One dataset row: every v5 column (null where a value does not exist) plus, optionally, extension columns.
 * Keys are column names; `v5Cell`/typed accessors in rows.ts read them safely.
 */
export type DatasetRow = Record<string, CellValue>;

/** The column spec with this name, if it is a known column. */
export function columnSpec(name: string): ColumnSpec | undefined {
  return ALL_COLUMNS.find((c) => c.name === name);
}

/** The v5 column name of a variant's metric, e.g. `agent_ttft_mean`. */
export function metricColumn(variant: V5Variant, metric: V5Metric): string {
  return `${variant}_${metric}`;
}

/** A row with every v5 column set to null (the starting point of a built row). */
export function emptyRow(): DatasetRow {
  const row: DatasetRow = {};
  for (const c of V5_COLUMNS) row[c.name] = null;
  return row;
}
