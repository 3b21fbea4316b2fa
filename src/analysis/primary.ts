import { BENCHMARK_MODES, metricInfo, usageError, type BenchmarkMode } from '../core/index.js';

/**
 * The mode a row or task is analysed under: the four modes of a perf command, v5's folded `standalone`,
 * and `unknown` for rows whose mode was never classified (v5 `benchmark_mode = null`).
 */
export type AnalysisMode = BenchmarkMode | 'standalone' | 'unknown';

export const ANALYSIS_MODES: readonly AnalysisMode[] = [...BENCHMARK_MODES, 'standalone', 'unknown'];

/**
 * Primary metric candidates per mode, in order of preference. The first is the default (TTFT mean for
 * serving, throughput for throughput and prefix caching, average latency for latency; v5 standalone: throughput if
 * present else latency). Serving falls back to throughput because the legacy "separate" pipeline recorded only
 * throughput for many serving tasks; the report shows which metric each row used.
 */
export const DEFAULT_PRIMARY_METRICS: Readonly<Record<AnalysisMode, readonly string[]>> = {
  serving: ['ttft_mean', 'throughput'],
  latency: ['latency_avg'],
  throughput: ['throughput'],
  prefix_caching: ['throughput'],
  standalone: ['throughput', 'latency_avg'],
  unknown: ['ttft_mean', 'throughput', 'latency_avg'],
};

/** Per-mode overrides of the primary metric: one metric, used strictly (no fallback). */
export type PrimaryMetricOverrides = Partial<Record<AnalysisMode, string>>;

/** Normalises a mode label from a store (`BenchmarkMode`) or a v5 row (`standalone`, null) to an AnalysisMode. */
export function analysisMode(label: string | null | undefined): AnalysisMode {
  return (ANALYSIS_MODES as readonly string[]).includes(label ?? '') ? (label as AnalysisMode) : 'unknown';
}

/** Parses `serving=ttft_mean,latency=latency_p99` (the `--primary-metric` option); a bad entry is a usage error. */
export function parsePrimaryMetricSpec(spec: string, option = '--primary-metric'): PrimaryMetricOverrides {
  const out: PrimaryMetricOverrides = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [mode, metric, ...rest] = part.split('=').map((s) => s.trim());
    if (!mode || !metric || rest.length > 0) throw usageError(option, `"${part}" is not MODE=METRIC`, 'e.g. serving=ttft_mean,latency=latency_avg');
    if (!(ANALYSIS_MODES as readonly string[]).includes(mode)) {
      throw usageError(option, `unknown mode "${mode}"`, `modes: ${ANALYSIS_MODES.join(', ')}`);
    }
    const info = metricInfo(metric);
    if (!info || info.better === 'none') {
      throw usageError(option, `"${metric}" is not a metric with a better direction`, 'e.g. ttft_mean, tpot_p99, throughput, latency_avg');
    }
    out[mode as AnalysisMode] = metric;
  }
  return out;
}

/** The candidate metrics of `mode` after overrides: the override alone, or the default preference list. */
export function primaryCandidates(mode: AnalysisMode, overrides: PrimaryMetricOverrides = {}): readonly string[] {
  const o = overrides[mode];
  return o === undefined ? DEFAULT_PRIMARY_METRICS[mode] : [o];
}

/**
 * The primary metric of one row: among the candidates, the one measured for the most variants (earlier candidates
 * win ties). `measuredCount(metric)` says for how many of baseline/human/agent the metric has a value.
 */
export function choosePrimaryMetric(
  mode: AnalysisMode,
  measuredCount: (metric: string) => number,
  overrides: PrimaryMetricOverrides = {},
): string {
  const candidates = primaryCandidates(mode, overrides);
  let best = candidates[0] ?? 'throughput';
  let bestCount = -1;
  for (const m of candidates) {
    const c = measuredCount(m);
    if (c > bestCount) {
      best = m;
      bestCount = c;
    }
  }
  return best;
}

/** vLLM's defaults where a serving command leaves the lengths open (random dataset). */
const DEFAULT_LENGTHS = { input: 1024, output: 128 } as const;

const lengthOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

/**
 * The primary metric of a task, from what its perf command measures: `--primary-metric MODE=METRIC` first, then the
 * task's own `primary_metric`, then
 * serving: `ttft_mean` when each request produces one output token (`--*-output-len 1`: only the first token is
 * timed) or when prefill dominates (input ≥ 8 × output tokens), else `tpot_mean` (decode work); latency scripts
 * `latency_avg`; throughput and prefix-caching scripts `throughput`. `client` holds the command's client flags
 * (camelCase: randomOutputLen, ...). Returns the metric and why.
 */
export function primaryMetricOfCommand(
  mode: string | null,
  client: Readonly<Record<string, unknown>> | null,
  overrides: PrimaryMetricOverrides = {},
  taskMetric?: string,
): { metric: string; why: string } {
  const amode = analysisMode(mode);
  const override = overrides[amode];
  if (override !== undefined) return { metric: override, why: `--primary-metric ${amode}=${override}` };
  if (taskMetric !== undefined) return { metric: taskMetric, why: "the task's primary_metric" };
  if (amode !== 'serving') return { metric: primaryCandidates(amode)[0] ?? 'throughput', why: `${mode ?? 'unknown'} script` };
  const c = client ?? {};
  const output = lengthOf(c.randomOutputLen) ?? lengthOf(c.outputLen) ?? lengthOf(c.sonnetOutputLen) ?? lengthOf(c.sharegptOutputLen) ?? lengthOf(c.customOutputLen) ?? lengthOf(c.prefixRepetitionOutputLen);
  const input = lengthOf(c.randomInputLen) ?? lengthOf(c.inputLen) ?? lengthOf(c.sonnetInputLen);
  if (output !== undefined && output <= 1) return { metric: 'ttft_mean', why: 'one output token per request: only the first token is timed' };
  const outLen = output ?? DEFAULT_LENGTHS.output;
  const inLen = input ?? DEFAULT_LENGTHS.input;
  if (inLen >= 8 * outLen) return { metric: 'ttft_mean', why: `prefill-dominated (${inLen} input vs ${outLen} output tokens)` };
  return { metric: 'tpot_mean', why: `decode work (${outLen} output tokens per request)` };
}
