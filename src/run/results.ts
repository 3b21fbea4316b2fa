import { byRound, compare, geometricMean, type Comparison, type Verdict } from '../analysis/index.js';
import { workloadMismatch, type Failure, type FailureCode } from '../core/index.js';
import type { Store, TrialRecord } from '../store/index.js';
import type { VariantKind } from '../task/index.js';
import { primaryMetric } from './primary.js';
import type { TaskPlan } from './types.js';

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
  /** Lowest probe agreement over the trials; null when no probe ran. */
  agreement: number | null;
  /** Ok serving trials whose probe was compared with nothing (no baseline reference was known when they ran). */
  unchecked: number;
  /** Comparisons not made: the trials of the two sides ran different workloads (`workload_mismatch`, both hashes). */
  comparisonFailures: { against: 'baseline' | 'human'; failure: Failure }[];
}

/** One comparison as the table shows it: the paired estimate, its interval, the paired rounds and the verdict. */
export interface ResultComparison {
  improvementPct: number;
  ciLow: number | null;
  ciHigh: number | null;
  /** Rounds in which both variants have an ok trial. */
  n: number;
  verdict: Verdict;
}

function shown(c: Comparison | null): ResultComparison | null {
  if (c?.status !== 'ok') return null;
  return { improvementPct: c.improvementPct, ciLow: c.ciLow, ciHigh: c.ciHigh, n: c.n, verdict: c.verdict };
}

function metricOf(plan: TaskPlan, trials: readonly TrialRecord[]): string | null {
  for (const t of trials) {
    const p = primaryMetric(plan.mode, t.metrics);
    if (p) return p.key;
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

/** The results table of the planned tasks, from the store (so resumed trials count alike). */
export async function summarizeResults(store: Store, plans: readonly TaskPlan[]): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const plan of plans) {
    const keys = new Set(plan.trials.map((t) => t.key));
    const trials = (await store.listTrials({ taskCommit: plan.task.commit })).filter((t) => keys.has(t.trialKey));
    const metric = metricOf(plan, trials);
    const baseline = plan.variants.find((v) => v.record.kind === 'baseline');
    const baseValues = baseline ? values(trials.filter((t) => t.variantId === baseline.record.id), metric) : [];
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
      const cmp = metric !== null && v !== baseline && !vsBase ? compare(metric, baseValues, vals) : null;
      const cmpHuman = metric !== null && v.record.kind === 'agent' && !vsHum ? compare(metric, humanValues, vals) : null;
      const agreements = mine.flatMap((t) => (t.correctness ? [t.correctness.agreement] : []));
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
        vsBaseline: shown(cmp),
        vsHuman: shown(cmpHuman),
        deviations: [...new Set(mine.flatMap((t) => t.deviations))],
        agreement: agreements.length > 0 ? Math.min(...agreements) : null,
        unchecked: mine.filter((t) => t.status === 'ok' && t.mode === 'serving' && t.correctness === null).length,
        comparisonFailures,
      });
    }
  }
  return rows;
}
