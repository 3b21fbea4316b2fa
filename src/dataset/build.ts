import { analysisMode, byRound, choosePrimaryMetric, compare, comparisonAtStop, ESTIMATOR, geometricMean, geometricMeanCi, noiseFloor, primaryMetricOfCommand, type CompareOptions, type Comparison, type RoundValues } from '../analysis/index.js';
import { DEFAULT_SOURCE_PRIORITY, IMPORTED_CONFIG_KEY, isAaVariant, redactDeep, sloAttainment, sloText, v5BenchmarkMode, workloadMismatch, type MetricSet, type V5Mode } from '../core/index.js';
import { expandSweep, goodputOfCommand, parsePerfCommand, sweepPointOfCommand } from '../vllm/index.js';
import { storedRequests, type Store, type TaskStopRecord, type TrialRecord, type VariantRecord } from '../store/index.js';
import type { Task } from '../task/index.js';
import type { Measurement } from './compare.js';
import { fillImprovements } from './formula.js';
import { V5_COMPARISONS, V5_IMPROVEMENT_METRICS, V5_METRICS, V5_VARIANTS, emptyRow, type DatasetRow, type V5Metric, type V5Variant } from './schema.js';

export { DEFAULT_SOURCE_PRIORITY };

export interface BuildOptions {
  /** Data sources by preference; sources not listed come after, alphabetically. */
  sourcePriority?: readonly string[];
  /** Primary metric per mode (`serving=ttft_mean`, ...), as the analysis understands it. */
  primaryMetrics?: Partial<Record<string, string>>;
  compare?: CompareOptions;
  /** Fill `*_raw` from the stored logs (one read per chosen trial). Default true. */
  includeRaw?: boolean;
  signal?: AbortSignal;
}

/** The trials one variant's columns come from: one data source, never mixed. */
interface Chosen {
  source: string | null;
  trials: TrialRecord[];
  ok: TrialRecord[];
}


/**
 * The configuration a trial measured, as stored with it (`config_key`: the run's hash of the trial procedure, perf
 * command, engine settings, warm-ups, OOM-fallback setting; IMPORTED_CONFIG_KEY for imported records).
 */
export function trialConfig(t: TrialRecord): string {
  // A trial that names no configuration (not written by isobench run or import) joins one group of such trials.
  return t.configKey ?? UNKEYED_CONFIG;
}

/** The configuration of trials whose key names none (neither an isobench run's nor an import's). */
export const UNKEYED_CONFIG = 'unkeyed';

/** The run settings that make a configuration, as `isobench run` records them with the run (secrets removed). */
const CONFIG_SETTINGS: readonly [string, string][] = [
  ['engine', 'engine'],
  ['engineConfig', 'engine_config'],
  ['preset', 'preset'],
  ['tokenizer', 'tokenizer'],
  ['warmups', 'warmups'],
  ['oomFallbackMaxModelLen', 'oom_fallback_max_model_len'],
  ['datasetDir', 'dataset_dir'],
  ['missingDataset', 'missing_dataset'],
];

/** The `config` column: the configuration spelled out from the newest run of its trials, with their deviations. */
function describeConfig(config: string | null, trials: readonly TrialRecord[], runConfig: ReadonlyMap<string, unknown>): string | null {
  if (config === null || config === IMPORTED_CONFIG_KEY) return null;
  const recorded = runConfig.get(latest(trials)?.runId ?? '');
  const settings = typeof recorded === 'object' && recorded !== null ? (recorded as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { engine: [...new Set(trials.map((t) => t.engine))].sort().join(',') };
  for (const [from, to] of CONFIG_SETTINGS) if (settings[from] !== undefined && from !== 'engine') out[to] = settings[from];
  out.deviations = [...new Set(trials.flatMap((t) => t.deviations))].sort();
  return JSON.stringify(out);
}

/**
 * Builds the dataset rows from the store: one per (task, configuration, agent), v5 columns plus the extension
 * columns. Trials of different configurations never share a row; a task with no agent variant in a configuration
 * still gets one row for it (agent columns null).
 */
export async function buildDatasetRows(store: Store, opts: BuildOptions = {}): Promise<DatasetRow[]> {
  const [tasks, variants, trials, runs, stops] = await Promise.all([store.listTasks(), store.listVariants(), store.listTrials(), store.listRuns(), store.listTaskStops()]);
  const stopOf = new Map(stops.map((s) => [`${s.taskCommit}#${s.configKey}`, s]));
  const trialsByTask = groupBy(trials, (t) => t.taskCommit);
  const variantsByTask = groupBy(variants, (v) => v.taskCommit);
  const runConfig = new Map(runs.map((r) => [r.id, r.config]));
  const priority = opts.sourcePriority ?? DEFAULT_SOURCE_PRIORITY;
  const rows: DatasetRow[] = [];
  for (const task of [...tasks].sort((a, b) => a.commit.localeCompare(b.commit))) {
    opts.signal?.throwIfAborted();
    const vs = variantsByTask.get(task.commit) ?? [];
    // Every agent's row of a configuration shares its baseline and human trials: their samples and logs are read once per task.
    const taskStore: Pick<Store, 'getSamples' | 'getLogs'> = { getSamples: once((id) => store.getSamples(id)), getLogs: once((id) => store.getLogs(id)) };
    const ids = new Set(vs.map((v) => v.id));
    // In the order each configuration was first stored; a task without trials still gets its (empty) rows.
    const taskTrials = (trialsByTask.get(task.commit) ?? []).filter((t) => ids.has(t.variantId));
    const measured = new Set(taskTrials.map((t) => t.variantId));
    const configs = groupBy(taskTrials, trialConfig);
    const groups: [string | null, TrialRecord[]][] = configs.size > 0 ? [...configs] : [[null, []]];
    for (const [config, configTrials] of groups) {
      const byVariant = groupBy(configTrials, (t) => t.variantId);
      const trialsOf = (list: readonly VariantRecord[]): TrialRecord[] => list.flatMap((v) => byVariant.get(v.id) ?? []);
      // The A/A copy of the baseline (`run --aa`) is a variant of its own, never pooled into the baseline's columns.
      const baseline = choose(trialsOf(vs.filter((v) => v.kind === 'baseline' && !isAaVariant(v.id))), priority);
      const human = choose(trialsOf(vs.filter((v) => v.kind === 'human')), priority);
      const aa = choose(trialsOf(vs.filter((v) => isAaVariant(v.id))), priority);
      // An agent variant without any trial (registered, never measured) belongs to every configuration's rows.
      const agentsHere = vs.filter((v) => v.kind === 'agent' && (config === null || byVariant.has(v.id) || !measured.has(v.id)));
      const agents = groupBy(agentsHere, (v) => `${v.agentName ?? ''}\u0000${v.agentModel ?? ''}`);
      const agentEntries = agents.size > 0 ? [...agents.values()] : [[]];
      for (const agentVariants of agentEntries) {
        const chosen = { baseline, human, agent: choose(trialsOf(agentVariants), priority) };
        // A sweep's point is a configuration of its own: one row per point, named by the point its commands end with.
        const point = pointCommandOf(chosen);
        const row = buildRow(task, agentVariants, chosen, point, opts);
        row.config_key = config;
        row.config = describeConfig(config, [...chosen.baseline.trials, ...chosen.human.trials, ...chosen.agent.trials], runConfig);
        fillNoiseFloor(row, baseline, aa, opts);
        fillStop(row, config === null ? undefined : stopOf.get(`${task.commit}#${config}`), chosen, opts);
        row.sweep_point = sweepPointOfCommand(point);
        await fillSlo(taskStore, row, task, chosen, point);
        failMismatchedComparisons(row, chosen);
        fillTrialOutcomes(row, chosen);
        fillBuilds(row, chosen, vs);
        if (opts.includeRaw ?? true) await fillRaw(taskStore, row, chosen);
        // Stores written before perf commands were redacted keep them in clear: nothing leaves in clear.
        rows.push(redactDeep(row));
      }
    }
  }
  return rows;
}

/** `read` with each trial id's answer kept (one read per id). */
function once<T>(read: (id: string) => Promise<T>): (id: string) => Promise<T> {
  const kept = new Map<string, Promise<T>>();
  return (id) => {
    let answer = kept.get(id);
    if (!answer) kept.set(id, (answer = read(id)));
    return answer;
  };
}

/**
 * `run --aa`: the noise floor of the row's configuration from its stored baseline′ trials against the baseline's, by
 * src/analysis noiseFloor (what `run` prints), on the row's primary metric.
 */
function fillNoiseFloor(row: DatasetRow, baseline: Chosen, aa: Chosen, opts: BuildOptions): void {
  const primary = typeof row.primary_metric === 'string' ? row.primary_metric : null;
  const mode = typeof row.benchmark_mode === 'string' ? (row.benchmark_mode as V5Mode) : null;
  const f = primary !== null && aa.ok.length > 0 ? noiseFloor(primary, okRounds(baseline, primary, mode), okRounds(aa, primary, mode), opts.compare ?? {}) : null;
  row.aa_primary_n = f?.n ?? null;
  row.aa_primary = f?.aaImprovementPct ?? null;
  row.aa_primary_ci_low = f?.aaCiLow ?? null;
  row.aa_primary_ci_high = f?.aaCiHigh ?? null;
  row.aa_half_width_pct = f?.halfWidthPct ?? null;
  row.min_detectable_effect_pct = f?.minDetectablePct ?? null;
  row.tie_resolvable = f?.tieResolvable ?? null;
  row.noise_floor_message = f?.message ?? null;
}

/**
 * The SLO columns: the `--goodput` of the row's perf command (a sweep point's own bench command) and, per variant, the
 * fraction of its requests that meet it (vLLM's per-request goodput test on the stored samples of the ok trials,
 * pooled), its goodput in req/s (Σ good / Σ duration) and whether the attainment reaches SLO_ATTAINMENT_GOAL.
 */
async function fillSlo(store: Pick<Store, 'getSamples'>, row: DatasetRow, task: Task, chosen: Record<V5Variant, Chosen>, point: string | null): Promise<void> {
  const command = point === null ? (task.perf_command ?? null) : pointBenchCommand(point);
  const parsed = command === null ? null : goodputOfCommand(command);
  const slo = parsed !== null && 'slo' in parsed ? parsed.slo : null;
  row.slo = slo === null ? null : sloText(slo);
  for (const v of V5_VARIANTS) {
    const a = slo === null ? null : sloAttainment(await storedRequests(store, chosen[v].ok), slo);
    row[`${v}_slo_attainment`] = a?.fraction ?? null;
    row[`${v}_goodput`] = a?.goodput ?? null;
    row[`${v}_slo_met`] = a?.met ?? null;
  }
}

/** `run --trials auto`: the stop row of the configuration (store schema 6), null columns for fixed trials. */
function fillStop(row: DatasetRow, stop: TaskStopRecord | undefined, chosen: Record<V5Variant, Chosen>, opts: BuildOptions): void {
  row.stop_reason = stop?.reason ?? null;
  row.trials_used = stop?.rounds ?? null;
  row.trials_max = stop?.maxRounds ?? null;
  row.stop_looks = stop?.looks ?? null;
  row.stop_alpha_spent = stop?.alphaSpent ?? null;
  row.gpu_seconds = stop?.gpuSeconds ?? null;
  row.gpu_seconds_at_max = stop?.gpuSecondsAtMax ?? null;
  // The vs-baseline primary comparisons as `run` reports them at the stop (src/analysis comparisonAtStop): the
  // stage-wise interval and the boundary's verdict. Stop rows before schema 9 lack --min-trials: Student t stays.
  const primary = typeof row.primary_metric === 'string' ? row.primary_metric : null;
  const mode = typeof row.benchmark_mode === 'string' ? (row.benchmark_mode as V5Mode) : null;
  const schedule = stopSchedule(stop);
  if (schedule === null || primary === null) return;
  for (const cmp of V5_COMPARISONS) {
    if (cmp.ref !== 'baseline' || row[`${cmp.prefix}_primary`] === null) continue;
    setPrimaryComparison(row, cmp.prefix, primaryAtStop(primary, okRounds(chosen.baseline, primary, mode), okRounds(chosen[cmp.x], primary, mode), schedule, opts.compare?.tieThreshold).comparison);
  }
}

/** What the interval at a `--trials auto` stop needs of the configuration's stop row: the round it stopped at and its look schedule. */
export interface StopSchedule {
  rounds: number;
  minRounds: number;
  maxRounds: number;
}

/** The stop row's schedule; null for fixed trials and for stop rows before store schema 9 (no --min-trials: Student t stays). */
export function stopSchedule(stop: TaskStopRecord | null | undefined): StopSchedule | null {
  if (!stop || stop.minRounds == null) return null;
  return { rounds: stop.rounds, minRounds: stop.minRounds, maxRounds: stop.maxRounds };
}

/**
 * A vs-baseline primary comparison of a stopped configuration as `run` reports it (src/analysis comparisonAtStop): the
 * estimate at the stop with the stage-wise interval and the boundary's verdict (`repeated`: the look's own interval).
 * `dataset build` and the report's per-task tables both call it.
 */
export function primaryAtStop(metric: string, ref: RoundValues, x: RoundValues, stop: StopSchedule, tieThreshold?: number): ReturnType<typeof comparisonAtStop> {
  return comparisonAtStop(metric, ref, x, stop.rounds, { minRounds: stop.minRounds, maxRounds: stop.maxRounds, ...(tieThreshold === undefined ? {} : { tieThreshold }) });
}

/** What the row's failed and unchecked trials were: every failure code with its count, ok trials nothing checked. */
function fillTrialOutcomes(row: DatasetRow, chosen: Record<V5Variant, Chosen>): void {
  for (const v of ['baseline', 'human', 'agent'] as const) {
    const counts = new Map<string, number>();
    for (const t of chosen[v].trials) if (t.failure) counts.set(t.failure.code, (counts.get(t.failure.code) ?? 0) + 1);
    const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    row[`${v}_failed_trials`] = sorted.length > 0 ? sorted.map(([code, n]) => `${code}×${n}`).join(', ') : null;
  }
  for (const v of ['human', 'agent'] as const) {
    const trials = chosen[v].ok.filter((t) => t.dataSource === 'isobench' && t.mode === 'serving');
    row[`${v}_unchecked_trials`] = trials.length > 0 ? trials.filter((t) => t.correctness === null).length : null;
  }
}

/**
 * Verifies the workload of every comparison of the row: the trials of both sides must share one workload hash.
 * A mismatch fails the comparison with both hashes as evidence: its improvements, CI and verdict are null. Also sets
 * `workload_hash`, the hash every trial of the row shares (null when none recorded one or they differ).
 */
function failMismatchedComparisons(row: DatasetRow, chosen: Record<V5Variant, Chosen>): void {
  const hashes = (v: V5Variant): (string | null)[] => chosen[v].trials.map((t) => t.workloadHash);
  const all = new Set(V5_VARIANTS.flatMap(hashes).filter((h): h is string => h !== null));
  row.workload_hash = all.size === 1 ? [...all][0]! : null;
  for (const cmp of V5_COMPARISONS) {
    const failure = workloadMismatch([
      { label: cmp.ref, hashes: hashes(cmp.ref) },
      { label: cmp.x, hashes: hashes(cmp.x) },
    ]);
    row[`${cmp.prefix}_comparison_failure`] = failure ? `${failure.code}: ${failure.evidence}` : null;
    if (!failure) continue;
    for (const m of V5_IMPROVEMENT_METRICS) row[`${cmp.prefix}_${m}`] = null;
    for (const suffix of ['primary', 'primary_ci_low', 'primary_ci_high', 'verdict']) row[`${cmp.prefix}_${suffix}`] = null;
  }
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** The variant's trials from the best source that measured it; if none did, the best source's failures. */
export function choose(trials: readonly TrialRecord[], priority: readonly string[]): Chosen {
  if (trials.length === 0) return { source: null, trials: [], ok: [] };
  const rank = (s: string): number => {
    const i = priority.indexOf(s);
    return i < 0 ? priority.length : i;
  };
  const bySource = [...groupBy(trials, (t) => t.dataSource).entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
  const measured = bySource.find(([, ts]) => ts.some((t) => t.status === 'ok'));
  const [source, ts] = measured ?? bySource[0]!;
  return { source, trials: ts, ok: ts.filter((t) => t.status === 'ok') };
}

/** A trial's value of a v5 metric column (v5 folds: serving throughput = output tok/s, prefix caching latency = warm-up). */
export function v5Value(metrics: MetricSet, metric: V5Metric, mode: V5Mode | null): number | undefined {
  if (metric === 'latency_avg') return metrics.latency_avg ?? (mode === 'prefix_caching' ? metrics.warmup_time : undefined);
  if (metric === 'throughput') {
    if (metrics.throughput !== undefined) return metrics.throughput;
    return mode === 'serving' ? metrics.output_throughput : (metrics.output_throughput ?? metrics.total_token_throughput);
  }
  return metrics[metric];
}


function rowMode(task: Task, chosen: Record<V5Variant, Chosen>): V5Mode | null {
  for (const v of V5_VARIANTS) {
    const mode = chosen[v].trials.find((t) => t.mode !== null)?.mode;
    if (mode) return v5BenchmarkMode(mode);
  }
  return v5BenchmarkMode(task.benchmark_mode);
}

const dateOf = (iso: string): string | null => (iso.startsWith('1970-01-01') || iso === '' ? null : iso.slice(0, 10));
const latest = (ts: readonly TrialRecord[]): TrialRecord | undefined => [...ts].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];

function buildRow(task: Task, agentVariants: readonly VariantRecord[], chosen: Record<V5Variant, Chosen>, point: string | null, opts: BuildOptions): DatasetRow {
  const row = emptyRow();
  const mode = rowMode(task, chosen);
  const agentVariant = agentVariants[0];
  const all = [...chosen.baseline.trials, ...chosen.human.trials, ...chosen.agent.trials];
  const dates = all.map((t) => dateOf(t.finishedAt)).filter((d): d is string => d !== null).sort();
  Object.assign(row, {
    commit_hash: task.commit,
    commit_short: task.commit.slice(0, 8),
    commit_subject: task.subject ?? null,
    repo: task.repo,
    perf_command: task.perf_command ?? null,
    files_changed: task.files_changed,
    pr_url: task.pr_url ?? null,
    models: task.models,
    parent_commit: task.parent,
    gpu_config: task.gpu_config ?? null,
    benchmark_mode: mode,
    agent_name: agentVariant?.agentName ?? null,
    agent_model: agentVariant?.agentModel ?? null,
    benchmark_date: dates.at(-1) ?? null,
    model: all.find((t) => t.model)?.model ?? task.models[0] ?? null,
    has_agent_patch: agentVariants.length > 0,
    data_source: rowSource(chosen),
  });
  for (const v of V5_VARIANTS) {
    for (const m of V5_METRICS) {
      const values = chosen[v].ok.map((t) => v5Value(t.metrics, m, mode)).filter((x): x is number => x !== undefined && Number.isFinite(x));
      // One convention per row: the geometric mean over the ok trials, as the paired estimate in the extensions.
      row[`${v}_${m}`] = values.length > 0 ? finiteOrNull(geometricMean(values)) : null;
    }
  }
  fillComparableImprovements(row, mode, chosen);
  addExtensions(row, task, mode, chosen, point, opts);
  return row;
}

/**
 * Improvements by the formula, only between variants measured in the row's mode: a variant whose chosen
 * measurement ran another benchmark (the original did that) keeps its metrics but is compared with nothing.
 */
function fillComparableImprovements(row: DatasetRow, mode: V5Mode | null, chosen: Record<V5Variant, Chosen>): void {
  const offMode = V5_VARIANTS.filter((v) => {
    const vmode = v5BenchmarkMode(chosen[v].ok.find((t) => t.mode !== null)?.mode);
    return vmode !== null && mode !== null && vmode !== mode;
  });
  if (offMode.length === 0) {
    fillImprovements(row, V5_IMPROVEMENT_METRICS);
    return;
  }
  const masked: DatasetRow = { ...row };
  for (const v of offMode) for (const m of V5_METRICS) masked[`${v}_${m}`] = null;
  fillImprovements(masked, V5_IMPROVEMENT_METRICS);
  for (const cmp of V5_COMPARISONS) for (const m of V5_IMPROVEMENT_METRICS) row[`${cmp.prefix}_${m}`] = masked[`${cmp.prefix}_${m}`] ?? null;
}

/** Each variant's build from source (of the variant whose trial is the latest chosen), apart from its metrics. */
function fillBuilds(row: DatasetRow, chosen: Record<V5Variant, Chosen>, variants: readonly VariantRecord[]): void {
  for (const v of V5_VARIANTS) {
    const id = latest(chosen[v].trials)?.variantId;
    const build = variants.find((r) => r.id === id)?.build ?? null;
    row[`${v}_build_s`] = build?.seconds ?? null;
    row[`${v}_build_cached`] = build?.cached ?? null;
  }
}

/** The v5 `data_source`: the one source all variants came from, or `merged` when they differ. */
function rowSource(chosen: Record<V5Variant, Chosen>): string | null {
  const sources = new Set([chosen.baseline.source, chosen.human.source, chosen.agent.source].filter((s): s is string => s !== null));
  if (sources.size === 0) return null;
  return sources.size === 1 ? [...sources][0]! : 'merged';
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The stored command of a row's trials when they measured a point of a sweep (see sweepPointText), else null. */
function pointCommandOf(chosen: Record<V5Variant, Chosen>): string | null {
  for (const v of V5_VARIANTS) for (const t of chosen[v].trials) if (sweepPointOfCommand(t.command) !== null) return t.command;
  return null;
}

/** The point's serving command of a stored sweep-point command (the single-point `vllm bench sweep serve` form's --bench-cmd). */
function pointBenchCommand(stored: string): string {
  const command = stored.split('  # isobench:')[0] ?? stored;
  const sweep = expandSweep(command, () => ({ looked: [] }));
  return sweep.status === 'sweep' && sweep.points.length === 1 ? (sweep.points[0]?.bench ?? command) : command;
}

/** The primary metric `run` gives a task: src/analysis's rule on its parsed perf command (a sweep point's own command). */
function primaryOfTask(task: Task, mode: string | null, pointCommand: string | null = null): string {
  const text = pointCommand === null ? task.perf_command : pointBenchCommand(pointCommand);
  const parsed = text ? parsePerfCommand(text) : null;
  return primaryMetricOfCommand(mode, parsed?.status === 'ok' ? parsed.client : null, {}, task.primary_metric).metric;
}

/** The ok trials' values of `metric` by round: rounds pair the variants (a trial's round is its trial index; imports: each record its own index). */
function okRounds(c: Chosen, metric: string, mode: V5Mode | null): RoundValues {
  return byRound(c.ok.map((t) => ({ round: t.trialIndex, value: v5Value(t.metrics, metric as V5Metric, mode) })));
}

function addExtensions(row: DatasetRow, task: Task, mode: V5Mode | null, chosen: Record<V5Variant, Chosen>, point: string | null, opts: BuildOptions): void {
  const cache = new Map<string, number[]>();
  const valuesOf = (v: V5Variant, metric: string): number[] => {
    const key = `${v}:${metric}`;
    let values = cache.get(key);
    if (!values) {
      values = chosen[v].ok.map((t) => v5Value(t.metrics, metric as V5Metric, mode)).filter((x): x is number => x !== undefined && Number.isFinite(x));
      cache.set(key, values);
    }
    return values;
  };
  const roundsOf = (v: V5Variant, metric: string) => okRounds(chosen[v], metric, mode);
  const amode = analysisMode(mode);
  const overrides = opts.primaryMetrics?.[amode];
  const measured = (m: string) => valuesOf('baseline', m).length + valuesOf('human', m).length + valuesOf('agent', m).length;
  // Our own runs: the metric the perf command implies, as `run` judged it; imports keep the mode's preference list.
  const ours = (['baseline', 'human', 'agent'] as const).every((v) => chosen[v].source === null || chosen[v].source === 'isobench');
  const runMode = chosen.baseline.ok[0]?.mode ?? chosen.human.ok[0]?.mode ?? null;
  const fromRun = ours && overrides === undefined ? primaryOfTask(task, runMode, point) : null;
  const primary = fromRun !== null && measured(fromRun) > 0 ? fromRun : choosePrimaryMetric(amode, measured, overrides === undefined ? {} : { [amode]: overrides });
  row.primary_metric = primary;
  row.estimator = ESTIMATOR.key;
  for (const v of V5_VARIANTS) {
    const c = chosen[v];
    row[`${v}_trials`] = c.trials.length;
    row[`${v}_ok_trials`] = c.ok.length;
    const s = geometricMeanCi(valuesOf(v, primary), opts.compare?.level);
    row[`${v}_primary_ci_low`] = s?.ciLow ?? null;
    row[`${v}_primary_ci_high`] = s?.ciHigh ?? null;
    const failed = c.ok.length === 0 ? latest(c.trials)?.failure : undefined;
    row[`${v}_failure_code`] = failed?.code ?? null;
    row[`${v}_failure_evidence`] = failed?.evidence ?? null;
    const last = latest(c.trials);
    row[`${v}_engine`] = last?.engine ?? null;
    row[`${v}_host`] = last?.host ?? null;
    row[`${v}_date`] = last ? dateOf(last.finishedAt) : null;
    row[`${v}_data_source`] = c.source;
  }
  for (const v of ['human', 'agent'] as const) {
    const probes = chosen[v].ok.map((t) => t.correctness?.agreement).filter((x): x is number => x !== undefined);
    row[`${v}_correctness_agreement`] = probes.length > 0 ? probes.reduce((a, b) => a + b, 0) / probes.length : null;
  }
  for (const cmp of V5_COMPARISONS) {
    setPrimaryComparison(row, cmp.prefix, compare(primary, roundsOf(cmp.ref, primary), roundsOf(cmp.x, primary), opts.compare ?? {}));
  }
}

/** The primary comparison's columns of `prefix`: estimate, paired n, interval, verdict (null when not comparable). */
function setPrimaryComparison(row: DatasetRow, prefix: string, result: Comparison | null): void {
  const ok = result?.status === 'ok' ? result : null;
  row[`${prefix}_primary`] = ok?.improvementPct ?? null;
  row[`${prefix}_primary_n`] = ok?.n ?? null;
  row[`${prefix}_primary_ci_low`] = ok?.ciLow ?? null;
  row[`${prefix}_primary_ci_high`] = ok?.ciHigh ?? null;
  row[`${prefix}_verdict`] = ok?.verdict ?? null;
}

async function fillRaw(store: Pick<Store, 'getLogs'>, row: DatasetRow, chosen: Record<V5Variant, Chosen>): Promise<void> {
  for (const v of V5_VARIANTS) {
    const trial = chosen[v].ok[0] ?? latest(chosen[v].trials);
    if (!trial) continue;
    const logs = await store.getLogs(trial.id);
    const raw = logs.find((l) => l.kind === 'raw') ?? logs.find((l) => l.kind === 'bench');
    row[`${v}_raw`] = raw?.text ?? null;
  }
}

/** Every ok measurement in the store as v5 values, by (commit, variant): traces where a published value came from. */
export async function storeMeasurements(store: Store): Promise<(commit: string, variant: V5Variant) => Measurement[]> {
  const [variants, trials] = await Promise.all([store.listVariants(), store.listTrials()]);
  const kind = new Map(variants.map((v) => [v.id, v.kind]));
  const index = new Map<string, Measurement[]>();
  for (const t of trials) {
    if (t.status !== 'ok') continue;
    const k = `${t.taskCommit}|${kind.get(t.variantId) ?? ''}`;
    const mode = v5BenchmarkMode(t.mode);
    const values: Partial<Record<V5Metric, number>> = {};
    for (const m of V5_METRICS) {
      const v = v5Value(t.metrics, m, mode);
      if (v !== undefined) values[m] = v;
    }
    const file = t.trialKey.startsWith('import:') ? t.trialKey.split(':').slice(2, -1).join(':') : t.trialKey;
    const list = index.get(k) ?? [];
    const req = t.metrics.request_throughput;
    list.push({ source: t.dataSource, file, values, ...(req === undefined ? {} : { requestThroughput: req }) });
    index.set(k, list);
  }
  return (commit, variant) => index.get(`${commit}|${variant}`) ?? [];
}
