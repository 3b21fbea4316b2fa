import { analysisMode, primaryCandidates, primaryMetricOfCommand, type PrimaryMetricOverrides } from '../analysis/index.js';
import type { MetricSet } from '../core/index.js';
import type { BenchmarkMode } from '../task/index.js';
import type { PerfInfo } from './types.js';

/** The mode's primary metric (src/analysis's preference order) among the measured ones, with its value. */
export function primaryMetric(mode: BenchmarkMode | null, metrics: MetricSet, preferred?: string | null): { key: string; value: number } | null {
  for (const key of preferred ? [preferred] : primaryCandidates(analysisMode(mode))) {
    const value = metrics[key];
    if (value !== undefined && Number.isFinite(value)) return { key, value };
  }
  return null;
}

/** The primary metric of a planned task (src/analysis `primaryMetricOfCommand` on its parsed perf command). */
export function taskPrimaryMetric(mode: BenchmarkMode | null, perf: PerfInfo | null, overrides: PrimaryMetricOverrides = {}, taskMetric?: string): { metric: string; why: string } {
  return primaryMetricOfCommand(mode, perf?.client ?? null, overrides, taskMetric);
}
