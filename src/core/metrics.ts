/**
 * Canonical metric keys shared by the load generator, the output parsers, the store, the analysis and the dataset.
 * Times are milliseconds, rates per second; the unit is part of the definition, never of the value.
 */
export type MetricUnit = 'ms' | 'tok/s' | 'req/s' | 'count' | 's' | 'ratio';
export type Better = 'lower' | 'higher' | 'none';

export interface MetricInfo {
  unit: MetricUnit;
  better: Better;
  description: string;
}

const lat = (description: string): MetricInfo => ({ unit: 'ms', better: 'lower', description });

/** The serving latencies with a canonical key family (`ttft_mean`, `itl_p99`, ...). */
export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];
/** One statistic of a latency family: mean, median, population std, or a percentile (`p99`, `p99.9`). */
export type LatencyStatistic = 'mean' | 'median' | 'std' | `p${number}`;

/** The statistic name of percentile `p` (0..100): `p99`, `p99.9`. */
export function percentileStatistic(p: number): `p${number}` {
  return `p${String(p)}` as `p${number}`;
}

/** The canonical key of one statistic of a latency: `ttft_mean`, `itl_p99`, `e2el_p99.9`. */
export function latencyKey(metric: LatencyMetric, stat: LatencyStatistic): string {
  return `${metric}_${stat}`;
}

function latencyFamily(name: LatencyMetric, label: string): Record<string, MetricInfo> {
  const out: Record<string, MetricInfo> = {};
  for (const stat of ['mean', 'median', 'std', 'p90', 'p95', 'p99'] as const) out[latencyKey(name, stat)] = lat(`${label} ${stat}`);
  return out;
}

/** Every metric isobench knows. Percentiles other than p90/p95/p99 use the same pattern (`ttft_p50`, ...). */
export const METRICS: Readonly<Record<string, MetricInfo>> = {
  ...latencyFamily('ttft', 'time to first token'),
  ...latencyFamily('tpot', 'time per output token (excluding the first)'),
  ...latencyFamily('itl', 'inter-token latency'),
  ...latencyFamily('e2el', 'end-to-end request latency'),
  request_throughput: { unit: 'req/s', better: 'higher', description: 'completed requests per second' },
  request_goodput: { unit: 'req/s', better: 'higher', description: 'requests per second meeting every SLO' },
  output_throughput: { unit: 'tok/s', better: 'higher', description: 'output tokens per second' },
  total_token_throughput: { unit: 'tok/s', better: 'higher', description: 'input + output tokens per second' },
  input_throughput: { unit: 'tok/s', better: 'higher', description: 'input tokens per second' },
  /** The v5 `throughput` column: tokens per second (total tokens for the throughput script, output for serving). */
  throughput: { unit: 'tok/s', better: 'higher', description: 'tokens per second' },
  latency_avg: lat('average latency of one batch (latency script)'),
  latency_p10: lat('latency p10 (latency script)'),
  latency_p25: lat('latency p25 (latency script)'),
  latency_p50: lat('latency p50 (latency script)'),
  latency_p75: lat('latency p75 (latency script)'),
  latency_p90: lat('latency p90 (latency script)'),
  latency_p99: lat('latency p99 (latency script)'),
  warmup_time: lat('prefix caching warm-up cost time'),
  generate_time: lat('prefix caching generation cost time'),
  completed: { unit: 'count', better: 'higher', description: 'successful requests' },
  failed: { unit: 'count', better: 'lower', description: 'failed requests' },
  duration: { unit: 's', better: 'none', description: 'benchmark duration' },
  total_input_tokens: { unit: 'count', better: 'none', description: 'input tokens sent' },
  total_output_tokens: { unit: 'count', better: 'none', description: 'output tokens generated' },
  max_concurrent_requests: { unit: 'count', better: 'none', description: 'peak concurrent requests' },
  peak_output_throughput: { unit: 'tok/s', better: 'higher', description: 'peak output tokens per second' },
};

/** A set of measured values keyed by canonical metric name. */
export type MetricSet = Record<string, number>;

/** How a metric is judged: looks up the exact key, then the family (`ttft_p75` → latency). */
export function metricInfo(key: string): MetricInfo | undefined {
  const exact = METRICS[key];
  if (exact) return exact;
  const m = /^(ttft|tpot|itl|e2el|latency)_p\d+(\.\d+)?$/.exec(key);
  if (m) return lat(`${m[1] ?? ''} percentile`);
  return undefined;
}

/** Improvement in percent with "positive = better": latency `(ref - x) / ref`, throughput `(x - ref) / ref`. */
export function improvementPercent(key: string, ref: number, x: number): number | null {
  const info = metricInfo(key);
  if (!info || info.better === 'none' || ref === 0 || !Number.isFinite(ref) || !Number.isFinite(x)) return null;
  return info.better === 'lower' ? ((ref - x) / ref) * 100 : ((x - ref) / ref) * 100;
}

/** TPOT of one request (vLLM's definition): (E2EL - TTFT) / (output tokens - 1), defined only when out > 1. */
export function requestTpotMs(r: { ok: boolean; outputTokens: number; ttftMs: number | null; e2elMs: number | null }): number | null {
  if (!r.ok || r.outputTokens <= 1 || r.ttftMs === null || r.e2elMs === null) return null;
  return (r.e2elMs - r.ttftMs) / (r.outputTokens - 1);
}
