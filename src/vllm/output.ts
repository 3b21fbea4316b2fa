import { latencyKey, metricInfo, type LatencyMetric, type LatencyStatistic, type MetricSet, type MetricUnit } from '../core/index.js';
import { forEachLine, looksBinary } from './lines.js';

/** Which printed result a text held. */
export type OutputFormat = 'serving' | 'latency' | 'throughput' | 'prefix_caching' | 'serving_json' | 'latency_json' | 'throughput_json';

export type OutputParse =
  | {
      status: 'ok';
      format: OutputFormat;
      metrics: MetricSet;
      /** The unit of every metric in `metrics` (from the canonical table of src/core/metrics.ts). */
      units: Record<string, MetricUnit>;
      /** 1-based line where the recognized result starts. */
      line: number;
      /** Doubts worth showing (e.g. a summary cut off by truncation). */
      notes: string[];
    }
  | { status: 'no_metrics'; reason: string };

/** ANSI colour and cursor sequences (CSI) and OSC titles that terminals and tqdm emit. */
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;
const NUM = String.raw`(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)`;

/** Serving summary labels (all spellings seen 2024-2026) → canonical metric key. */
const SERVING_LABELS: Record<string, string> = {
  'Successful requests': 'completed',
  'Failed requests': 'failed',
  'Benchmark duration (s)': 'duration',
  'Total input tokens': 'total_input_tokens',
  'Total generated tokens': 'total_output_tokens',
  'Request throughput (req/s)': 'request_throughput',
  'Request goodput (req/s)': 'request_goodput',
  'Output token throughput (tok/s)': 'output_throughput',
  'Peak output token throughput (tok/s)': 'peak_output_throughput',
  'Peak concurrent requests': 'max_concurrent_requests',
  'Total Token throughput (tok/s)': 'total_token_throughput',
  'Total token throughput (tok/s)': 'total_token_throughput',
  'Input token throughput (tok/s)': 'input_throughput',
};
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SERVING_LABEL_RE = new RegExp(`(${Object.keys(SERVING_LABELS).map(escape).join('|')}):[ \\t]*${NUM}`);
/** Substrings every serving label line contains (one of). */
const SERVING_LABEL_HINTS = ['requests:', '(s):', '/s):', 'tokens:'];
const SERVING_STAT_RE = new RegExp(String.raw`(Mean|Median|Std|P\d+(?:\.\d+)?) (TTFT|TPOT|ITL|E2EL) \(ms\):[ \t]*${NUM}`);
const SERVING_HEADER = 'Serving Benchmark Result';
const LATENCY_AVG_RE = new RegExp(String.raw`Avg latency: ${NUM} seconds`);
const LATENCY_PCT_RE = new RegExp(String.raw`(\d+)% percentile latency: ${NUM} seconds`);
// "Throughput: 7.12 requests/s, 7125.0 tokens/s" (old) or "..., 9118.9 total tokens/s, 911.9 output tokens/s" (new).
const THROUGHPUT_RE = new RegExp(String.raw`(?:^|[^A-Za-z])Throughput: ${NUM} requests/s, ${NUM} (?:total )?tokens/s(?:, ${NUM} output tokens/s)?`);
const TOTAL_PROMPT_TOKENS_RE = /Total num prompt tokens:\s*(\d+)/;
const TOTAL_OUTPUT_TOKENS_RE = /Total num output tokens:\s*(\d+)/;
const COST_TIME_RE = new RegExp(String.raw`cost time:? ${NUM}`);
const EST_SPEED_RE = new RegExp(String.raw`est\. speed input: ${NUM} toks/s, output: ${NUM} toks/s`);

/** The fields of vLLM's saved serving JSON that are not `<stat>_<metric>_ms`. */
const SERVING_JSON_KEYS: Record<string, string> = {
  completed: 'completed',
  failed: 'failed',
  duration: 'duration',
  total_input_tokens: 'total_input_tokens',
  total_output_tokens: 'total_output_tokens',
  request_throughput: 'request_throughput',
  request_goodput: 'request_goodput',
  'request_goodput:': 'request_goodput',
  output_throughput: 'output_throughput',
  total_token_throughput: 'total_token_throughput',
  max_output_tokens_per_s: 'peak_output_throughput',
  max_concurrent_requests: 'max_concurrent_requests',
};

function toNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text === 'nan' ? NaN : text === 'inf' ? Infinity : text);
  return Number.isFinite(n) ? n : undefined;
}

/** State gathered by the line scanner; each script's lines fill their own part. */
interface Scan {
  serving: MetricSet;
  servingLine: number;
  servingHeaderSeen: boolean;
  latency: MetricSet;
  latencyLine: number;
  throughput: MetricSet;
  throughputLine: number;
  prefixCosts: { phase: PrefixPhase; ms: number; speed: Speed | undefined }[];
  prefixSpeed: Speed | undefined;
  prefixLine: number;
  prefixPhase: PrefixPhase;
}

type PrefixPhase = 'none' | 'warmup' | 'generate';
/** The last tqdm "est. speed input: X toks/s, output: Y toks/s" of LLM.generate before a "cost time" line. */
interface Speed {
  input: number | undefined;
  output: number | undefined;
}

/**
 * Extracts the metrics of a vLLM benchmark script's output (text or saved JSON), in canonical units.
 * Linear in the input: lines are scanned once with anchored, backtracking-free patterns; never throws.
 */
export function parseBenchmarkOutput(text: string): OutputParse {
  if (text.trim() === '') return { status: 'no_metrics', reason: 'the output is empty' };
  const json = parseJsonResult(text);
  if (json) return json;
  const scan: Scan = {
    serving: {}, servingLine: 0, servingHeaderSeen: false,
    latency: {}, latencyLine: 0,
    throughput: {}, throughputLine: 0,
    prefixCosts: [], prefixSpeed: undefined, prefixLine: 0, prefixPhase: 'none',
  };
  forEachLine(text, (line, lineNo) => {
    // A pathological single line (megabytes without a newline) is cut: metric lines are short.
    const raw = line.length > 65536 ? line.slice(-65536) : line;
    scanLine(raw.includes('\x1b') ? raw.replace(ANSI, '') : raw, lineNo, scan);
  });
  return pickResult(scan, text);
}

function scanLine(line: string, lineNo: number, s: Scan): void {
  if (line.includes(SERVING_HEADER)) {
    // A new summary starts: values from an earlier (warm-up or previous) run must not mix with it.
    s.serving = {};
    s.servingLine = lineNo;
    s.servingHeaderSeen = true;
    return;
  }
  if (line.includes(':')) {
    // Cheap substring checks first: a 100 MB server log must not run every pattern on every line.
    const stat = line.includes('(ms):') ? SERVING_STAT_RE.exec(line) : null;
    if (stat) {
      // The pattern admits only these names: `Mean TTFT` is ttft_mean, `P99.9 ITL` itl_p99.9.
      const key = latencyKey((stat[2] ?? '').toLowerCase() as LatencyMetric, (stat[1] ?? '').toLowerCase() as LatencyStatistic);
      setMetric(s.serving, key, toNumber(stat[3]));
      if (!s.servingLine) s.servingLine = lineNo;
      return;
    }
    const label = SERVING_LABEL_HINTS.some((h) => line.includes(h)) ? SERVING_LABEL_RE.exec(line) : null;
    if (label) {
      const key = SERVING_LABELS[label[1] ?? ''];
      if (key) setMetric(s.serving, key, toNumber(label[2]));
      if (!s.servingLine) s.servingLine = lineNo;
      return;
    }
    if (line.includes('latency:') && scanLatency(line, lineNo, s)) return;
    if ((line.includes('Throughput:') || line.includes('Total num')) && scanThroughput(line, lineNo, s)) return;
  }
  if (line.includes('------') || line.includes('est. speed') || line.includes('cost time')) scanPrefix(line, lineNo, s);
}

function scanLatency(line: string, lineNo: number, s: Scan): boolean {
  const avg = LATENCY_AVG_RE.exec(line);
  if (avg) {
    const v = toNumber(avg[1]);
    setMetric(s.latency, 'latency_avg', v === undefined ? undefined : v * 1000);
    s.latencyLine ||= lineNo;
    return true;
  }
  const pct = LATENCY_PCT_RE.exec(line);
  if (pct) {
    const v = toNumber(pct[2]);
    setMetric(s.latency, `latency_p${pct[1] ?? ''}`, v === undefined ? undefined : v * 1000);
    s.latencyLine ||= lineNo;
    return true;
  }
  return false;
}

function scanThroughput(line: string, lineNo: number, s: Scan): boolean {
  const t = THROUGHPUT_RE.exec(line);
  if (t) {
    setMetric(s.throughput, 'request_throughput', toNumber(t[1]));
    setMetric(s.throughput, 'throughput', toNumber(t[2]));
    setMetric(s.throughput, 'total_token_throughput', toNumber(t[2]));
    setMetric(s.throughput, 'output_throughput', toNumber(t[3]));
    s.throughputLine = lineNo;
    return true;
  }
  const p = TOTAL_PROMPT_TOKENS_RE.exec(line);
  if (p) {
    setMetric(s.throughput, 'total_input_tokens', toNumber(p[1]));
    return true;
  }
  const o = TOTAL_OUTPUT_TOKENS_RE.exec(line);
  if (o) {
    setMetric(s.throughput, 'total_output_tokens', toNumber(o[1]));
    return true;
  }
  return false;
}

function scanPrefix(line: string, lineNo: number, s: Scan): void {
  if (line.includes('------warm up------')) {
    s.prefixPhase = 'warmup';
    s.prefixLine ||= lineNo;
    return;
  }
  if (line.includes('------start generating------')) {
    s.prefixPhase = 'generate';
    s.prefixLine ||= lineNo;
    return;
  }
  if (line.includes('est. speed')) {
    const speed = EST_SPEED_RE.exec(line);
    if (speed) s.prefixSpeed = { input: toNumber(speed[1]), output: toNumber(speed[2]) };
    return;
  }
  if (!line.includes('cost time')) return;
  const seconds = toNumber(COST_TIME_RE.exec(line)?.[1]);
  if (seconds === undefined) return;
  s.prefixCosts.push({ phase: s.prefixPhase, ms: seconds * 1000, speed: s.prefixSpeed });
  s.prefixSpeed = undefined;
  s.prefixLine ||= lineNo;
}

/**
 * The script prints "cost time" after the warm-up and after the generation, in that order. When a truncated log
 * lost the phase markers, the last cost time is the generation's (it is printed last).
 */
function prefixMetrics(s: Scan): MetricSet {
  const costs = s.prefixCosts;
  const generate = costs.filter((c) => c.phase === 'generate').pop() ?? (costs.some((c) => c.phase !== 'none') ? undefined : costs[costs.length - 1]);
  const warmup = costs.filter((c) => c !== generate && c.phase !== 'generate').pop();
  const out: MetricSet = {};
  setMetric(out, 'warmup_time', warmup?.ms);
  setMetric(out, 'generate_time', generate?.ms);
  setMetric(out, 'input_throughput', generate?.speed?.input);
  setMetric(out, 'output_throughput', generate?.speed?.output);
  return out;
}

function setMetric(set: MetricSet, key: string, value: number | undefined): void {
  if (value !== undefined) set[key] = value;
}

function pickResult(s: Scan, text: string): OutputParse {
  const servingKeys = Object.keys(s.serving).filter((k) => k !== 'completed' && k !== 'failed' && k !== 'total_input_tokens' && k !== 'total_output_tokens' && k !== 'duration');
  if (servingKeys.length > 0) {
    const notes: string[] = [];
    if (!s.servingHeaderSeen) notes.push('the summary header was not found (output truncated at the start?)');
    if (s.serving.ttft_mean === undefined || s.serving.request_throughput === undefined) notes.push('the serving summary is incomplete');
    return ok('serving', s.serving, s.servingLine, notes);
  }
  if (Object.keys(s.latency).length > 0) return ok('latency', s.latency, s.latencyLine, []);
  if (s.throughput.throughput !== undefined) return ok('throughput', s.throughput, s.throughputLine, []);
  if (s.prefixCosts.length > 0) {
    const prefix = prefixMetrics(s);
    const notes = prefix.generate_time === undefined ? ['only the warm-up finished: no generation time'] : [];
    if (s.prefixPhase === 'none') notes.push('the warm-up/generation markers were cut off: the last "cost time" is taken as the generation');
    return ok('prefix_caching', prefix, s.prefixLine, notes);
  }
  return { status: 'no_metrics', reason: noMetricsReason(s, text) };
}

function noMetricsReason(s: Scan, text: string): string {
  if (s.servingHeaderSeen) return 'a serving summary header was printed but no metric line followed (output truncated?)';
  if (s.prefixPhase !== 'none') return 'the prefix caching benchmark started but printed no "cost time" line';
  if (looksBinary(text)) return 'the input looks binary, not benchmark text';
  return 'no line of a known vLLM benchmark result (serving summary, "Avg latency:", "Throughput:", "cost time") was found';
}

function ok(format: OutputFormat, metrics: MetricSet, line: number, notes: string[]): OutputParse {
  const units: Record<string, MetricUnit> = {};
  for (const key of Object.keys(metrics)) units[key] = metricInfo(key)?.unit ?? 'count';
  return { status: 'ok', format, metrics, units, line: Math.max(line, 1), notes };
}

/** vLLM's saved results: serving `--save-result` JSON, latency/throughput `--output-json`. */
function parseJsonResult(text: string): OutputParse | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const obj = data as Record<string, unknown>;
  const num = (k: string) => (typeof obj[k] === 'number' && Number.isFinite(obj[k]) ? obj[k] : undefined);
  if (num('avg_latency') !== undefined) {
    const metrics: MetricSet = { latency_avg: (num('avg_latency') ?? 0) * 1000 };
    const pct = obj.percentiles;
    if (typeof pct === 'object' && pct !== null) {
      for (const [p, v] of Object.entries(pct)) if (typeof v === 'number') metrics[`latency_p${p}`] = v * 1000;
    }
    return ok('latency_json', metrics, 1, []);
  }
  if (num('tokens_per_second') !== undefined) {
    const metrics: MetricSet = {};
    setMetric(metrics, 'throughput', num('tokens_per_second'));
    setMetric(metrics, 'total_token_throughput', num('tokens_per_second'));
    setMetric(metrics, 'request_throughput', num('requests_per_second'));
    return ok('throughput_json', metrics, 1, []);
  }
  const metrics: MetricSet = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const stat = /^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$/.exec(k);
    if (stat) metrics[latencyKey(stat[2] as LatencyMetric, stat[1] as LatencyStatistic)] = v;
    else if (SERVING_JSON_KEYS[k]) metrics[SERVING_JSON_KEYS[k]] = v;
  }
  if (Object.keys(metrics).length === 0) return undefined;
  return ok('serving_json', metrics, 1, []);
}
