/** Arithmetic mean; 0 for an empty list (as numpy's `np.mean(xs or 0)` in vLLM). */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Population standard deviation (numpy's default ddof=0); 0 for an empty list. */
export function std(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / xs.length);
}

/** Percentiles of `xs` with numpy's default linear interpolation; 0 for an empty list. */
export function percentiles(xs: readonly number[], ps: readonly number[]): number[] {
  if (xs.length === 0) return ps.map(() => 0);
  const sorted = Float64Array.from(xs).sort();
  return ps.map((p) => percentileOfSorted(sorted, p));
}

/** One percentile (0..100) of an ascending array, linear interpolation between closest ranks. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (h - lo) * (b - a);
}

