import { analysisMode, primaryCandidates, type PrimaryMetricOverrides } from '../analysis/index.js';
import type { MetricSet } from '../core/index.js';
import type { BenchmarkMode, Task } from '../task/index.js';
import { perfInfoOf } from './perf.js';
import type { PerfInfo } from './types.js';

/** The mode's primary metric (src/analysis's preference order) among the measured ones, with its value. */
export function primaryMetric(mode: BenchmarkMode | null, metrics: MetricSet, preferred?: string | null): { key: string; value: number } | null {
  for (const key of preferred ? [preferred] : primaryCandidates(analysisMode(mode))) {
    const value = metrics[key];
    if (value !== undefined && Number.isFinite(value)) return { key, value };
  }
  return null;
}

/** vLLM's defaults where a serving command leaves the lengths open (random dataset). */
const DEFAULT_LENGTHS = { input: 1024, output: 128 } as const;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

/**
 * The primary metric of a task, from what its perf command measures: `--primary-metric MODE=METRIC` first, then
 * serving: `ttft_mean` when each request produces one output token (`--*-output-len 1`: only the first token is
 * timed) or when prefill dominates (input ≥ 8 × output tokens), else `tpot_mean` (decode work); latency scripts
 * `latency_avg`; throughput and prefix-caching scripts `throughput`. Returns the metric and why.
 */
export function taskPrimaryMetric(mode: BenchmarkMode | null, perf: PerfInfo | null, overrides: PrimaryMetricOverrides = {}): { metric: string; why: string } {
  const amode = analysisMode(mode);
  const override = overrides[amode];
  if (override !== undefined) return { metric: override, why: `--primary-metric ${amode}=${override}` };
  if (mode !== 'serving') return { metric: primaryCandidates(amode)[0] ?? 'throughput', why: `${mode ?? 'unknown'} script` };
  const c = perf?.client ?? {};
  const output = num(c.randomOutputLen) ?? num(c.outputLen) ?? num(c.sonnetOutputLen) ?? num(c.sharegptOutputLen) ?? num(c.customOutputLen) ?? num(c.prefixRepetitionOutputLen);
  const input = num(c.randomInputLen) ?? num(c.inputLen) ?? num(c.sonnetInputLen);
  if (output !== undefined && output <= 1) return { metric: 'ttft_mean', why: 'one output token per request: only the first token is timed' };
  const outLen = output ?? DEFAULT_LENGTHS.output;
  const inLen = input ?? DEFAULT_LENGTHS.input;
  if (inLen >= 8 * outLen) return { metric: 'ttft_mean', why: `prefill-dominated (${inLen} input vs ${outLen} output tokens)` };
  return { metric: 'tpot_mean', why: `decode work (${outLen} output tokens per request)` };
}

/** The primary metric of a stored task (dataset, report): from its perf command as `run` decides it. */
export function primaryMetricOfTask(task: Task, mode: BenchmarkMode | null, overrides: PrimaryMetricOverrides = {}): { metric: string; why: string } {
  const perf = perfInfoOf(task);
  return taskPrimaryMetric(mode, 'code' in perf ? null : perf, overrides);
}
