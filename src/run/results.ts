import {
  alphaSpent,
  byRound,
  compare,
  DEFAULT_TIE_THRESHOLD,
  geometricMean,
  holmAdjust,
  looksTaken,
  lookSchedule,
  noiseFloor,
  isJudgedSecondary,
  positionEffect as positionEffectOf,
  sequentialDecision,
  comparisonAtStop,
  type Comparison,
  type NoiseFloor,
  type StopReason,
  type Verdict,
} from '../analysis/index.js';
import { isAaVariant, sloAttainment, sloText, workloadMismatch, type Failure, type FailureCode } from '../core/index.js';
import { kneeIndex } from '../loadgen/index.js';
import { storedRequests, type Store, type TrialRecord } from '../store/index.js';
import { goodputOfArgs } from '../vllm/index.js';
import type { VariantKind } from '../task/index.js';
import type { RunSettings, TaskPlan } from './types.js';

/** One line of the results table: one variant of one task over every stored trial of the planned configuration. */
export interface ResultRow {
  taskCommit: string;
  subject: string | null;
  variantId: string;
  kind: VariantKind;
  label: string;
  ok: number;
  failed: number;
  /** Failure codes with their counts, most frequent first. */
  failures: { code: FailureCode; count: number }[];
  metric: string | null;
  /** Geometric mean of `metric` over the ok trials (the convention of the paired estimate beside it). */
  value: number | null;
  /** Improvement over the baseline on `metric` (positive = better), paired by round (src/analysis ESTIMATOR). */
  vsBaseline: ResultComparison | null;
  /** Agents only: improvement over the human variant on `metric`. */
  vsHuman: ResultComparison | null;
  deviations: string[];
  /** The OOM fallback's `--max-model-len` the trials ran with (their stored decision), null when they ran without it. */
  oomFallbackMaxModelLen: number | null;
  /** What the plan put in place of a dataset file that was not there (`--missing-dataset random`), one line each. */
  datasetSubstitutions: string[];
  /** Lowest probe agreement over the trials; null when no probe ran. */
  agreement: number | null;
  /** Ok serving trials whose probe was compared with nothing (no baseline reference was known when they ran). */
  unchecked: number;
  /** Comparisons not made: the trials of the two sides ran different workloads (`workload_mismatch`, both hashes). */
  comparisonFailures: { against: 'baseline' | 'human'; failure: Failure }[];
  /** Every other metric the trials have, vs baseline, better/worse Holm-corrected over these metrics (secondary). */
  secondary: (ResultComparison & { metric: string })[];
  /**
   * The sweep point of the row's configuration (a task whose perf command is a sweep has one row per point and
   * variant); `knee`: the point is the knee of the variant's curve (Kneedle on p99 TTFT vs output throughput, as
   * `bench sweep`; none below 3 measured points or on a flat curve).
   */
  sweep: { index: number; count: number; label: string; knee: boolean } | null;
  /** Sweep rows: the curve's metrics, geometric means over the ok trials (null where none has it). */
  curve: Record<CurveMetric, number | null> | null;
  /**
   * Sweep rows whose point's command has --goodput: the SLO (`ttft:500 tpot:50`, ms) and, over the ok trials' stored
   * requests, the fraction meeting it (vLLM's per-request test), the goodput (req/s) and `met` (fraction >= 0.9).
   */
  slo: { text: string; fraction: number | null; goodput: number | null; met: boolean | null } | null;
}

/** What a sweep's latency-vs-throughput curves are drawn from. */
export const CURVE_METRICS = ['output_throughput', 'request_throughput', 'ttft_median', 'ttft_p99', 'tpot_median', 'tpot_p99', 'e2el_median', 'e2el_p99'] as const;
export type CurveMetric = (typeof CURVE_METRICS)[number];

/** Marks the knee of each variant's sweep curve among the rows. */
function markKnees(rows: readonly ResultRow[]): void {
  const curves = new Map<string, ResultRow[]>();
  for (const r of rows) if (r.sweep && r.curve?.output_throughput != null && r.curve.ttft_p99 != null) curves.set(`${r.taskCommit}\u0000${r.variantId}`, [...(curves.get(`${r.taskCommit}\u0000${r.variantId}`) ?? []), r]);
  for (const points of curves.values()) {
    const k = kneeIndex(points.map((r) => ({ output_throughput: r.curve?.output_throughput ?? 0, p99_ttft_ms: r.curve?.ttft_p99 ?? 0 })));
    const knee = k === null ? undefined : points[k];
    if (knee?.sweep) knee.sweep.knee = true;
  }
}

async function sloOf(store: Store, plan: TaskPlan, trials: readonly TrialRecord[]): Promise<ResultRow['slo']> {
  const parsed = plan.perf ? goodputOfArgs(plan.perf.clientArgs) : null;
  if (parsed === null || !('slo' in parsed)) return null;
  const a = sloAttainment(await storedRequests(store, trials.filter((t) => t.status === 'ok')), parsed.slo);
  return { text: sloText(parsed.slo), fraction: a?.fraction ?? null, goodput: a?.goodput ?? null, met: a?.met ?? null };
}

function curveOf(trials: readonly TrialRecord[]): Record<CurveMetric, number | null> {
  const ok = trials.filter((t) => t.status === 'ok');
  const entries = CURVE_METRICS.map((m) => {
    const xs = ok.map((t) => t.metrics[m]).filter((x): x is number => typeof x === 'number' && x > 0);
    return [m, xs.length > 0 ? geometricMean(xs) : null] as const;
  });
  return Object.fromEntries(entries) as Record<CurveMetric, number | null>;
}

/** One comparison as the table shows it: the paired estimate, its interval, the paired rounds and the verdict. */
export interface ResultComparison {
  improvementPct: number;
  ciLow: number | null;
  ciHigh: number | null;
  /** Rounds in which both variants have an ok trial. */
  n: number;
  verdict: Verdict;
  /**
   * `--trials auto`, vs baseline: `stagewise` (the 95% interval at the stop aware of the stopping rule, src/analysis
   * stopEstimate; verdict from the boundary) or `repeated` (the deciding look's own interval: the comparison was not
   * the one that stopped the task, or a round is missing); absent for fixed trials (Student t 95%).
   */
  interval?: 'stagewise' | 'repeated';
}

function shown(c: Comparison | null, interval?: ResultComparison['interval']): ResultComparison | null {
  if (c?.status !== 'ok') return null;
  return { improvementPct: c.improvementPct, ciLow: c.ciLow, ciHigh: c.ciHigh, n: c.n, verdict: c.verdict, ...(interval ? { interval } : {}) };
}

/** Where `--trials auto` stopped a task: the first round at which adaptiveStop stops on its stored trials; null for fixed trials or no stop yet. */
function firstStop(plan: TaskPlan, trials: readonly TrialRecord[], settings: Pick<RunSettings, 'trials' | 'adaptive'> | undefined, tieThreshold: number): AdaptiveStop | null {
  if (!settings?.adaptive) return null;
  const rounds = Math.max(0, ...trials.map((t) => t.trialIndex));
  for (let r = 1; r <= rounds; r++) {
    const stop = adaptiveStop(plan, trials, r, settings, tieThreshold);
    if (stop) return stop;
  }
  return null;
}

function failureCounts(trials: readonly TrialRecord[]): ResultRow['failures'] {
  const counts = new Map<FailureCode, number>();
  for (const t of trials) if (t.failure) counts.set(t.failure.code, (counts.get(t.failure.code) ?? 0) + 1);
  return [...counts].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count);
}

/** The ok trials' values of `metric` by round (index = trial index - 1). */
function values(trials: readonly TrialRecord[], metric: string | null): (number | undefined)[] {
  if (metric === null) return [];
  return byRound(trials.filter((t) => t.status === 'ok').map((t) => ({ round: t.trialIndex, value: t.metrics[metric] })));
}

/** The stored trials of a plan's configuration. */
export async function planTrials(store: Store, plan: TaskPlan): Promise<TrialRecord[]> {
  const keys = new Set(plan.trials.map((t) => t.key));
  return (await store.listTrials({ taskCommit: plan.task.commit })).filter((t) => keys.has(t.trialKey));
}

/** The secondary metrics among those the ok trials have (src/analysis isJudgedSecondary), primary excluded. */
function secondaryMetrics(trials: readonly TrialRecord[], primary: string | null): string[] {
  const keys = new Set<string>();
  for (const t of trials) if (t.status === 'ok') for (const k of Object.keys(t.metrics)) if (isJudgedSecondary(k, primary)) keys.add(k);
  return [...keys].sort();
}

/** The results table of the planned tasks, from the store (so resumed trials count alike). */
export async function summarizeResults(store: Store, plans: readonly TaskPlan[], settings?: Pick<RunSettings, 'trials' | 'adaptive'>, tieThreshold = DEFAULT_TIE_THRESHOLD): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const plan of plans) {
    const trials = await planTrials(store, plan);
    const stopRounds = firstStop(plan, trials, settings, tieThreshold)?.rounds ?? null;
    const seqOpts = { minRounds: settings?.adaptive?.minTrials ?? 0, maxRounds: settings?.trials ?? 0, tieThreshold };
    const metric = plan.mode === null && trials.every((t) => t.status !== 'ok') ? null : plan.primary.metric;
    const baseline = plan.variants.find((v) => v.record.kind === 'baseline' && !isAaVariant(v.record.id));
    const others = secondaryMetrics(trials, metric);
    const baseTrials = baseline ? trials.filter((t) => t.variantId === baseline.record.id) : [];
    const baseValues = values(baseTrials, metric);
    const human = plan.variants.find((v) => v.record.kind === 'human');
    const humanValues = human ? values(trials.filter((t) => t.variantId === human.record.id), metric) : [];
    const trialsOf = (id: string | undefined) => trials.filter((t) => t.variantId === id);
    for (const v of plan.variants) {
      const mine = trialsOf(v.record.id);
      const vals = values(mine, metric);
      // Before any comparison: both sides must have run the same workload (every trial's recorded hash).
      const mismatch = (against: 'baseline' | 'human', other: typeof baseline) =>
        workloadMismatch([
          { label: against, hashes: trialsOf(other?.record.id).map((t) => t.workloadHash) },
          { label: v.label, hashes: mine.map((t) => t.workloadHash) },
        ]);
      const comparisonFailures: ResultRow['comparisonFailures'] = [];
      const vsBase = v !== baseline ? mismatch('baseline', baseline) : null;
      if (vsBase) comparisonFailures.push({ against: 'baseline', failure: vsBase });
      const vsHum = v.record.kind === 'agent' ? mismatch('human', human) : null;
      if (vsHum) comparisonFailures.push({ against: 'human', failure: vsHum });
      // --trials auto: the watched comparison (vs baseline) as the stopping rule left it; fixed trials: Student t 95%.
      const stopped = metric !== null && v !== baseline && !vsBase && stopRounds !== null && v.record.kind !== 'baseline' ? comparisonAtStop(metric, baseValues, vals, stopRounds, seqOpts) : null;
      const cmp = stopped ? stopped.comparison : metric !== null && v !== baseline && !vsBase ? compare(metric, baseValues, vals) : null;
      const cmpHuman = metric !== null && v.record.kind === 'agent' && !vsHum ? compare(metric, humanValues, vals) : null;
      const agreements = mine.flatMap((t) => (t.correctness ? [t.correctness.agreement] : []));
      const secondary = v === baseline ? [] : holmAdjust(others.map((m) => compare(m, values(baseTrials, m), values(mine, m))));
      rows.push({
        taskCommit: plan.task.commit,
        subject: plan.task.subject ?? null,
        variantId: v.record.id,
        kind: v.record.kind,
        label: v.label,
        ok: mine.filter((t) => t.status === 'ok').length,
        failed: mine.filter((t) => t.status === 'failed').length,
        failures: failureCounts(mine),
        metric,
        value: vals.some((x) => x !== undefined) ? geometricMean(vals.filter((x): x is number => x !== undefined)) : null,
        vsBaseline: shown(cmp, stopped?.interval),
        vsHuman: shown(cmpHuman),
        deviations: [...new Set(mine.flatMap((t) => t.deviations))],
        oomFallbackMaxModelLen: mine.find((t) => t.oomFallbackMaxModelLen != null)?.oomFallbackMaxModelLen ?? null,
        datasetSubstitutions: [...(plan.workload?.deviations ?? [])],
        agreement: agreements.length > 0 ? Math.min(...agreements) : null,
        unchecked: mine.filter((t) => t.status === 'ok' && t.mode === 'serving' && t.correctness === null).length,
        comparisonFailures,
        secondary: secondary.flatMap((c) => {
          const r = shown(c);
          return r ? [{ ...r, metric: c.metric }] : [];
        }),
        sweep: plan.sweep ? { index: plan.sweep.index, count: plan.sweep.count, label: plan.sweep.label, knee: false } : null,
        curve: plan.sweep && plan.mode === 'serving' ? curveOf(mine) : null,
        slo: plan.sweep && plan.mode === 'serving' ? await sloOf(store, plan, mine) : null,
      });
    }
  }
  markKnees(rows);
  return rows;
}

/** What one task's round-by-round data say beyond the rows: primary metric, position effect, noise floor, stop. */
export interface TaskSummary {
  taskCommit: string;
  /** `2/3: max_concurrency=16` for a point of a sweep (one summary per point); null otherwise. */
  sweepPoint: string | null;
  primaryMetric: string;
  primaryWhy: string;
  /** Mean deviation (percent) of a trial at position p from its variant's geometric mean, per position (index p-1). */
  positionEffectPct: number[];
  /** `--aa`: baseline′ vs baseline, the noise floor of the task (src/analysis noiseFloor); null without --aa or below 2 paired rounds. */
  noiseFloor: NoiseFloor | null;
  /** `--trials auto`: where and why the task stopped. */
  stop: AdaptiveStop | null;
  /** Seconds the task's trials took (GPU-seconds on one GPU), and what --trials at the maximum would take at that rate. */
  gpuSeconds: number;
  gpuSecondsAtMax: number | null;
}

/** The comparisons the adaptive rule watches: every variant but the baseline(s) against the baseline. */
function watched(plan: TaskPlan): { baseline: string | null; others: string[] } {
  const baseline = plan.variants.find((v) => v.record.kind === 'baseline' && !isAaVariant(v.record.id))?.record.id ?? null;
  return { baseline, others: plan.variants.filter((v) => v.record.kind !== 'baseline').map((v) => v.record.id) };
}

/** Where and why `--trials auto` stops a task: the round, the looks of the rule taken and the error rate they spent. */
export interface AdaptiveStop {
  reason: StopReason;
  rounds: number;
  looks: number;
  alphaSpent: number;
}

/**
 * `--trials auto`: after `rounds` complete rounds, whether the task stops (every watched comparison settled or futile,
 * or the maximum reached) and why. Deterministic in the stored trials, so a resumed run and the summary agree.
 */
export function adaptiveStop(plan: TaskPlan, trials: readonly TrialRecord[], rounds: number, settings: Pick<RunSettings, 'trials' | 'adaptive'>, tieThreshold = DEFAULT_TIE_THRESHOLD): AdaptiveStop | null {
  if (!settings.adaptive) return null;
  const opts = { minRounds: settings.adaptive.minTrials, maxRounds: settings.trials, tieThreshold };
  const schedule = lookSchedule(opts.minRounds, opts.maxRounds);
  const at = (reason: StopReason): AdaptiveStop => {
    const looks = looksTaken(schedule, rounds);
    return { reason, rounds, looks, alphaSpent: alphaSpent(schedule, looks - 1) };
  };
  if (rounds >= settings.trials) return at('max_rounds');
  const { baseline, others } = watched(plan);
  if (baseline === null || others.length === 0) return rounds >= opts.minRounds ? at('settled') : null;
  const metric = plan.primary.metric;
  const ref = values(trials.filter((t) => t.variantId === baseline), metric);
  const reasons = others.map((id) => sequentialDecision(metric, ref, values(trials.filter((t) => t.variantId === id), metric), rounds, opts));
  if (!reasons.every((d) => d.stop)) return null;
  return at(reasons.every((d) => d.reason === 'settled') ? 'settled' : reasons.some((d) => d.reason === 'max_rounds') ? 'max_rounds' : 'futile');
}

/** Seconds a task's trials took (GPU-seconds on one GPU) and what `maxRounds` rounds of every variant take at that rate. */
export function gpuSecondsOf(plan: TaskPlan, trials: readonly TrialRecord[], maxRounds: number): { gpuSeconds: number; gpuSecondsAtMax: number } {
  const gpuSeconds = trials.reduce((a, t) => a + t.durationS, 0);
  const perTrial = trials.length > 0 ? gpuSeconds / trials.length : 0;
  return { gpuSeconds, gpuSecondsAtMax: perTrial * plan.variants.length * maxRounds };
}

function positionEffect(trials: readonly TrialRecord[], metric: string): number[] {
  return positionEffectOf(trials.flatMap((t) => (t.status === 'ok' && typeof t.position === 'number' ? [{ variant: t.variantId, position: t.position, value: t.metrics[metric] ?? 0 }] : [])));
}

/** Task-level lines of the results: the primary metric and why, position effect, noise floor (--aa), stop (auto). */
export async function summarizeTasks(store: Store, plans: readonly TaskPlan[], settings: Pick<RunSettings, 'trials' | 'adaptive'>, tieThreshold = DEFAULT_TIE_THRESHOLD): Promise<TaskSummary[]> {
  const out: TaskSummary[] = [];
  for (const plan of plans) {
    const trials = await planTrials(store, plan);
    const metric = plan.primary.metric;
    const { baseline } = watched(plan);
    const aa = plan.variants.find((v) => isAaVariant(v.record.id));
    const floor = aa && baseline !== null ? noiseFloor(metric, values(trials.filter((t) => t.variantId === baseline), metric), values(trials.filter((t) => t.variantId === aa.record.id), metric), { tieThreshold }) : null;
    const stop = firstStop(plan, trials, settings, tieThreshold);
    const { gpuSeconds, gpuSecondsAtMax } = gpuSecondsOf(plan, trials, settings.trials);
    out.push({
      taskCommit: plan.task.commit,
      sweepPoint: plan.sweep ? `${plan.sweep.index}/${plan.sweep.count}: ${plan.sweep.label}` : null,
      primaryMetric: metric,
      primaryWhy: plan.primary.why,
      positionEffectPct: positionEffect(trials, metric),
      noiseFloor: floor,
      stop,
      gpuSeconds,
      gpuSecondsAtMax: settings.adaptive ? gpuSecondsAtMax : null,
    });
  }
  return out;
}
