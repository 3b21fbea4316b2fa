/**
 * vLLM's `vllm bench serve` outputs as projections of a result: the printed summary, the result JSON (`mean_ttft_ms`,
 * `p99_itl_ms`, ... under vLLM's keys and key order) and its file name. Nothing is measured here and nothing reads
 * these back: the values are the result's Measurement (loadgen/measurement.ts).
 */
import path from 'node:path';
import { PERCENTILE_METRICS } from '../core/index.js';
import { mean } from './numpy-stats.js';
import type { LoadgenSample, Measurement, PercentileMetric, ServeBenchResult } from './types.js';

const SECTIONS: Record<PercentileMetric, [name: string, header: string]> = {
  ttft: ['TTFT', 'Time to First Token'],
  tpot: ['TPOT', 'Time per Output Token (excl. 1st token)'],
  itl: ['ITL', 'Inter-token Latency'],
  e2el: ['E2EL', 'End-to-end Latency'],
  client_queue_time: ['Client Queue Time', 'Client-side Queueing'],
  e2el_including_client_queue: ['E2EL incl. Client Queue', 'Queue-inclusive End-to-end Latency'],
};

/** Python's `'{s:{c}^{n}}'` centring (extra fill goes right). */
function centre(s: string, width: number, fill: string): string {
  const pad = Math.max(0, width - s.length);
  const left = Math.floor(pad / 2);
  return fill.repeat(left) + s + fill.repeat(pad - left);
}

/** Python's `'{:<40} {:<10}'` row; numbers given as `fixed` use two decimals like `{:<10.2f}`. */
function row(label: string, value: number, fixed: boolean): string {
  const v = fixed ? value.toFixed(2) : String(value);
  return `${label.padEnd(40)} ${v.padEnd(10)}`;
}

/**
 * The metrics vLLM shows in its summary and result JSON: those of --percentile-metrics, the client queue time only
 * with --max-concurrency and the queue-inclusive E2EL only with it and a finite rate. In PERCENTILE_METRICS order.
 */
export function shownMetrics(r: Pick<ServeBenchResult, 'percentileMetrics' | 'maxConcurrency' | 'requestRate'>): PercentileMetric[] {
  return PERCENTILE_METRICS.filter((name) => {
    if (!r.percentileMetrics.includes(name)) return false;
    if (name === 'client_queue_time') return r.maxConcurrency !== null;
    if (name === 'e2el_including_client_queue') return r.maxConcurrency !== null && r.requestRate !== Infinity;
    return true;
  });
}

/** vLLM's statistics fields of `metrics`: `mean_<m>_ms`, `median_<m>_ms`, `std_<m>_ms`, `p<P>_<m>_ms` per metric, in that order. */
export function vllmStatisticFields(m: Measurement, metrics: readonly PercentileMetric[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of metrics) {
    const s = m.metrics[name];
    out[`mean_${name}_ms`] = s.mean;
    out[`median_${name}_ms`] = s.median;
    out[`std_${name}_ms`] = s.std;
    for (const [p, v] of s.percentiles) out[`p${String(p)}_${name}_ms`] = v;
  }
  return out;
}

/** The printed summary in vLLM's `vllm bench serve` layout, so existing parsers read it unchanged. */
export function formatServeSummary(r: ServeBenchResult): string {
  const t = r.measurement.totals;
  const lines = [centre(' Serving Benchmark Result ', 50, '=')];
  lines.push(row('Successful requests:', t.completed, false));
  lines.push(row('Failed requests:', t.failed, false));
  if (r.maxConcurrency !== null) lines.push(row('Maximum request concurrency:', r.maxConcurrency, false));
  if (r.requestRate !== Infinity) lines.push(row('Request rate configured (RPS):', r.requestRate, true));
  lines.push(row('Benchmark duration (s):', t.durationS, true));
  lines.push(row('Total input tokens:', t.inputTokens, false));
  lines.push(row('Total generated tokens:', t.outputTokens, false));
  lines.push(row('Request throughput (req/s):', t.requestThroughput, true));
  if (t.requestGoodput !== null) lines.push(row('Request goodput (req/s):', t.requestGoodput, true));
  lines.push(row('Output token throughput (tok/s):', t.outputThroughput, true));
  lines.push(row('Peak output token throughput (tok/s):', t.peakOutputThroughput, true));
  lines.push(row('Peak concurrent requests:', t.peakConcurrentRequests, true));
  lines.push(row('Total token throughput (tok/s):', t.totalTokenThroughput, true));
  for (const metric of shownMetrics(r)) {
    const s = r.measurement.metrics[metric];
    const [name, header] = SECTIONS[metric];
    lines.push(centre(header, 50, '-'));
    lines.push(row(`Mean ${name} (ms):`, s.mean, true));
    lines.push(row(`Median ${name} (ms):`, s.median, true));
    for (const p of r.measurement.percentiles) lines.push(row(`P${String(p)} ${name} (ms):`, s.percentiles.get(p) ?? 0, true));
  }
  lines.push('='.repeat(50));
  return `${lines.join('\n')}\n`;
}

/** What goes into the saved result file besides the measurements. */
export interface ResultFileInfo {
  label: string | null;
  tokenizerId: string | null;
  /** `--metadata KEY=VALUE` pairs, written as top-level keys. */
  metadata: Readonly<Record<string, string>>;
  /** `--save-detailed`: keep the per-request arrays. */
  detailed: boolean;
  /** vLLM's `%Y%m%d-%H%M%S` stamp. */
  date: string;
}

/** vLLM's `datetime.now().strftime("%Y%m%d-%H%M%S")`. */
export function resultDate(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** The result JSON with vLLM's keys and key order (`--save-result`). */
export function buildResultJson(r: ServeBenchResult, info: ResultFileInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {
    date: info.date,
    endpoint_type: r.backend,
    backend: r.backend,
    label: info.label,
    model_id: r.modelId,
    tokenizer_id: info.tokenizerId,
    num_prompts: r.numPrompts,
  };
  for (const [k, v] of Object.entries(info.metadata)) out[k] = v;
  out.request_rate = r.requestRate === Infinity ? 'inf' : r.requestRate;
  out.burstiness = r.burstiness;
  out.max_concurrency = r.maxConcurrency;
  if (r.rampUp) {
    out.ramp_up_strategy = r.rampUp.strategy;
    out.ramp_up_start_rps = r.rampUp.startRps;
    out.ramp_up_end_rps = r.rampUp.endRps;
  }
  const t = r.measurement.totals;
  Object.assign(out, {
    duration: t.durationS,
    completed: t.completed,
    failed: t.failed,
    total_input_tokens: t.inputTokens,
    total_output_tokens: t.outputTokens,
    request_throughput: t.requestThroughput,
    request_goodput: t.requestGoodput,
    output_throughput: t.outputThroughput,
    total_token_throughput: t.totalTokenThroughput,
  });
  const a = vllmRequestArrays(r.samples);
  if (info.detailed) Object.assign(out, { input_lens: a.input_lens, output_lens: a.output_lens, ttfts: a.ttfts, itls: a.itls });
  out.latencies = a.latencies;
  if (info.detailed) out.start_times = a.start_times;
  out.queue_times = a.queue_times;
  if (info.detailed) Object.assign(out, { generated_texts: a.generated_texts, errors: a.errors });
  Object.assign(out, { max_output_tokens_per_s: t.peakOutputThroughput, max_concurrent_requests: t.peakConcurrentRequests, rtfx: 0 });
  if (r.rpsChangeEvents) out.rps_change_events = r.rpsChangeEvents;
  Object.assign(out, vllmStatisticFields(r.measurement, shownMetrics(r)));
  // isobench's: the connections opened before the clock started (their connect time is in no request's TTFT).
  Object.assign(out, { preconnected: r.connectMs.length, mean_connect_ms: mean(r.connectMs), max_connect_ms: r.connectMs.length > 0 ? Math.max(...r.connectMs) : 0 });
  return out;
}

/** vLLM's per-request arrays of the result JSON: seconds where vLLM has seconds, 0 (or '') for a failed request. */
function vllmRequestArrays(samples: readonly LoadgenSample[]) {
  return {
    input_lens: samples.map((s) => s.promptTokens),
    output_lens: samples.map((s) => (s.ok ? s.outputTokens : 0)),
    ttfts: samples.map((s) => (s.ok ? (s.ttftMs ?? 0) / 1000 : 0)),
    itls: samples.map((s) => s.itlMs.map((x) => x / 1000)),
    latencies: samples.map((s) => (s.ok ? (s.e2elMs ?? 0) / 1000 : 0)),
    start_times: samples.map((s) => s.startMs / 1000),
    queue_times: samples.map((s) => s.queueMs / 1000),
    generated_texts: samples.map((s) => s.text),
    errors: samples.map((s) => s.error ?? ''),
  };
}

/** vLLM's default file name `{label}-{rate}qps[-concurrency{n}]-{model}-{date}.json`, or --result-filename, under --result-dir. */
export function resultFilePath(r: ServeBenchResult, opts: { label: string | null; resultFilename: string | null; resultDir: string | null; date: string }): string {
  const baseModel = r.modelId.split('/').pop() ?? r.modelId;
  const conc = r.maxConcurrency !== null ? `-concurrency${r.maxConcurrency}` : '';
  const label = opts.label ?? r.backend;
  const rate = r.requestRate === Infinity ? 'inf' : Number.isInteger(r.requestRate) ? `${r.requestRate}.0` : String(r.requestRate);
  const name =
    opts.resultFilename ??
    (r.rampUp
      ? `${label}-ramp-up-${r.rampUp.strategy}-${r.rampUp.startRps}qps-${r.rampUp.endRps}qps${conc}-${baseModel}-${opts.date}.json`
      : `${label}-${rate}qps${conc}-${baseModel}-${opts.date}.json`);
  return opts.resultDir ? path.join(opts.resultDir, name) : name;
}
