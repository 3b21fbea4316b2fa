import { studentTQuantile } from './student.js';

/**
 * Descriptive statistics and a seeded bootstrap. Non-finite inputs (NaN, ±Infinity) are treated as missing and
 * dropped, so one broken value cannot poison a mean; empty inputs give NaN from the primitives and `status: 'empty'`
 * from `summarize`.
 */

/** The finite values of `values`, in their order. */
export function finiteValues(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v));
}

/** Arithmetic mean; NaN when there is no finite value. */
export function mean(values: readonly number[]): number {
  const xs = finiteValues(values);
  if (xs.length === 0) return Number.NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Percentile `p` in [0, 100] with linear interpolation between closest ranks (numpy's default); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
  const xs = finiteValues(values).sort((a, b) => a - b);
  return percentileOfSorted(xs, p);
}

function percentileOfSorted(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[Math.min(lo + 1, n - 1)] ?? Number.NaN;
  return a + (h - lo) * (b - a);
}

/** Median (50th percentile, the mean of the two middle values for even n); NaN when empty. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** A deterministic PRNG (mulberry32) returning floats in [0, 1): the same seed gives the same bootstrap everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The bootstrap's PRNG seed unless one is given (report's --seed). */
export const DEFAULT_BOOTSTRAP_SEED = 1;

/** Options of every bootstrap in this module. */
export interface BootstrapOptions {
  /** PRNG seed (default 1). */
  seed?: number;
  /** Resamples (default 2000). */
  iterations?: number;
  /** Confidence level in (0, 1) (default 0.95). */
  level?: number;
}

/** Resolved bootstrap settings, defaults applied once. */
export function bootstrapSettings(opts: BootstrapOptions = {}): Required<BootstrapOptions> {
  const level = opts.level ?? 0.95;
  const iterations = opts.iterations ?? 2000;
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be within (0, 1), got ${level}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  return { seed: opts.seed ?? DEFAULT_BOOTSTRAP_SEED, iterations, level };
}

/** One resample with replacement of `xs` (same size). */
export function resample(xs: readonly number[], random: () => number): number[] {
  const out = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[Math.floor(random() * xs.length)] ?? Number.NaN;
  return out;
}

/** The mean of one resample with replacement of `xs`, without materialising it (same draws as `resample`). */
export function resampleMean(xs: readonly number[], random: () => number): number {
  const n = xs.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += xs[Math.floor(random() * n)] ?? Number.NaN;
  return sum / n;
}

/** Percentile-method interval of bootstrap replicates at `level` (NaN replicates are dropped). */
export function percentileInterval(replicates: readonly number[], level: number): [number, number] {
  const sorted = finiteValues(replicates).sort((a, b) => a - b);
  const tail = ((1 - level) / 2) * 100;
  return [percentileOfSorted(sorted, tail), percentileOfSorted(sorted, 100 - tail)];
}

/** Percentile bootstrap CI of `statistic` over `values`; null with fewer than two finite values. */
export function bootstrapCi(
  values: readonly number[],
  statistic: (xs: readonly number[]) => number,
  opts: BootstrapOptions = {},
): [number, number] | null {
  const xs = finiteValues(values);
  if (xs.length < 2) return null;
  const { seed, iterations, level } = bootstrapSettings(opts);
  const random = seededRandom(seed);
  const replicates = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) replicates[i] = statistic(resample(xs, random));
  return percentileInterval(replicates, level);
}

/**
 * Above this many values `summarize` uses the normal approximation of the mean's CI (mean ± z·sd/√n) instead of the
 * bootstrap: at that size the bootstrap distribution of the mean is normal to within its own resampling noise, and
 * 2000 resamples of 100,000 values would cost 2·10⁸ draws.
 */
export const BOOTSTRAP_MAX_N = 2000;

/** Two-sided standard normal quantile for a confidence level (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const tail = (q: number) => (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

function normalMeanCi(xs: readonly number[], level: number): [number, number] {
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  const half = normalQuantile(1 - (1 - level) / 2) * Math.sqrt(ss / (xs.length - 1) / xs.length);
  return [m - half, m + half];
}

/** `bootstrapCi(xs, mean)` without a copy per resample, or the normal approximation for large samples. */
function meanCi(xs: readonly number[], opts: BootstrapOptions): [number, number] | null {
  if (xs.length < 2) return null;
  if (xs.length > BOOTSTRAP_MAX_N) return normalMeanCi(xs, bootstrapSettings(opts).level);
  const { seed, iterations, level } = bootstrapSettings(opts);
  const random = seededRandom(seed);
  const replicates = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) replicates[i] = resampleMean(xs, random);
  return percentileInterval(replicates, level);
}

/** The summary of one sample of values. */
export type Summary =
  | { status: 'empty'; n: 0 }
  | {
      status: 'ok';
      n: number;
      mean: number;
      median: number;
      /** Bootstrap CI of the mean; null when n < 2 (one value has no spread to resample). */
      ciLow: number | null;
      ciHigh: number | null;
    };

/**
 * n, mean, median and a seeded bootstrap 95% CI **of the mean** (normal approximation above BOOTSTRAP_MAX_N values). The mean, not the median: with the 3-10 trials
 * a variant gets, resampled medians can only take a handful of the observed values, so a median CI is coarse and
 * often collapses to a point, while the mean's bootstrap distribution is smooth.
 */
export function summarize(values: readonly number[], opts: BootstrapOptions = {}): Summary {
  const xs = finiteValues(values);
  if (xs.length === 0) return { status: 'empty', n: 0 };
  const ci = meanCi(xs, opts);
  return { status: 'ok', n: xs.length, mean: mean(xs), median: median(xs), ciLow: ci?.[0] ?? null, ciHigh: ci?.[1] ?? null };
}

/** The geometric mean of positive values and the Student t interval of it (t on the logs); null CI below 2 values. */
export function geometricMeanCi(values: readonly number[], level = 0.95): { n: number; geomean: number; ciLow: number | null; ciHigh: number | null } | null {
  const positive = finiteValues(values).filter((v) => v > 0);
  const logs = positive.map(Math.log);
  const n = logs.length;
  if (n === 0) return null;
  const m = mean(logs);
  // Equal values are their own geometric mean (exp(mean log x) would add rounding noise).
  const first = positive[0] ?? Number.NaN;
  const geomean = positive.every((v) => v === first) ? first : Math.exp(m);
  if (n < 2) return { n, geomean, ciLow: null, ciHigh: null };
  let ss = 0;
  for (const l of logs) ss += (l - m) ** 2;
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * Math.sqrt(ss / (n - 1) / n);
  return { n, geomean, ciLow: Math.exp(m - half), ciHigh: Math.exp(m + half) };
}

/** Geometric mean of the positive finite values; NaN when there is none. */
export function geometricMean(values: readonly number[]): number {
  return geometricMeanCi(values)?.geomean ?? Number.NaN;
}

/**
 * The empirical CDF of the finite values as at most `maxPoints` points [value, P(X <= value)]: every point is an
 * observed value (the order statistic at evenly spaced ranks, first and last included), so a plot shows the exact
 * distribution's steps at that resolution and the extremes.
 */
export function ecdfPoints(values: readonly number[], maxPoints = 200): [number, number][] {
  const xs = finiteValues(values).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return [];
  const m = Math.max(1, Math.min(n, Math.floor(maxPoints)));
  const out: [number, number][] = [];
  for (let k = 0; k < m; k++) {
    let i = m === 1 ? n - 1 : Math.round((k * (n - 1)) / (m - 1));
    // Ties: the ECDF at a value counts every copy of it.
    while (i + 1 < n && xs[i + 1] === xs[i]) i++;
    const last = out.at(-1);
    if (last && last[0] === xs[i]) continue;
    out.push([xs[i]!, (i + 1) / n]);
  }
  return out;
}
