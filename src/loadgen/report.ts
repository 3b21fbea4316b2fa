import path from 'node:path';
import { mean } from './stats.js';
import type { PercentileMetric, ServeBenchResult } from './types.js';

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

/** The printed summary in vLLM's `vllm bench serve` layout, so existing parsers read it unchanged. */
export function formatServeSummary(r: ServeBenchResult): string {
  const lines = [centre(' Serving Benchmark Result ', 50, '=')];
  lines.push(row('Successful requests:', r.completed, false));
  lines.push(row('Failed requests:', r.failed, false));
  if (r.maxConcurrency !== null) lines.push(row('Maximum request concurrency:', r.maxConcurrency, false));
  if (r.requestRate !== Infinity) lines.push(row('Request rate configured (RPS):', r.requestRate, true));
  lines.push(row('Benchmark duration (s):', r.duration, true));
  lines.push(row('Total input tokens:', r.total_input_tokens, false));
  lines.push(row('Total generated tokens:', r.total_output_tokens, false));
  lines.push(row('Request throughput (req/s):', r.request_throughput, true));
  if (r.request_goodput !== null) lines.push(row('Request goodput (req/s):', r.request_goodput, true));
  lines.push(row('Output token throughput (tok/s):', r.output_throughput, true));
  lines.push(row('Peak output token throughput (tok/s):', r.max_output_tokens_per_s, true));
  lines.push(row('Peak concurrent requests:', r.max_concurrent_requests, true));
  lines.push(row('Total token throughput (tok/s):', r.total_token_throughput, true));
  for (const metric of Object.keys(SECTIONS) as PercentileMetric[]) {
    const mean = r.stats[`mean_${metric}_ms`];
    if (mean === undefined) continue;
    const [name, header] = SECTIONS[metric];
    lines.push(centre(header, 50, '-'));
    lines.push(row(`Mean ${name} (ms):`, mean, true));
    lines.push(row(`Median ${name} (ms):`, r.stats[`median_${metric}_ms`] ?? 0, true));
    for (const p of r.metricPercentiles) lines.push(row(`P${String(p)} ${name} (ms):`, r.stats[`p${String(p)}_${metric}_ms`] ?? 0, true));
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
  Object.assign(out, {
    duration: r.duration,
    completed: r.completed,
    failed: r.failed,
    total_input_tokens: r.total_input_tokens,
    total_output_tokens: r.total_output_tokens,
    request_throughput: r.request_throughput,
    request_goodput: r.request_goodput,
    output_throughput: r.output_throughput,
    total_token_throughput: r.total_token_throughput,
  });
  if (info.detailed) {
    Object.assign(out, { input_lens: r.input_lens, output_lens: r.output_lens, ttfts: r.ttfts, itls: r.itls });
  }
  out.latencies = r.latencies;
  if (info.detailed) out.start_times = r.start_times;
  out.queue_times = r.queue_times;
  if (info.detailed) Object.assign(out, { generated_texts: r.generated_texts, errors: r.errors });
  Object.assign(out, { max_output_tokens_per_s: r.max_output_tokens_per_s, max_concurrent_requests: r.max_concurrent_requests, rtfx: 0 });
  if (r.rps_change_events) out.rps_change_events = r.rps_change_events;
  Object.assign(out, r.stats);
  // isobench's: the connections opened before the clock started (their connect time is in no request's TTFT).
  Object.assign(out, { preconnected: r.connectMs.length, mean_connect_ms: mean(r.connectMs), max_connect_ms: r.connectMs.length > 0 ? Math.max(...r.connectMs) : 0 });
  return out;
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
