import { latencyKey, type LatencyMetric, type LatencyStatistic, type MetricSet } from '../core/index.js';

/** A metric as the original project named it, mapped to a canonical key and a factor to the canonical unit. */
interface KeyMap {
  key: string;
  factor: number;
}

const LATENCY_FAMILY = /^(?:(ttft|tpot|itl|e2el)_(mean|median|std|p\d+)(?:_ms)?|(mean|median|std|p\d+)_(ttft|tpot|itl|e2el)_ms)$/;

/** Exact legacy names → canonical key (units: ms, tok/s, req/s, s, count). */
const EXACT: Record<string, KeyMap> = {
  latency_avg: { key: 'latency_avg', factor: 1 },
  latency_avg_ms: { key: 'latency_avg', factor: 1 },
  avg_latency_s: { key: 'latency_avg', factor: 1000 },
  p50_latency_s: { key: 'latency_p50', factor: 1000 },
  p90_latency_s: { key: 'latency_p90', factor: 1000 },
  p99_latency_s: { key: 'latency_p99', factor: 1000 },
  throughput_tok_s: { key: 'throughput', factor: 1 },
  output_token_throughput_tok_s: { key: 'output_throughput', factor: 1 },
  output_throughput_tok_s: { key: 'output_throughput', factor: 1 },
  output_throughput: { key: 'output_throughput', factor: 1 },
  total_token_throughput_tok_s: { key: 'total_token_throughput', factor: 1 },
  total_throughput: { key: 'total_token_throughput', factor: 1 },
  input_throughput_tok_s: { key: 'input_throughput', factor: 1 },
  input_throughput: { key: 'input_throughput', factor: 1 },
  request_throughput_req_s: { key: 'request_throughput', factor: 1 },
  throughput_req_s: { key: 'request_throughput', factor: 1 },
  request_throughput: { key: 'request_throughput', factor: 1 },
  warmup_time_s: { key: 'warmup_time', factor: 1000 },
  generate_time_s: { key: 'generate_time', factor: 1000 },
  benchmark_duration_s: { key: 'duration', factor: 1 },
  elapsed_time_s: { key: 'duration', factor: 1 },
  successful_requests: { key: 'completed', factor: 1 },
  total_generated_tokens: { key: 'total_output_tokens', factor: 1 },
  total_input_tokens: { key: 'total_input_tokens', factor: 1 },
};

/** The canonical key of a legacy metric name, or undefined for names that are not metrics. */
export function canonicalKey(name: string): KeyMap | undefined {
  const exact = EXACT[name];
  if (exact) return exact;
  const m = LATENCY_FAMILY.exec(name);
  if (!m) return undefined;
  // The pattern admits only these names (`ttft_p99_ms`, `mean_itl_ms`, ...).
  return { key: latencyKey((m[1] ?? m[4] ?? '') as LatencyMetric, (m[2] ?? m[3] ?? '') as LatencyStatistic), factor: 1 };
}

export interface MappedMetrics {
  metrics: MetricSet;
  /** Unit fixes and dropped values, kept as trial deviations. */
  notes: string[];
}

/**
 * Maps a legacy metric object to canonical keys with units fixed. A bare `throughput` equal to the request
 * throughput of the same object is req/s (the Modal pipeline stored it so): it goes to `request_throughput`,
 * never to the tok/s key.
 */
export function mapMetrics(source: Readonly<Record<string, unknown>>): MappedMetrics {
  const metrics: MetricSet = {};
  const notes: string[] = [];
  for (const [name, value] of Object.entries(source)) {
    if (name === 'throughput') continue;
    const map = canonicalKey(name);
    const n = typeof value === 'number' ? value : null;
    if (!map || n === null || !Number.isFinite(n)) continue;
    metrics[map.key] = n * map.factor;
  }
  const bare = source.throughput;
  if (typeof bare === 'number' && Number.isFinite(bare)) {
    const req = metrics.request_throughput;
    if (req !== undefined && Math.abs(req - bare) < 1e-9) notes.push(`legacy "throughput" ${bare} equals request_throughput: stored as req/s, not tok/s`);
    else metrics.throughput = bare;
  }
  return { metrics, notes };
}
