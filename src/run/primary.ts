import { analysisMode, primaryCandidates } from '../analysis/index.js';
import type { MetricSet } from '../core/index.js';
import type { BenchmarkMode } from '../task/index.js';

/** The mode's primary metric (src/analysis's preference order) among the measured ones, with its value. */
export function primaryMetric(mode: BenchmarkMode | null, metrics: MetricSet): { key: string; value: number } | null {
  for (const key of primaryCandidates(analysisMode(mode))) {
    const value = metrics[key];
    if (value !== undefined && Number.isFinite(value)) return { key, value };
  }
  return null;
}
