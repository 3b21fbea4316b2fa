/** The benchmark modes a perf command can have (from its script: serving, latency, throughput, prefix caching). */
export const BENCHMARK_MODES = ['serving', 'latency', 'throughput', 'prefix_caching'] as const;
export type BenchmarkMode = (typeof BENCHMARK_MODES)[number];

/** The modes of the v5 dataset's `benchmark_mode` column: latency and throughput are both `standalone`. */
export type V5Mode = 'serving' | 'standalone' | 'prefix_caching';

/**
 * The v5 fold of a mode: `latency` and `throughput` (and `standalone` itself) → `standalone`, `serving` and
 * `prefix_caching` stay; anything else (`unknown`, a foreign label, none) → null.
 */
export function v5BenchmarkMode(mode: string | null | undefined): V5Mode | null {
  if (mode === 'latency' || mode === 'throughput' || mode === 'standalone') return 'standalone';
  if (mode === 'serving' || mode === 'prefix_caching') return mode;
  return null;
}
