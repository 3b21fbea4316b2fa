import {
  agentStatus,
  analysisMode,
  choosePrimaryMetric,
  compare,
  completenessCategory,
  DEFAULT_BOOTSTRAP_SEED,
  DEFAULT_TIE_THRESHOLD,
  failureBreakdown,
  summarize,
  verdictFromCi,
  MIN_PAIRED_ROUNDS,
  type AgentStatus,
  type AnalysisMode,
  type Comparison,
  type CompletenessCategory,
  type FailureGroup,
  type FailureItem,
  type PrimaryMetricOverrides,
  type Summary,
} from '../analysis/index.js';
import { measuredDeviations, VARIANT_KINDS } from '../core/index.js';
import { checkDataset, numberCell, THROUGHPUT_UNIT_RATIO, type CheckReport, type DatasetRow, type TaskTrials } from '../dataset/index.js';
import { sweepCurves, type TaskSweep } from './sweeps.js';
import { analyzeTrials, type TaskDetail } from './trials.js';

/** Options of a report; defaults are resolved once in `resolveOptions`. */
export interface ReportOptions {
  /** Half-width of the tie band in percent (default 2). */
  tieThreshold?: number;
  /** Bootstrap seed (default 1). */
  seed?: number;
  /** Per-mode primary metric overrides (`--primary-metric`). */
  primaryMetrics?: PrimaryMetricOverrides;
  /** What the rows came from, shown in the header (a file path or a store location). */
  source?: string;
  /** ISO timestamp shown in the header; default now. */
  generatedAt?: string;
  title?: string;
}

export type ResolvedReportOptions = Required<Omit<ReportOptions, 'primaryMetrics'>> & { primaryMetrics: PrimaryMetricOverrides };

/** Defaults applied once. */
export function resolveOptions(opts: ReportOptions): ResolvedReportOptions {
  return {
    tieThreshold: opts.tieThreshold ?? DEFAULT_TIE_THRESHOLD,
    seed: opts.seed ?? DEFAULT_BOOTSTRAP_SEED,
    primaryMetrics: opts.primaryMetrics ?? {},
    source: opts.source ?? 'dataset rows',
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
    title: opts.title ?? 'isobench report',
  };
}

export const SIDES = VARIANT_KINDS;
export type Side = (typeof SIDES)[number];

/** The three comparisons of every row: key, compared side, reference side, label. */
export const COMPARISONS = [
  { key: 'human_vs_baseline', x: 'human', ref: 'baseline', prefix: 'human_improvement', label: 'Human vs baseline' },
  { key: 'agent_vs_baseline', x: 'agent', ref: 'baseline', prefix: 'agent_improvement', label: 'Agent vs baseline' },
  { key: 'agent_vs_human', x: 'agent', ref: 'human', prefix: 'agent_vs_human', label: 'Agent vs human' },
] as const;
export type ComparisonKey = (typeof COMPARISONS)[number]['key'];

/** Everything the report says about one (task, agent) row. */
export interface RowAnalysis {
  index: number;
  commit: string;
  short: string;
  subject: string;
  /** The agent exactly as the row labels it: `agent_name / agent_model`; NO_AGENT_LABEL when the row has no agent. */
  agent: string;
  /** False for a task measured without agents (agent_name and agent_model null): no agent row, no agent failure. */
  hasAgent: boolean;
  /** The row's `config_key` (store-built rows): rows of one task under two configurations are two measurements. */
  config: string | null;
  /** A sweep task's point (`2/3: max_concurrency=16`, the `sweep_point` column); null otherwise. */
  sweepPoint: string | null;
  /** `benchmark_mode` as written in the row (`null` shown as `(none)`). */
  modeLabel: string;
  mode: AnalysisMode;
  metric: string;
  /** The primary metric's value per variant; the agent's is null when the row says it has no patch. */
  values: Record<Side, number | null>;
  category: CompletenessCategory;
  status: AgentStatus;
  comparisons: Record<ComparisonKey, Comparison>;
  /** Failures of the row's variants, and of its comparisons (`comparison` set: e.g. a workload mismatch). */
  failures: (FailureItem & { side: Side; comparison?: ComparisonKey })[];
  /** has_agent_patch = false while agent metrics exist: the agent's numbers are ignored. */
  agentValuesWithoutPatch: boolean;
  /** Deviations from the perf command the row's trials were measured with (the `config` column), parser fixes left out. */
  deviations: string[];
  /** The task's noise floor as the row records it (`run --aa`: the aa_* columns of `dataset build`); null without. */
  noiseFloor: RowNoiseFloor | null;
  /** `run --trials auto`: where and why the row's configuration stopped (the stop_* columns); null for fixed trials. */
  stop: RowStop | null;
}

/** The `--trials auto` stop columns of a store-built row (the store's task_stops row, written by `dataset build`). */
export interface RowStop {
  reason: string;
  /** Rounds run before the stop (trials per variant) and `--max-trials`. */
  trialsUsed: number;
  trialsMax: number;
  looks: number | null;
  alphaSpent: number | null;
  /** GPU-seconds up to the stop and what trials_max rounds take at that rate; null when the row lacks them. */
  gpuSeconds: number | null;
  gpuSecondsAtMax: number | null;
}

/** GPU-seconds of the task configurations that `--trials auto` stopped, summed once per configuration. */
export interface StopTotals {
  /** Task configurations with a stop, and how many of them carry both GPU-second columns (the ones summed). */
  configurations: number;
  withGpuSeconds: number;
  gpuSeconds: number;
  gpuSecondsAtMax: number;
}

/** The noise-floor columns of a store-built row (src/analysis noiseFloor, written by `dataset build`). */
export interface RowNoiseFloor {
  n: number;
  aaImprovementPct: number | null;
  aaCiLow: number | null;
  aaCiHigh: number | null;
  halfWidthPct: number | null;
  minDetectablePct: number | null;
  message: string | null;
}

/** One agent label's outcomes. */
export interface AgentSummary {
  agent: string;
  rows: number;
  statuses: Record<AgentStatus, number>;
  categories: Record<CompletenessCategory, number>;
  /** Improvements of the comparable rows per comparison, and their summary (bootstrap CI of the mean across tasks). */
  improvements: Record<ComparisonKey, { values: number[]; summary: Summary }>;
}

/** The numbers every section of the report is drawn from. */
export interface ReportModel {
  options: ResolvedReportOptions;
  rows: RowAnalysis[];
  agents: string[];
  agentSummaries: AgentSummary[];
  commits: string[];
  modes: { label: string; rows: number; commits: number }[];
  metricFill: { metric: string; counts: Record<Side, number> }[];
  columnFill: { column: string; filled: number }[];
  categoryColumnFill: { category: CompletenessCategory; rows: number; avgFilled: number }[];
  totalColumns: number;
  failures: FailureGroup[];
  check: CheckReport;
  /** True when no comparison had more than one measurement per side. */
  allSingleTrial: boolean;
  dataGaps: DataGaps;
  /** Per-task trial views (tables of every metric, per-trial points, distributions); null when only rows were given. */
  details: TaskDetail[] | null;
  /** Latency vs throughput curves of the tasks measured as sweeps (rows with `sweep_point`). */
  sweeps: TaskSweep[];
  /** `--trials auto` GPU-seconds over the rows with a stop; null when no row has one. */
  stopTotals: StopTotals | null;
}

/** Commits missing a variant for every agent, and other holes in the data. */
export interface DataGaps {
  noBaseline: string[];
  noHuman: string[];
  /** Commits where no agent has a value for the primary metric. */
  noAgent: string[];
  modeMissing: string[];
  unitsMismatch: { commit: string; agent: string; detail: string }[];
  agentValuesWithoutPatch: { commit: string; agent: string }[];
  /** Rows measured with a deviation from their perf command (a substituted dataset, the OOM fallback). */
  deviations: { commit: string; agent: string; deviation: string }[];
}

const V5_METRIC_COLUMNS = ['ttft_mean', 'ttft_median', 'ttft_p99', 'tpot_mean', 'tpot_median', 'tpot_p99', 'itl_mean', 'itl_median', 'itl_p99', 'latency_avg', 'throughput'];

/** The label of a row measured without agents (baseline and human only): never counted as an agent. */
export const NO_AGENT_LABEL = 'no agent (baseline and human only)';

const str = (row: DatasetRow, col: string): string | null => {
  const v = row[col];
  return typeof v === 'string' && v !== '' ? v : null;
};

/** Builds the report model from dataset rows (v5 columns, plus isobench's extension columns when present). */
export function analyzeRows(rows: readonly DatasetRow[], options: ReportOptions = {}, trials: readonly TaskTrials[] | null = null): ReportModel {
  const opts = resolveOptions(options);
  const analysed = rows.map((row, i) => analyzeRow(row, i, opts));
  const agents = [...new Set(analysed.filter((r) => r.hasAgent).map((r) => r.agent))].sort();
  const commits = [...new Set(analysed.map((r) => r.commit))];
  return {
    options: opts,
    rows: analysed,
    agents,
    agentSummaries: agents.map((a) => summarizeAgent(a, analysed.filter((r) => r.agent === a), opts)),
    commits,
    modes: modeCounts(analysed),
    metricFill: V5_METRIC_COLUMNS.map((metric) => ({
      metric,
      counts: { baseline: countFilled(rows, `baseline_${metric}`), human: countFilled(rows, `human_${metric}`), agent: countFilled(rows, `agent_${metric}`) },
    })),
    ...columnFill(rows, analysed),
    failures: failureBreakdown(dedupeFailures(analysed), 3),
    check: checkDataset(rows),
    allSingleTrial: analysed.every((r) => Object.values(r.comparisons).every((c) => c.status !== 'ok' || c.basis === 'single_trial')),
    dataGaps: dataGaps(analysed),
    details: trials === null ? null : analyzeTrials(trials, analysed, opts),
    sweeps: sweepCurves(rows, analysed),
    stopTotals: stopTotals(analysed),
  };
}

function analyzeRow(row: DatasetRow, index: number, opts: ResolvedReportOptions): RowAnalysis {
  const commit = str(row, 'commit_hash') ?? str(row, 'commit_short') ?? `row ${index}`;
  const modeLabel = str(row, 'benchmark_mode') ?? '(none)';
  const mode = analysisMode(str(row, 'benchmark_mode'));
  const measured = (metric: string): number => SIDES.filter((s) => numberCell(row, `${s}_${metric}`) !== null).length;
  // Rows built from a store name the metric their CI columns are about; an explicit override still wins.
  const declared = str(row, 'primary_metric');
  const metric = opts.primaryMetrics[mode] === undefined && declared !== null ? declared : choosePrimaryMetric(mode, measured, opts.primaryMetrics);
  const hasAgentPatch = typeof row.has_agent_patch === 'boolean' ? row.has_agent_patch : null;
  const rawAgent = numberCell(row, `agent_${metric}`);
  const values: Record<Side, number | null> = {
    baseline: numberCell(row, `baseline_${metric}`),
    human: numberCell(row, `human_${metric}`),
    agent: hasAgentPatch === false ? null : rawAgent,
  };
  const agentFailure = str(row, 'agent_failure_code') ?? failureFromDataSource(row);
  const hasAgent = str(row, 'agent_name') !== null || str(row, 'agent_model') !== null;
  const comparisons = Object.fromEntries(COMPARISONS.map((c) => [c.key, rowComparison(row, metric, values, c, opts)])) as Record<ComparisonKey, Comparison>;
  return {
    index,
    commit,
    short: str(row, 'commit_short') ?? commit.slice(0, 8),
    subject: str(row, 'commit_subject') ?? '',
    agent: hasAgent ? `${str(row, 'agent_name') ?? '(none)'} / ${str(row, 'agent_model') ?? '(none)'}` : NO_AGENT_LABEL,
    hasAgent,
    config: str(row, 'config_key'),
    sweepPoint: str(row, 'sweep_point'),
    modeLabel,
    mode,
    metric,
    values,
    category: completenessCategory({ baseline: values.baseline !== null, human: values.human !== null, agent: values.agent !== null }),
    status: agentStatus({
      hasAgentPatch,
      agentFailure,
      human: values.human !== null,
      agent: values.agent !== null,
      comparable: comparisons.agent_vs_human.status === 'ok',
    }),
    comparisons,
    failures: [
      ...rowFailures(row, commit, metric, values, hasAgentPatch, agentFailure).filter((f) => hasAgent || f.side !== 'agent'),
      ...COMPARISONS.flatMap((c) => {
        const failure = comparisonFailure(row, c);
        return failure ? [{ side: c.x, ...failure, where: `${commit.slice(0, 8)} ${c.label.toLowerCase()}`, comparison: c.key }] : [];
      }),
    ],
    agentValuesWithoutPatch: hasAgentPatch === false && rawAgent !== null,
    deviations: configDeviations(row),
    noiseFloor: rowNoiseFloor(row),
    stop: rowStop(row),
  };
}

function rowStop(row: DatasetRow): RowStop | null {
  const reason = str(row, 'stop_reason');
  const trialsUsed = numberCell(row, 'trials_used');
  const trialsMax = numberCell(row, 'trials_max');
  if (reason === null || trialsUsed === null || trialsMax === null) return null;
  return {
    reason,
    trialsUsed,
    trialsMax,
    looks: numberCell(row, 'stop_looks'),
    alphaSpent: numberCell(row, 'stop_alpha_spent'),
    gpuSeconds: numberCell(row, 'gpu_seconds'),
    gpuSecondsAtMax: numberCell(row, 'gpu_seconds_at_max'),
  };
}

/** Every agent's row of a task configuration carries the configuration's one stop: each is counted once (taskKey). */
function stopTotals(rows: readonly RowAnalysis[]): StopTotals | null {
  const stops = [...groupByTask(rows).values()].flatMap((rs) => {
    const stop = rs.find((r) => r.stop !== null)?.stop;
    return stop ? [stop] : [];
  });
  if (stops.length === 0) return null;
  const summed = stops.filter((s) => s.gpuSeconds !== null && s.gpuSecondsAtMax !== null);
  return {
    configurations: stops.length,
    withGpuSeconds: summed.length,
    gpuSeconds: summed.reduce((a, s) => a + (s.gpuSeconds ?? 0), 0),
    gpuSecondsAtMax: summed.reduce((a, s) => a + (s.gpuSecondsAtMax ?? 0), 0),
  };
}

function rowNoiseFloor(row: DatasetRow): RowNoiseFloor | null {
  const n = numberCell(row, 'aa_primary_n');
  if (n === null) return null;
  return {
    n,
    aaImprovementPct: numberCell(row, 'aa_primary'),
    aaCiLow: numberCell(row, 'aa_primary_ci_low'),
    aaCiHigh: numberCell(row, 'aa_primary_ci_high'),
    halfWidthPct: numberCell(row, 'aa_half_width_pct'),
    minDetectablePct: numberCell(row, 'min_detectable_effect_pct'),
    message: str(row, 'noise_floor_message'),
  };
}

/**
 * One comparison of a row. Store-built rows carry the paired estimate of the primary improvement, its Student t
 * interval and its paired rounds in extension columns (`<prefix>_primary`, `_primary_ci_low/high`, `_primary_n`);
 * the verdict is re-derived from the interval with this report's tie threshold. v5 rows have one value per variant:
 * one round, no interval, so the verdict is `insufficient` (never better/worse from a single measurement).
 */
function rowComparison(
  row: DatasetRow,
  metric: string,
  values: Record<Side, number | null>,
  c: (typeof COMPARISONS)[number],
  opts: ResolvedReportOptions,
): Comparison {
  const ref = values[c.ref];
  const x = values[c.x];
  // The dataset build verified the workload: two sides that ran different workloads are never compared.
  if (comparisonFailure(row, c) !== null) return { status: 'not_comparable', metric, nRef: ref === null ? 0 : 1, nX: x === null ? 0 : 1, reason: 'workload_mismatch' };
  const single = compare(metric, [ref], [x], { tieThreshold: opts.tieThreshold });
  if (single.status !== 'ok') return single;
  if (metric === 'throughput' && ref !== null && x !== null && ref > 0 && x > 0 && Math.max(ref, x) / Math.min(ref, x) > THROUGHPUT_UNIT_RATIO) {
    return { status: 'not_comparable', metric, nRef: 1, nX: 1, reason: 'units_mismatch' };
  }
  if (str(row, 'primary_metric') !== metric) return single;
  const lo = numberCell(row, `${c.prefix}_primary_ci_low`);
  const hi = numberCell(row, `${c.prefix}_primary_ci_high`);
  const nRef = numberCell(row, `${c.ref}_ok_trials`) ?? numberCell(row, `${c.ref}_trials`) ?? 1;
  const nX = numberCell(row, `${c.x}_ok_trials`) ?? numberCell(row, `${c.x}_trials`) ?? 1;
  // Datasets written before the paired estimator have no `_primary_n`: their trials per side bound the rounds.
  const n = numberCell(row, `${c.prefix}_primary_n`) ?? Math.min(nRef, nX);
  const pct = numberCell(row, `${c.prefix}_primary`) ?? single.improvementPct;
  if (lo === null || hi === null || n < MIN_PAIRED_ROUNDS) return { ...single, nRef, nX, n, improvementPct: pct };
  return { ...single, nRef, nX, n, improvementPct: pct, ciLow: lo, ciHigh: hi, verdict: verdictFromCi(lo, hi, opts.tieThreshold), basis: 'ci' };
}

/** The failure a store-built row records for one comparison (`workload_mismatch: <evidence>`), as code and evidence. */
function comparisonFailure(row: DatasetRow, c: (typeof COMPARISONS)[number]): { code: string; evidence: string } | null {
  const text = str(row, `${c.prefix}_comparison_failure`);
  if (text === null) return null;
  const m = /^(\w+): ([\s\S]*)$/.exec(text);
  return m ? { code: m[1] ?? '', evidence: m[2] ?? '' } : { code: 'workload_mismatch', evidence: text };
}

/** v5 rows of the 2026-01-17 rerun put the failure into `data_source` ("..._FAILED:Server crashed after applying patch"). */
function failureFromDataSource(row: DatasetRow): string | null {
  const m = /FAILED:(.*)$/i.exec(str(row, 'data_source') ?? '');
  if (!m) return null;
  return /crash/i.test(m[1] ?? '') ? 'server_crashed' : 'bench_failed';
}

function rowFailures(
  row: DatasetRow,
  commit: string,
  metric: string,
  values: Record<Side, number | null>,
  hasAgentPatch: boolean | null,
  agentFailure: string | null,
): (FailureItem & { side: Side })[] {
  const agent = `${str(row, 'agent_name') ?? ''}/${str(row, 'agent_model') ?? ''}`;
  const out: (FailureItem & { side: Side })[] = [];
  for (const side of SIDES) {
    const where = side === 'agent' ? `${commit.slice(0, 8)} agent ${agent}` : `${commit.slice(0, 8)} ${side}`;
    const code = str(row, `${side}_failure_code`);
    if (code !== null) {
      out.push({ side, code, where, evidence: str(row, `${side}_failure_evidence`) ?? '' });
      continue;
    }
    // Store-built rows name the codes of failed trials also when other trials of the variant ended ok.
    const trials = numberCell(row, `${side}_trials`);
    for (const m of (str(row, `${side}_failed_trials`) ?? '').matchAll(/(\w+)×(\d+)/g)) {
      out.push({ side, code: m[1] ?? '', where, evidence: `${m[2] ?? ''} of ${trials ?? '?'} trials (the others ended ok)` });
    }
    if (side === 'agent' && hasAgentPatch === false) {
      out.push({ side, code: 'patch_empty', where, evidence: 'inferred: has_agent_patch = false' });
    } else if (side === 'agent' && agentFailure !== null) {
      out.push({ side, code: agentFailure, where, evidence: `inferred from data_source: ${str(row, 'data_source') ?? ''}` });
    } else if (values[side] === null) {
      out.push({ side, code: 'no_metrics', where, evidence: `inferred: no ${side}_${metric} value and no failure recorded` });
    }
  }
  return out;
}

/** Baseline and human failures repeat on every agent's row of a task: count each (commit, side, code) once. */
function dedupeFailures(rows: readonly RowAnalysis[]): FailureItem[] {
  const seen = new Set<string>();
  const out: FailureItem[] = [];
  for (const r of rows) {
    for (const f of r.failures) {
      // A comparison's failure counts once per row; human vs baseline (on every agent's row) once per task.
      const key =
        f.comparison !== undefined
          ? f.comparison === 'human_vs_baseline' ? `${taskKey(r)}|${f.comparison}` : `${r.index}|${f.comparison}`
          : f.side === 'agent' ? `${r.index}` : `${taskKey(r)}|${f.side}|${f.code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ code: f.code, where: f.where, evidence: f.evidence });
    }
  }
  return out;
}

const zeroStatuses = (): Record<AgentStatus, number> => ({
  valid: 0,
  patch_failure: 0,
  crash: 0,
  agent_failed: 0,
  missing_agent_metrics: 0,
  missing_human_metrics: 0,
  not_comparable: 0,
});
const zeroCategories = (): Record<CompletenessCategory, number> => ({
  valid_3way: 0,
  human_agent_only: 0,
  baseline_agent_only: 0,
  agent_failure: 0,
  baseline_only: 0,
  agent_only: 0,
  no_metrics: 0,
});

function summarizeAgent(agent: string, rows: readonly RowAnalysis[], opts: ResolvedReportOptions): AgentSummary {
  const statuses = zeroStatuses();
  const categories = zeroCategories();
  for (const r of rows) {
    statuses[r.status]++;
    categories[r.category]++;
  }
  const improvements = Object.fromEntries(
    COMPARISONS.map((c) => {
      const values = rows.flatMap((r) => {
        const cmp = r.comparisons[c.key];
        return cmp.status === 'ok' ? [cmp.improvementPct] : [];
      });
      return [c.key, { values, summary: summarize(values, { seed: opts.seed }) }];
    }),
  ) as AgentSummary['improvements'];
  return { agent, rows: rows.length, statuses, categories, improvements };
}

/** Totals over all agents of the per-agent status and category counts. */
export function totals(model: ReportModel): { statuses: Record<AgentStatus, number>; categories: Record<CompletenessCategory, number> } {
  const statuses = zeroStatuses();
  const categories = zeroCategories();
  for (const s of model.agentSummaries) {
    for (const k of Object.keys(statuses) as AgentStatus[]) statuses[k] += s.statuses[k];
    for (const k of Object.keys(categories) as CompletenessCategory[]) categories[k] += s.categories[k];
  }
  return { statuses, categories };
}

function modeCounts(rows: readonly RowAnalysis[]): ReportModel['modes'] {
  const by = new Map<string, { rows: number; commits: Set<string> }>();
  for (const r of rows) {
    const e = by.get(r.modeLabel) ?? { rows: 0, commits: new Set<string>() };
    e.rows++;
    e.commits.add(r.commit);
    by.set(r.modeLabel, e);
  }
  return [...by.entries()].map(([label, e]) => ({ label, rows: e.rows, commits: e.commits.size })).sort((a, b) => b.rows - a.rows);
}

const isFilled = (v: unknown): boolean => v !== null && v !== undefined && v !== '' && !(typeof v === 'number' && Number.isNaN(v)) && !(Array.isArray(v) && v.length === 0);

function countFilled(rows: readonly DatasetRow[], column: string): number {
  return rows.reduce((n, r) => n + (isFilled(r[column]) ? 1 : 0), 0);
}

function columnFill(rows: readonly DatasetRow[], analysed: readonly RowAnalysis[]): Pick<ReportModel, 'columnFill' | 'categoryColumnFill' | 'totalColumns'> {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (seen.has(k)) continue;
      seen.add(k);
      columns.push(k);
    }
  }
  const byCategory = new Map<CompletenessCategory, { rows: number; filled: number }>();
  rows.forEach((row, i) => {
    const cat = analysed[i]?.category ?? 'no_metrics';
    const e = byCategory.get(cat) ?? { rows: 0, filled: 0 };
    e.rows++;
    e.filled += columns.filter((c) => isFilled(row[c])).length;
    byCategory.set(cat, e);
  });
  return {
    columnFill: columns.map((column) => ({ column, filled: countFilled(rows, column) })),
    categoryColumnFill: [...byCategory.entries()].map(([category, e]) => ({ category, rows: e.rows, avgFilled: e.filled / e.rows })),
    totalColumns: columns.length,
  };
}

/** A task measured under one configuration: the commit, and the row's config_key where it has one. */
export function taskKey(r: Pick<RowAnalysis, 'commit' | 'config'>): string {
  return r.config === null ? r.commit : `${r.commit}|${r.config}`;
}

/** Rows grouped by task and configuration (taskKey), in first-seen order. */
export function groupByTask(rows: readonly RowAnalysis[]): Map<string, RowAnalysis[]> {
  const byTask = new Map<string, RowAnalysis[]>();
  for (const r of rows) {
    const list = byTask.get(taskKey(r));
    if (list) list.push(r);
    else byTask.set(taskKey(r), [r]);
  }
  return byTask;
}

/** Rows grouped by commit, in first-seen order. */
export function groupByCommit(rows: readonly RowAnalysis[]): Map<string, RowAnalysis[]> {
  const byCommit = new Map<string, RowAnalysis[]>();
  for (const r of rows) {
    const list = byCommit.get(r.commit);
    if (list) list.push(r);
    else byCommit.set(r.commit, [r]);
  }
  return byCommit;
}

function dataGaps(rows: readonly RowAnalysis[]): DataGaps {
  const byCommit = groupByCommit(rows);
  const none = (side: Side) => [...byCommit.entries()].filter(([, rs]) => rs.every((r) => r.values[side] === null)).map(([c]) => c);
  return {
    noBaseline: none('baseline'),
    noHuman: none('human'),
    // A task measured without agents has no agent to miss.
    noAgent: none('agent').filter((c) => byCommit.get(c)?.some((r) => r.hasAgent)),
    modeMissing: [...byCommit.entries()].filter(([, rs]) => rs.some((r) => r.mode === 'unknown')).map(([c]) => c),
    unitsMismatch: rows.flatMap((r) =>
      Object.values(r.comparisons).some((c) => c.status === 'not_comparable' && c.reason === 'units_mismatch')
        ? [{ commit: r.commit, agent: r.agent, detail: SIDES.map((s) => `${s} ${r.values[s] ?? '-'}`).join(', ') }]
        : [],
    ),
    agentValuesWithoutPatch: rows.filter((r) => r.agentValuesWithoutPatch).map((r) => ({ commit: r.commit, agent: r.agent })),
    deviations: rows.flatMap((r) => r.deviations.map((deviation) => ({ commit: r.commit, agent: r.agent, deviation }))),
  };
}

/** The deviations listed in a row's `config` column (JSON with a `deviations` list), parser fixes left out. */
function configDeviations(row: DatasetRow): string[] {
  const text = str(row, 'config');
  if (text === null) return [];
  try {
    const list = (JSON.parse(text) as { deviations?: unknown }).deviations;
    return Array.isArray(list) ? measuredDeviations(list.filter((d): d is string => typeof d === 'string')) : [];
  } catch {
    return [];
  }
}
