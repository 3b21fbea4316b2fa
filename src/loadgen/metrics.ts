import { mean, percentiles, std } from './stats.js';
import type { GoodputMetric, LoadgenSample, MetricStats, PercentileMetric, ServeBenchResult } from './types.js';

/** One finished request, in ms relative to the benchmark start. */
export interface RequestRecord {
  index: number;
  ok: boolean;
  promptTokens: number;
  startMs: number;
  queueMs: number;
  ttftMs: number | null;
  itlMs: number[];
  e2elMs: number | null;
  /** Output tokens: usage.completion_tokens, else the tokenizer's count, else the content chunk count. */
  outputTokens: number;
  /** `usage.prompt_tokens` as the server reported it, null when it did not. */
  usagePromptTokens: number | null;
  text: string;
  error: string | null;
}

/** What computeMetrics derives from the requests: these fields of the result, under the same names. */
export type ComputedMetrics = Pick<
  ServeBenchResult,
  | 'completed'
  | 'failed'
  | 'total_input_tokens'
  | 'total_output_tokens'
  | 'request_throughput'
  | 'request_goodput'
  | 'output_throughput'
  | 'total_token_throughput'
  | 'max_output_tokens_per_s'
  | 'max_concurrent_requests'
  | 'allStats'
  | 'stats'
>;

/** TPOT of one request: (E2EL - TTFT) / (out - 1), defined only when out > 1. */
export function tpotMs(r: RequestRecord): number | null {
  if (!r.ok || r.outputTokens <= 1 || r.ttftMs === null || r.e2elMs === null) return null;
  return (r.e2elMs - r.ttftMs) / (r.outputTokens - 1);
}

/** vLLM's calculate_metrics over finished requests; `durationS` is the benchmark duration. */
export function computeMetrics(
  records: readonly RequestRecord[],
  durationS: number,
  opts: {
    percentileMetrics: readonly PercentileMetric[];
    metricPercentiles: readonly number[];
    goodput: Partial<Record<GoodputMetric, number>> | null;
    maxConcurrency: number | null;
    requestRate: number;
  },
): ComputedMetrics {
  const ok = records.filter((r) => r.ok);
  const ttfts = ok.map((r) => r.ttftMs ?? 0);
  const e2els = ok.map((r) => r.e2elMs ?? 0);
  const itls = ok.flatMap((r) => r.itlMs);
  const tpots: number[] = [];
  const allTpots: number[] = [];
  for (const r of ok) {
    const t = tpotMs(r);
    if (t !== null) tpots.push(t);
    allTpots.push(t ?? 0);
  }
  const totalInput = ok.reduce((s, r) => s + r.promptTokens, 0);
  const totalOutput = ok.reduce((s, r) => s + r.outputTokens, 0);

  let good = 0;
  if (opts.goodput) {
    const slo = opts.goodput;
    for (let i = 0; i < ok.length; i++) {
      const meets =
        (slo.ttft === undefined || slo.ttft >= ttfts[i]!) &&
        (slo.tpot === undefined || slo.tpot >= allTpots[i]!) &&
        (slo.e2el === undefined || slo.e2el >= e2els[i]!);
      if (meets) good++;
    }
  }

  const series: Record<PercentileMetric, number[]> = {
    ttft: ttfts,
    tpot: tpots,
    itl: itls,
    e2el: e2els,
    client_queue_time: ok.map((r) => r.queueMs),
    e2el_including_client_queue: ok.map((r) => (r.e2elMs ?? 0) + r.queueMs),
  };
  const allStats: MetricStats = {};
  const stats: MetricStats = {};
  for (const name of Object.keys(series) as PercentileMetric[]) {
    const s = statsOf(name, series[name], opts.metricPercentiles);
    Object.assign(allStats, s);
    if (opts.percentileMetrics.includes(name) && isReported(name, opts.maxConcurrency, opts.requestRate)) Object.assign(stats, s);
  }
  const peak = peakOutput(ok);
  return {
    completed: ok.length,
    failed: records.length - ok.length,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: ok.length / durationS,
    request_goodput: opts.goodput ? good / durationS : null,
    output_throughput: totalOutput / durationS,
    total_token_throughput: (totalInput + totalOutput) / durationS,
    max_output_tokens_per_s: peak.tokensPerS,
    max_concurrent_requests: peak.concurrency,
    allStats,
    stats,
  };
}

/** vLLM reports queue metrics only with --max-concurrency (queue-inclusive E2EL also needs a finite rate). */
function isReported(name: PercentileMetric, maxConcurrency: number | null, requestRate: number): boolean {
  if (name === 'client_queue_time') return maxConcurrency !== null;
  if (name === 'e2el_including_client_queue') return maxConcurrency !== null && requestRate !== Infinity;
  return true;
}

function statsOf(name: string, xs: readonly number[], ps: readonly number[]): MetricStats {
  const out: MetricStats = {
    [`mean_${name}_ms`]: mean(xs),
    [`median_${name}_ms`]: percentiles(xs, [50])[0]!,
    [`std_${name}_ms`]: std(xs),
  };
  const values = percentiles(xs, ps);
  ps.forEach((p, i) => {
    out[`p${String(p)}_${name}_ms`] = values[i]!;
  });
  return out;
}

/** Peak output chunks in any one-second bucket and peak concurrent requests (sweep line), as vLLM. */
function peakOutput(ok: readonly RequestRecord[]): { tokensPerS: number; concurrency: number } {
  if (ok.length === 0) return { tokensPerS: 0, concurrency: 0 };
  const minStart = Math.min(...ok.map((r) => r.startMs));
  const buckets = new Map<number, number>();
  const events: [number, number][] = [];
  for (const r of ok) {
    let t = r.startMs + (r.ttftMs ?? 0);
    const bump = (time: number): void => {
      const b = Math.floor((time - minStart) / 1000);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    };
    bump(t);
    for (const itl of r.itlMs) {
      t += itl;
      bump(t);
    }
    events.push([r.startMs, 1], [r.startMs + (r.e2elMs ?? 0), -1]);
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

/** The store's per-request shape of a record. */
export function toSample(r: RequestRecord): LoadgenSample {
  return {
    index: r.index,
    ok: r.ok,
    startMs: r.startMs,
    ttftMs: r.ok ? r.ttftMs : null,
    e2elMs: r.ok ? r.e2elMs : null,
    itlMs: r.itlMs,
    promptTokens: r.promptTokens,
    outputTokens: r.outputTokens,
    error: r.error,
    queueMs: r.queueMs,
  };
}
