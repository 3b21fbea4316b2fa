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
  return { seed: opts.seed ?? 1, iterations, level };
}

/** One resample with replacement of `xs` (same size). */
export function resample(xs: readonly number[], random: () => number): number[] {
  const out = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[Math.floor(random() * xs.length)] ?? Number.NaN;
  return out;
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
 * n, mean, median and a seeded bootstrap 95% CI **of the mean**. The mean, not the median: with the 3-10 trials
 * a variant gets, resampled medians can only take a handful of the observed values, so a median CI is coarse and
 * often collapses to a point, while the mean's bootstrap distribution is smooth.
 */
export function summarize(values: readonly number[], opts: BootstrapOptions = {}): Summary {
  const xs = finiteValues(values);
  if (xs.length === 0) return { status: 'empty', n: 0 };
  const ci = bootstrapCi(xs, mean, opts);
  return { status: 'ok', n: xs.length, mean: mean(xs), median: median(xs), ciLow: ci?.[0] ?? null, ciHigh: ci?.[1] ?? null };
}
