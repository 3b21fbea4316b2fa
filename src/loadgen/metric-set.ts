import type { MetricSet } from '../core/index.js';
import type { ServeBenchResult } from './types.js';

/**
 * The canonical metric keys of core/metrics.ts from a benchmark result: `ttft_mean`, `itl_p99`, ... (every metric,
 * whatever --percentile-metrics selected) and the run totals. The v5 `throughput` key is left unset: which
 * throughput it means for serving is the dataset's decision.
 */
export function toMetricSet(r: ServeBenchResult): MetricSet {
  const m: MetricSet = {
    completed: r.completed,
    failed: r.failed,
    duration: r.duration,
    total_input_tokens: r.total_input_tokens,
    total_output_tokens: r.total_output_tokens,
    request_throughput: r.request_throughput,
    output_throughput: r.output_throughput,
    total_token_throughput: r.total_token_throughput,
    input_throughput: r.total_input_tokens / r.duration,
    max_concurrent_requests: r.max_concurrent_requests,
    peak_output_throughput: r.max_output_tokens_per_s,
  };
  if (r.request_goodput !== null) m.request_goodput = r.request_goodput;
  for (const metric of ['ttft', 'tpot', 'itl', 'e2el'] as const) {
    for (const [key, value] of Object.entries(r.allStats)) {
      const match = new RegExp(`^(mean|median|std|p[0-9.]+)_${metric}_ms$`).exec(key);
      if (match) m[`${metric}_${match[1]!}`] = value;
    }
  }
  return m;
}
