import { improvementPercent, metricInfo } from '../core/index.js';
import { bootstrapSettings, finiteValues, mean, percentileInterval, resampleMean, seededRandom, type BootstrapOptions } from './stats.js';

/** better / worse / tie / inconclusive, always from the point of view of the compared side ("positive = better"). */
export type Verdict = 'better' | 'worse' | 'tie' | 'inconclusive';

/** Where a verdict comes from: a bootstrap CI (>= 2 values per side) or the point estimate of single measurements. */
export type VerdictBasis = 'ci' | 'single_trial';

/** Default tie threshold in percent, as in the original ISO-Bench analyses ("Tie (±2%)"). */
export const DEFAULT_TIE_THRESHOLD = 2;

/** Why two samples could not be compared. */
export type NotComparableReason =
  | 'missing_ref'
  | 'missing_x'
  | 'metric_not_judged'
  | 'zero_ref'
  /** Set by callers that see both values cannot share a unit (e.g. req/s against tok/s); `compare` never returns it. */
  | 'units_mismatch';

/** The comparison of x against a reference on one metric. */
export type Comparison =
  | {
      status: 'ok';
      metric: string;
      nRef: number;
      nX: number;
      refMean: number;
      xMean: number;
      /** Improvement of mean(x) over mean(ref) in percent, positive = better (core `improvementPercent`). */
      improvementPct: number;
      /** Bootstrap CI of the improvement; null when a side has a single value. */
      ciLow: number | null;
      ciHigh: number | null;
      verdict: Verdict;
      basis: VerdictBasis;
    }
  | { status: 'not_comparable'; metric: string; nRef: number; nX: number; reason: NotComparableReason };

/** Options of `compare`. */
export interface CompareOptions extends BootstrapOptions {
  /** Half-width of the tie band in percent (default 2). */
  tieThreshold?: number;
}

/** Verdict from a CI: better if entirely above +t, worse if entirely below -t, tie if within ±t, else inconclusive. */
export function verdictFromCi(ciLow: number, ciHigh: number, tieThreshold = DEFAULT_TIE_THRESHOLD): Verdict {
  if (ciLow > tieThreshold) return 'better';
  if (ciHigh < -tieThreshold) return 'worse';
  if (ciLow >= -tieThreshold && ciHigh <= tieThreshold) return 'tie';
  return 'inconclusive';
}

/** Verdict from one point estimate (single measurements): better above +t, worse below -t, tie within ±t. */
export function verdictFromPoint(improvementPct: number, tieThreshold = DEFAULT_TIE_THRESHOLD): Verdict {
  if (improvementPct > tieThreshold) return 'better';
  if (improvementPct < -tieThreshold) return 'worse';
  return 'tie';
}

function checkThreshold(t: number): number {
  if (!(t >= 0 && Number.isFinite(t))) throw new RangeError(`tie threshold must be a finite number >= 0, got ${t}`);
  return t;
}

/**
 * Compares `xValues` (e.g. the agent's trials) with `refValues` (e.g. the baseline's) on `metricKey`.
 * The point estimate is the improvement of the means; its CI resamples both sides independently (seeded) and takes
 * the percentile interval of the replicated improvements. With one value on either side there is no spread to
 * resample: the verdict then comes from the point estimate and says so (`basis: 'single_trial'`).
 */
export function compare(metricKey: string, refValues: readonly number[], xValues: readonly number[], opts: CompareOptions = {}): Comparison {
  const ref = finiteValues(refValues);
  const x = finiteValues(xValues);
  const base = { metric: metricKey, nRef: ref.length, nX: x.length };
  const tieThreshold = checkThreshold(opts.tieThreshold ?? DEFAULT_TIE_THRESHOLD);
  const info = metricInfo(metricKey);
  if (!info || info.better === 'none') return { status: 'not_comparable', ...base, reason: 'metric_not_judged' };
  if (ref.length === 0) return { status: 'not_comparable', ...base, reason: 'missing_ref' };
  if (x.length === 0) return { status: 'not_comparable', ...base, reason: 'missing_x' };
  const refMean = mean(ref);
  const xMean = mean(x);
  const improvementPct = improvementPercent(metricKey, refMean, xMean);
  if (improvementPct === null) return { status: 'not_comparable', ...base, reason: 'zero_ref' };
  const point = { status: 'ok' as const, ...base, refMean, xMean, improvementPct };
  if (ref.length < 2 || x.length < 2) {
    return { ...point, ciLow: null, ciHigh: null, verdict: verdictFromPoint(improvementPct, tieThreshold), basis: 'single_trial' };
  }
  const [ciLow, ciHigh] = improvementCi(metricKey, ref, x, opts);
  return { ...point, ciLow, ciHigh, verdict: verdictFromCi(ciLow, ciHigh, tieThreshold), basis: 'ci' };
}

function improvementCi(metricKey: string, ref: readonly number[], x: readonly number[], opts: BootstrapOptions): [number, number] {
  const { seed, iterations, level } = bootstrapSettings(opts);
  const random = seededRandom(seed);
  const replicates: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const r = improvementPercent(metricKey, resampleMean(ref, random), resampleMean(x, random));
    if (r !== null) replicates.push(r);
  }
  return percentileInterval(replicates, level);
}

/** Counts of verdicts over many comparisons (not comparable ones counted apart). */
export interface VerdictTally {
  better: number;
  worse: number;
  tie: number;
  inconclusive: number;
  notComparable: number;
  /** Comparable ones whose verdict came from single measurements. */
  singleTrial: number;
}

/** Tallies the verdicts of `comparisons`. */
export function tallyVerdicts(comparisons: readonly Comparison[]): VerdictTally {
  const t: VerdictTally = { better: 0, worse: 0, tie: 0, inconclusive: 0, notComparable: 0, singleTrial: 0 };
  for (const c of comparisons) {
    if (c.status !== 'ok') {
      t.notComparable++;
      continue;
    }
    t[c.verdict]++;
    if (c.basis === 'single_trial') t.singleTrial++;
  }
  return t;
}
