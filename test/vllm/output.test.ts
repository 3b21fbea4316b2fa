import { describe, expect, it } from 'vitest';
import type { MetricSet } from '../../src/core/index.js';
import { parseBenchmarkOutput, type OutputParse } from '../../src/vllm/index.js';
import { rawRecords, type RawRecord } from './corpus.js';

/** Recorded values are rounded to 2 decimals by the original pipeline. */
const close = (a: number, b: number) => Math.abs(a - b) <= 0.0051 + Math.abs(b) * 1e-9;

type Verdict = 'agree' | 'truncated_head' | 'disagree' | 'nothing_recorded';

/** How one raw output compares with what the original recorded beside it. */
function compare(r: RawRecord, p: OutputParse): Verdict {
  const keys = Object.keys(r.recorded);
  if (keys.length === 0 && Object.keys(r.ambiguous).length === 0) return 'nothing_recorded';
  // The modal runner stored only the first 3,000 characters: the result, printed last, is not in the text.
  if (p.status === 'no_metrics') return r.text.length === 3000 ? 'truncated_head' : 'disagree';
  return keys.every((k) => p.metrics[k] !== undefined && close(p.metrics[k], r.recorded[k] ?? NaN)) ? 'agree' : 'disagree';
}

/** What an unnamed recorded key (e.g. `throughput_tok_s`) really held, judged by which parsed metric equals it. */
function ambiguousMeaning(value: number, metrics: MetricSet): string {
  const same = Object.entries(metrics).filter(([, v]) => Math.abs(v - value) <= 0.0051 + Math.abs(value) * 1e-9).map(([k]) => k);
  return same.length === 0 ? 'not in the text' : same.sort().join('|');
}

describe('parseBenchmarkOutput on the corpus', () => {
  const records = rawRecords();
  const results = records.map((r) => ({ r, p: parseBenchmarkOutput(r.text) }));

  it('reads every raw output of the corpus (a result or an explicit no-metrics reason)', () => {
    expect(records.length).toBe(594);
    for (const { p } of results) {
      expect(['ok', 'no_metrics']).toContain(p.status);
      if (p.status === 'no_metrics') expect(p.reason.length).toBeGreaterThan(10);
    }
    const formats: Record<string, number> = {};
    for (const { p } of results) formats[p.status === 'ok' ? p.format : 'no_metrics'] = (formats[p.status === 'ok' ? p.format : 'no_metrics'] ?? 0) + 1;
    expect(formats).toEqual({ serving: 240, latency: 17, throughput: 7, prefix_caching: 4, no_metrics: 326 });
  });

  it('agrees with every metric the original pipeline recorded beside a raw output', () => {
    const verdicts: Record<string, number> = {};
    for (const { r, p } of results) {
      const v = compare(r, p);
      verdicts[v] = (verdicts[v] ?? 0) + 1;
      if (v === 'disagree') expect.fail(`${r.where}: recorded ${JSON.stringify(r.recorded)}, parsed ${JSON.stringify(p)}`);
    }
    expect(verdicts).toEqual({ agree: 268, truncated_head: 124, nothing_recorded: 202 });
  });

  it('pins what the original stored under keys that do not say their unit (docs/parsers.md lists them)', () => {
    const meanings: Record<string, number> = {};
    for (const { r, p } of results) {
      if (p.status !== 'ok') continue;
      for (const [key, value] of Object.entries(r.ambiguous)) {
        const m = `${key} = ${ambiguousMeaning(value, p.metrics)} (${p.format})`;
        meanings[m] = (meanings[m] ?? 0) + 1;
      }
    }
    expect(meanings).toEqual({
      'throughput_tok_s = request_throughput (throughput)': 3,
      'throughput = request_throughput (throughput)': 3,
      'throughput_tok_s = not in the text (latency)': 6,
      'throughput = not in the text (latency)': 2,
      'throughput_tok_s = output_throughput (prefix_caching)': 1,
      'throughput_tok_s = output_throughput (serving)': 1,
      'throughput_tok_s = throughput|total_token_throughput (throughput)': 1,
    });
  });
});

describe('parseBenchmarkOutput formats', () => {
  it('reads the serving summary with every optional section and both label spellings', () => {
    const text = [
      '\x1b[32m============ Serving Benchmark Result ============\x1b[0m',
      'Successful requests:                     100',
      'Maximum request concurrency:             None',
      'Benchmark duration (s):                  12.50',
      'Total input tokens:                      102400',
      'Total generated tokens:                  12800',
      'Request throughput (req/s):              8.00',
      'Request goodput (req/s):                 7.50',
      'Output token throughput (tok/s):         1024.00',
      'Peak output token throughput (tok/s):    1500.00',
      'Peak concurrent requests:                100.00',
      'Total token throughput (tok/s):          9216.00',
      '---------------Time to First Token----------------',
      'Mean TTFT (ms):                          100.50',
      'Median TTFT (ms):                        90.25',
      'P99 TTFT (ms):                           300.00',
      'P99.9 TTFT (ms):                         310.00',
      '-----Time per Output Token (excl. 1st token)------',
      'Mean TPOT (ms):                          10.00',
      'Std ITL (ms):                            2.00',
      'Mean E2EL (ms):                          1500.00',
      '==================================================',
    ].join('\n');
    const r = parseBenchmarkOutput(text);
    expect(r).toMatchObject({ status: 'ok', format: 'serving', line: 1 });
    if (r.status !== 'ok') return;
    expect(r.metrics).toEqual({
      completed: 100, duration: 12.5, total_input_tokens: 102400, total_output_tokens: 12800, request_throughput: 8, request_goodput: 7.5,
      output_throughput: 1024, peak_output_throughput: 1500, max_concurrent_requests: 100, total_token_throughput: 9216,
      ttft_mean: 100.5, ttft_median: 90.25, ttft_p99: 300, 'ttft_p99.9': 310, tpot_mean: 10, itl_std: 2, e2el_mean: 1500,
    });
    expect(r.units).toMatchObject({ ttft_mean: 'ms', request_throughput: 'req/s', output_throughput: 'tok/s', total_token_throughput: 'tok/s' });
  });

  it('reads benchmark_latency in milliseconds, after a progress bar on the same line', () => {
    const r = parseBenchmarkOutput('Profiling iterations: 100%|##| 30/30 [00:05<00:00]Avg latency: 0.5 seconds\n50% percentile latency: 0.25 seconds\n99% percentile latency: 1.5 seconds\n');
    expect(r).toMatchObject({ status: 'ok', format: 'latency', metrics: { latency_avg: 500, latency_p50: 250, latency_p99: 1500 } });
  });

  it('reads old and new benchmark_throughput lines', () => {
    expect(parseBenchmarkOutput('Throughput: 7.12 requests/s, 7125.00 tokens/s')).toMatchObject({
      status: 'ok', format: 'throughput', metrics: { request_throughput: 7.12, throughput: 7125, total_token_throughput: 7125 },
    });
    const r = parseBenchmarkOutput('Throughput: 9.2 requests/s, 9118.95 total tokens/s, 911.90 output tokens/s\nTotal num prompt tokens:  102400\nTotal num output tokens:  10240');
    expect(r).toMatchObject({ status: 'ok', metrics: { throughput: 9118.95, output_throughput: 911.9, total_input_tokens: 102400, total_output_tokens: 10240 } });
  });

  it('reads benchmark_prefix_caching phases, speeds as tok/s, times as ms', () => {
    const r = parseBenchmarkOutput('------warm up------\ncost time 5.5\n------start generating------\nProcessed prompts: 100%| est. speed input: 18290.60 toks/s, output: 5671.50 toks/s]\ncost time 3.25\n');
    expect(r).toMatchObject({ status: 'ok', format: 'prefix_caching', metrics: { warmup_time: 5500, generate_time: 3250, input_throughput: 18290.6, output_throughput: 5671.5 } });
  });

  it('reads saved JSON results of the three scripts', () => {
    expect(parseBenchmarkOutput(JSON.stringify({ completed: 10, request_throughput: 2, mean_ttft_ms: 12.5, p99_itl_ms: 40, output_throughput: 100 }))).toMatchObject({
      status: 'ok', format: 'serving_json', metrics: { completed: 10, request_throughput: 2, ttft_mean: 12.5, itl_p99: 40, output_throughput: 100 },
    });
    expect(parseBenchmarkOutput(JSON.stringify({ avg_latency: 0.5, latencies: [0.5], percentiles: { 50: 0.4, 99: 0.9 } }))).toMatchObject({
      format: 'latency_json', metrics: { latency_avg: 500, latency_p50: 400, latency_p99: 900 },
    });
    expect(parseBenchmarkOutput(JSON.stringify({ elapsed_time: 10, num_requests: 100, requests_per_second: 10, tokens_per_second: 5000 }))).toMatchObject({
      format: 'throughput_json', metrics: { throughput: 5000, request_throughput: 10 },
    });
  });

  it('keeps only the last summary when a log holds several runs', () => {
    const one = (ttft: number) => `============ Serving Benchmark Result ============\nRequest throughput (req/s): 1.0\nMean TTFT (ms): ${ttft}\n`;
    const r = parseBenchmarkOutput(`${one(10)}server log line\n${one(20)}`);
    expect(r).toMatchObject({ status: 'ok', metrics: { ttft_mean: 20 }, line: 5 });
  });
});

describe('parseBenchmarkOutput on bad input', () => {
  it('says why there are no metrics: empty, binary, truncated, unrelated', () => {
    expect(parseBenchmarkOutput('')).toEqual({ status: 'no_metrics', reason: 'the output is empty' });
    const binary = String.fromCharCode(...Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256));
    expect(parseBenchmarkOutput(binary)).toMatchObject({ status: 'no_metrics', reason: expect.stringMatching(/binary/) as unknown });
    expect(parseBenchmarkOutput('============ Serving Benchmark Result ============\n')).toMatchObject({ reason: expect.stringMatching(/truncated/) as unknown });
    expect(parseBenchmarkOutput('INFO server started\n{"broken": ')).toMatchObject({ status: 'no_metrics' });
  });

  it('reads a 100 MB log in one linear pass', () => {
    const line = 'INFO 01-12 06:20:58 metrics.py:345] Avg prompt throughput: 1234.5 tokens/s, Running: 3 reqs, Pending: 0 reqs\n';
    const big = `${line.repeat(Math.ceil(100e6 / line.length))}Avg latency: 1.5 seconds\n`;
    expect(big.length).toBeGreaterThan(100e6);
    expect(parseBenchmarkOutput(big)).toMatchObject({ status: 'ok', metrics: { latency_avg: 1500 } });
    expect(parseBenchmarkOutput('x'.repeat(20e6))).toMatchObject({ status: 'no_metrics' });
  });
});
