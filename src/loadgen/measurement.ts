/**
 * Where a serving run is measured, in one file: each request's times from its chunk arrivals (`requestTimes`), TPOT
 * (`tpotMs`), every metric's statistics and the run totals (`measure`, vLLM's calculate_metrics), and the canonical
 * MetricSet of core/metrics.ts (`toMetricSet`). vLLM's summary and result JSON are projections in vllm-result.ts.
 */
import { LATENCY_METRICS, latencyKey, percentileStatistic, requestMeetsSlo, requestTpotMs, type MetricSet } from '../core/index.js';
import type { StreamOutcome } from './client.js';
import { mean, percentiles, std } from './numpy-stats.js';
import type { GoodputMetric, LoadgenSample, Measurement, MetricStatistics, PercentileMetric, RequestSample, RunTotals, ServeBenchConfig, ServeBenchResult } from './types.js';

/**
 * A request's times in ms after its send, from the client's arrival times of its content chunks: TTFT at the first
 * chunk, E2EL at the end of the response (`lastT` when vLLM's end is used), ITL the gaps between consecutive chunks.
 */
export function requestTimes(o: StreamOutcome): { ttftMs: number | null; e2elMs: number | null; itlMs: number[] } {
  const first = o.chunkTimes[0];
  const last = o.lastT ?? o.chunkTimes[o.chunkTimes.length - 1];
  const itl: number[] = [];
  for (let k = 1; k < o.chunkTimes.length; k++) itl.push(o.chunkTimes[k]! - o.chunkTimes[k - 1]!);
  return { ttftMs: first === undefined ? null : first - o.startT, e2elMs: last === undefined ? null : last - o.startT, itlMs: o.ok ? itl : [] };
}

/** TPOT of one request: (E2EL - TTFT) / (out - 1), defined only when out > 1 (core requestTpotMs: the report's too). */
export function tpotMs(s: LoadgenSample): number | null {
  return requestTpotMs(s);
}

/**
 * vLLM's calculate_metrics over the successful requests: every metric's statistics (`percentiles` from
 * --metric-percentiles) and the run totals; `durationS` is the benchmark duration.
 */
export function measure(
  samples: readonly LoadgenSample[],
  durationS: number,
  opts: { metricPercentiles: readonly number[]; goodput: Partial<Record<GoodputMetric, number>> | null },
): Measurement {
  const ok = samples.filter((s) => s.ok);
  const ttfts = ok.map((s) => s.ttftMs ?? 0);
  const e2els = ok.map((s) => s.e2elMs ?? 0);
  const tpots: number[] = [];
  for (const s of ok) {
    const t = tpotMs(s);
    if (t !== null) tpots.push(t);
  }
  const series: Record<PercentileMetric, number[]> = {
    ttft: ttfts,
    tpot: tpots,
    itl: ok.flatMap((s) => s.itlMs),
    e2el: e2els,
    client_queue_time: ok.map((s) => s.queueMs),
    e2el_including_client_queue: ok.map((s) => (s.e2elMs ?? 0) + s.queueMs),
  };
  const metrics = Object.fromEntries(
    (Object.keys(series) as PercentileMetric[]).map((name) => [name, statistics(series[name], opts.metricPercentiles)]),
  ) as Record<PercentileMetric, MetricStatistics>;

  const slo = opts.goodput;
  const good = slo ? ok.filter((s) => requestMeetsSlo(s, slo)).length : 0;
  const inputTokens = ok.reduce((sum, s) => sum + s.promptTokens, 0);
  const outputTokens = ok.reduce((sum, s) => sum + s.outputTokens, 0);
  const peak = peakOutput(ok);
  const totals: RunTotals = {
    completed: ok.length,
    failed: samples.length - ok.length,
    durationS,
    inputTokens,
    outputTokens,
    requestThroughput: ok.length / durationS,
    requestGoodput: opts.goodput ? good / durationS : null,
    inputThroughput: inputTokens / durationS,
    outputThroughput: outputTokens / durationS,
    totalTokenThroughput: (inputTokens + outputTokens) / durationS,
    peakOutputThroughput: peak.tokensPerS,
    peakConcurrentRequests: peak.concurrency,
  };
  return { totals, metrics, percentiles: [...opts.metricPercentiles] };
}

/** A run's result: what `cfg` asked, the measurement of `samples` (one per workload request) and the run's own records. */
export function serveBenchResult(
  cfg: ServeBenchConfig,
  samples: LoadgenSample[],
  durationS: number,
  run: Pick<ServeBenchResult, 'startEpochMs' | 'rpsChangeEvents' | 'scheduleLagMs' | 'connectMs' | 'preconnectFailed'>,
): ServeBenchResult {
  return {
    status: 'ok',
    backend: cfg.backend,
    modelId: cfg.model,
    numPrompts: samples.length,
    requestRate: cfg.requestRate,
    burstiness: cfg.burstiness,
    maxConcurrency: cfg.maxConcurrency,
    rampUp: cfg.rampUp,
    percentileMetrics: cfg.percentileMetrics,
    goodput: cfg.goodput,
    startEpochMs: run.startEpochMs,
    measurement: measure(samples, durationS, cfg),
    samples,
    rpsChangeEvents: run.rpsChangeEvents,
    scheduleLagMs: run.scheduleLagMs,
    connectMs: run.connectMs,
    preconnectFailed: run.preconnectFailed,
  };
}

function statistics(xs: readonly number[], ps: readonly number[]): MetricStatistics {
  // One sort for the median and every percentile: the ITL series holds a value per generated token.
  const [median, ...values] = percentiles(xs, [50, ...ps]);
  return { mean: mean(xs), median: median!, std: std(xs), percentiles: new Map(ps.map((p, i) => [p, values[i]!])) };
}

/** Peak output chunks in any one-second bucket and peak concurrent requests (sweep line), as vLLM. */
function peakOutput(ok: readonly LoadgenSample[]): { tokensPerS: number; concurrency: number } {
  if (ok.length === 0) return { tokensPerS: 0, concurrency: 0 };
  const minStart = Math.min(...ok.map((s) => s.startMs));
  const buckets = new Map<number, number>();
  const events: [number, number][] = [];
  for (const s of ok) {
    let t = s.startMs + (s.ttftMs ?? 0);
    const bump = (time: number): void => {
      const b = Math.floor((time - minStart) / 1000);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    };
    // A request that generated nothing (a rerank answer) has no token to count, only its answer's time.
    if (s.outputTokens > 0) bump(t);
    for (const itl of s.itlMs) {
      t += itl;
      bump(t);
    }
    events.push([s.startMs, 1], [s.startMs + (s.e2elMs ?? 0), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peakConc = 0;
  for (const [, d] of events) {
    cur += d;
    if (cur > peakConc) peakConc = cur;
  }
  let peakTok = 0;
  for (const v of buckets.values()) if (v > peakTok) peakTok = v;
  return { tokensPerS: peakTok, concurrency: peakConc };
}

/**
 * The canonical metric keys of core/metrics.ts of a measurement: `ttft_mean`, `itl_p99`, ... (every latency,
 * whatever --percentile-metrics selected) and the run totals. The v5 `throughput` key is left unset: which
 * throughput it means for serving is the dataset's decision.
 */
export function toMetricSet(m: Measurement): MetricSet {
  const t = m.totals;
  const out: MetricSet = {
    completed: t.completed,
    failed: t.failed,
    duration: t.durationS,
    total_input_tokens: t.inputTokens,
    total_output_tokens: t.outputTokens,
    request_throughput: t.requestThroughput,
    output_throughput: t.outputThroughput,
    total_token_throughput: t.totalTokenThroughput,
    input_throughput: t.inputThroughput,
    max_concurrent_requests: t.peakConcurrentRequests,
    peak_output_throughput: t.peakOutputThroughput,
  };
  if (t.requestGoodput !== null) out.request_goodput = t.requestGoodput;
  for (const metric of LATENCY_METRICS) {
    const s = m.metrics[metric];
    out[latencyKey(metric, 'mean')] = s.mean;
    out[latencyKey(metric, 'median')] = s.median;
    out[latencyKey(metric, 'std')] = s.std;
    for (const [p, v] of s.percentiles) out[latencyKey(metric, percentileStatistic(p))] = v;
  }
  return out;
}

/** The per-request sample the store keeps: the load generator's sample without its queue time and text. */
export function requestSample({ queueMs: _queue, text: _text, ...sample }: LoadgenSample): RequestSample {
  return sample;
}
