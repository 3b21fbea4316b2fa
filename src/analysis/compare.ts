import { metricInfo } from '../core/index.js';
import { studentTCdf, studentTQuantile } from './student.js';

/**
 * better / worse / tie / inconclusive from an interval, always from the point of view of the compared side
 * ("positive = better"); `insufficient` when fewer rounds were paired than the interval needs.
 */
export type Verdict = 'better' | 'worse' | 'tie' | 'inconclusive' | 'insufficient';

/** Where a verdict comes from: the paired interval, or too few paired rounds for one (`insufficient`). */
export type VerdictBasis = 'ci' | 'single_trial';

/** Default tie threshold in percent, as in the original ISO-Bench analyses ("Tie (±2%)"). */
export const DEFAULT_TIE_THRESHOLD = 2;

/** Default confidence level of every comparison interval. */
export const DEFAULT_LEVEL = 0.95;

/** The Student t interval needs two paired rounds (one degree of freedom); below that there is no verdict. */
export const MIN_PAIRED_ROUNDS = 2;

/** The estimator every comparison uses, as headers name it. */
export const ESTIMATOR = {
  key: 'paired_geomean_ratio_t',
  short: 'paired geometric mean of per-round ratios, Student t 95% CI',
  long:
    'per round (a block of trials run next to each other), the log-ratio log(x / ref) of the two variants; the estimate is the ' +
    'geometric mean of the per-round ratios, exp(mean log-ratio), its interval the Student t interval of the mean log-ratio ' +
    'with n - 1 degrees of freedom, turned into percent',
} as const;

/** Why two samples could not be compared. */
export type NotComparableReason =
  | 'missing_ref'
  | 'missing_x'
  /** Both sides have values but no round has both (nothing to pair). */
  | 'unpaired'
  | 'metric_not_judged'
  | 'zero_ref'
  /** Set by callers that see both values cannot share a unit (e.g. req/s against tok/s); `compare` never returns it. */
  | 'units_mismatch'
  /** Set by callers whose two sides ran different workloads (their workload hashes differ); `compare` never returns it. */
  | 'workload_mismatch';

/** The comparison of x against a reference on one metric. */
export type Comparison =
  | {
      status: 'ok';
      metric: string;
      /** Values per side (finite, > 0), whether paired or not. */
      nRef: number;
      nX: number;
      /** Rounds in which both sides have a value: the n of the estimate. */
      n: number;
      /** Geometric means over the paired rounds. */
      refValue: number;
      xValue: number;
      /** 100 · (geometric mean ratio - 1), signed so that positive = better (core `improvementPercent`). */
      improvementPct: number;
      /** Student t interval of the improvement at `level`; null below MIN_PAIRED_ROUNDS. */
      ciLow: number | null;
      ciHigh: number | null;
      level: number;
      /**
       * Two-sided-equivalent p of "outside the tie band": 2 · min(P(better-test), P(worse-test)), capped at 1;
       * better/worse at `level` exactly when p < 1 - level. Null below MIN_PAIRED_ROUNDS.
       */
      pValue: number | null;
      /** Standard deviation of the per-round log-ratios (null below 2 rounds). */
      sdLog: number | null;
      verdict: Verdict;
      basis: VerdictBasis;
      /** Set when the verdict was corrected for multiple comparisons. */
      adjustment?: 'holm';
    }
  | { status: 'not_comparable'; metric: string; nRef: number; nX: number; reason: NotComparableReason };

/** Options of `compare`. */
export interface CompareOptions {
  /** Half-width of the tie band in percent (default 2). */
  tieThreshold?: number;
  /** Confidence level of the interval (default 0.95). */
  level?: number;
}

/** Verdict from a CI: better if entirely above +t, worse if entirely below -t, tie if within ±t, else inconclusive. */
export function verdictFromCi(ciLow: number, ciHigh: number, tieThreshold = DEFAULT_TIE_THRESHOLD): Verdict {
  if (ciLow > tieThreshold) return 'better';
  if (ciHigh < -tieThreshold) return 'worse';
  if (ciLow >= -tieThreshold && ciHigh <= tieThreshold) return 'tie';
  return 'inconclusive';
}

function checkThreshold(t: number): number {
  if (!(t >= 0 && t < 100 && Number.isFinite(t))) throw new RangeError(`tie threshold must be a number in [0, 100), got ${t}`);
  return t;
}

function checkLevel(level: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  return level;
}

/** One value per round, aligned by index across the two sides; `undefined`, NaN or a value <= 0 is a missing round. */
export type RoundValues = readonly (number | null | undefined)[];

/** Values by round number (index = round, 0 allowed) into the `RoundValues` layout; a round given twice keeps its first value. */
export function byRound(entries: Iterable<{ round: number; value: number | null | undefined }>): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (const e of entries) {
    if (!Number.isInteger(e.round) || e.round < 0) continue;
    const i = e.round;
    while (out.length <= i) out.push(undefined);
    if (out[i] === undefined && typeof e.value === 'number' && Number.isFinite(e.value)) out[i] = e.value;
  }
  return out;
}

const usable = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** "positive = better" on the log scale: +1 when higher is better, -1 when lower is. */
export function directionOf(metricKey: string): 1 | -1 | null {
  const info = metricInfo(metricKey);
  if (!info || info.better === 'none') return null;
  return info.better === 'higher' ? 1 : -1;
}

/** Improvement in percent of a signed log-ratio `e` (positive = better). */
export function improvementOfLog(e: number, dir: 1 | -1): number {
  return dir === 1 ? Math.expm1(e) * 100 : -Math.expm1(-e) * 100;
}

/** The signed log-ratio whose improvement is `pct` percent. */
export function logOfImprovement(pct: number, dir: 1 | -1): number {
  return dir === 1 ? Math.log1p(pct / 100) : -Math.log1p(-pct / 100);
}

/**
 * Compares `x` with `ref` on `metricKey`, paired by round (see ESTIMATOR): the rounds where both have a value give
 * log-ratios d_i = log(x_i / ref_i); the estimate is exp(mean d) as an improvement, the interval Student t on the
 * mean of d. Below MIN_PAIRED_ROUNDS paired rounds the verdict is `insufficient` and there is no interval.
 */
export function compare(metricKey: string, ref: RoundValues, x: RoundValues, opts: CompareOptions = {}): Comparison {
  const nRef = ref.filter(usable).length;
  const nX = x.filter(usable).length;
  const base = { metric: metricKey, nRef, nX };
  const tieThreshold = checkThreshold(opts.tieThreshold ?? DEFAULT_TIE_THRESHOLD);
  const level = checkLevel(opts.level ?? DEFAULT_LEVEL);
  const dir = directionOf(metricKey);
  if (dir === null) return { status: 'not_comparable', ...base, reason: 'metric_not_judged' };
  if (nRef === 0) return { status: 'not_comparable', ...base, reason: ref.some((v) => v === 0) ? 'zero_ref' : 'missing_ref' };
  if (nX === 0) return { status: 'not_comparable', ...base, reason: 'missing_x' };
  const logRef: number[] = [];
  const d: number[] = [];
  const rounds = Math.min(ref.length, x.length);
  for (let i = 0; i < rounds; i++) {
    const r = ref[i];
    const v = x[i];
    if (usable(r) && usable(v)) {
      logRef.push(Math.log(r));
      d.push(Math.log(v) - Math.log(r));
    }
  }
  const n = d.length;
  if (n === 0) return { status: 'not_comparable', ...base, reason: 'unpaired' };
  const meanD = d.reduce((a, b) => a + b, 0) / n;
  const refValue = Math.exp(logRef.reduce((a, b) => a + b, 0) / n);
  const point = { status: 'ok' as const, ...base, n, refValue, xValue: refValue * Math.exp(meanD), improvementPct: improvementOfLog(dir * meanD, dir), level };
  if (n < MIN_PAIRED_ROUNDS) return { ...point, ciLow: null, ciHigh: null, pValue: null, sdLog: null, verdict: 'insufficient', basis: 'single_trial' };
  let ss = 0;
  for (const v of d) ss += (v - meanD) ** 2;
  const sdLog = Math.sqrt(ss / (n - 1));
  const se = sdLog / Math.sqrt(n);
  const q = studentTQuantile(1 - (1 - level) / 2, n - 1);
  const e = dir * meanD;
  const ciLow = improvementOfLog(e - q * se, dir);
  const ciHigh = improvementOfLog(e + q * se, dir);
  const pValue = bandPValue(e, se, n - 1, logOfImprovement(tieThreshold, dir), logOfImprovement(-tieThreshold, dir));
  return { ...point, ciLow, ciHigh, pValue, sdLog, verdict: verdictFromCi(ciLow, ciHigh, tieThreshold), basis: 'ci' };
}

/** 2 · min(P(T >= (e - upper) / se), P(T <= (e - lower) / se)), capped at 1 (a zero se gives 0 or 1). */
function bandPValue(e: number, se: number, df: number, upper: number, lower: number): number {
  const tail = (z: number) => (Number.isNaN(z) ? 1 : studentTCdf(z, df));
  const pBetter = se === 0 ? (e > upper ? 0 : 1) : 1 - tail((e - upper) / se);
  const pWorse = se === 0 ? (e < lower ? 0 : 1) : tail((e - lower) / se);
  return Math.min(1, 2 * Math.min(pBetter, pWorse));
}

/**
 * Holm's step-down correction over a family of comparisons (e.g. the secondary metrics of one task): sorted by
 * p-value, the k-th smallest keeps its better/worse verdict only while p < (1 - level) / (m - k + 1); from the first
 * that fails on, better/worse become inconclusive. Ties and the rest are left as they are. Family-wise error <= 1 - level.
 */
export function holmAdjust(comparisons: readonly Comparison[], level = DEFAULT_LEVEL): Comparison[] {
  const alpha = 1 - checkLevel(level);
  const tested = comparisons
    .map((c, i) => ({ c, i }))
    .filter((e): e is { c: Extract<Comparison, { status: 'ok' }>; i: number } => e.c.status === 'ok' && e.c.pValue !== null)
    .sort((a, b) => (a.c.pValue ?? 1) - (b.c.pValue ?? 1));
  const out = comparisons.map((c) => (c.status === 'ok' && c.pValue !== null ? { ...c, adjustment: 'holm' as const } : c));
  const m = tested.length;
  let rejecting = true;
  tested.forEach((e, k) => {
    if (rejecting && (e.c.pValue ?? 1) >= alpha / (m - k)) rejecting = false;
    if (!rejecting && (e.c.verdict === 'better' || e.c.verdict === 'worse')) out[e.i] = { ...e.c, adjustment: 'holm', verdict: 'inconclusive' };
  });
  return out;
}

/** Counts of verdicts over many comparisons (not comparable ones counted apart). */
export interface VerdictTally {
  better: number;
  worse: number;
  tie: number;
  inconclusive: number;
  /** Fewer paired rounds than the interval needs. */
  insufficient: number;
  notComparable: number;
}

/** Tallies the verdicts of `comparisons`. */
export function tallyVerdicts(comparisons: readonly Comparison[]): VerdictTally {
  const t: VerdictTally = { better: 0, worse: 0, tie: 0, inconclusive: 0, insufficient: 0, notComparable: 0 };
  for (const c of comparisons) {
    if (c.status !== 'ok') t.notComparable++;
    else t[c.verdict]++;
  }
  return t;
}
