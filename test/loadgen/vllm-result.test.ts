import { describe, expect, it } from 'vitest';
import { parseBenchmarkOutput } from '../../src/vllm/index.js';
import { buildResultJson, defaultServeBenchConfig, formatServeSummary, resultFilePath, serveBenchResult, sweepRow, toMetricSet, type LoadgenSample, type ServeBenchConfig, type ServeBenchResult } from '../../src/loadgen/index.js';

// vLLM's summary, result JSON and the canonical MetricSet are projections of one Measurement. The expected values
// were produced by the code before the Measurement existed (vLLM keys built as strings, parsed back by a RegExp):
// the projections are byte for byte what they were.

const sample = (p: Partial<LoadgenSample> & { index: number }): LoadgenSample => ({ ok: true, promptTokens: 10, startMs: 0, queueMs: 0, ttftMs: 0, itlMs: [], e2elMs: 0, outputTokens: 1, text: '', error: null, ...p });
const SAMPLES: LoadgenSample[] = [
  sample({ index: 0, startMs: 0, queueMs: 3, ttftMs: 100, itlMs: [20, 30, 40], e2elMs: 190, outputTokens: 4, text: 'abcd' }),
  sample({ index: 1, startMs: 50, queueMs: 7.5, ttftMs: 200, itlMs: [10], e2elMs: 210, outputTokens: 5, text: 'xy' }),
  sample({ index: 2, startMs: 60, ttftMs: 30, itlMs: [], e2elMs: 30, outputTokens: 1, text: 'z' }),
  sample({ index: 3, ok: false, startMs: 70, ttftMs: null, e2elMs: null, outputTokens: 0, error: 'HTTP 500: boom' }),
  sample({ index: 4, startMs: 1070, queueMs: 1, ttftMs: 1234.5678, itlMs: [0.5, 1.25, 3], e2elMs: 1239.3178, outputTokens: 4, text: 'qq' }),
];

function result(cfg: ServeBenchConfig, rpsChangeEvents: ServeBenchResult['rpsChangeEvents'] = null): ServeBenchResult {
  return serveBenchResult(cfg, SAMPLES, 2.345, { startEpochMs: 1700000000000, rpsChangeEvents, scheduleLagMs: [0, 0, 0, 0, 0], connectMs: [1.5, 2.5], preconnectFailed: [] });
}

const ALL = defaultServeBenchConfig({ baseUrl: 'http://x', model: 'org/m', maxConcurrency: 2, requestRate: 5, percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el', 'client_queue_time', 'e2el_including_client_queue'], metricPercentiles: [50, 90, 99, 99.9], goodput: { ttft: 150, e2el: 300 } });
const RAMP = defaultServeBenchConfig({ baseUrl: 'http://x', model: 'm', backend: 'openai-chat', maxConcurrency: 3, percentileMetrics: ['ttft', 'client_queue_time', 'e2el_including_client_queue'], metricPercentiles: [25, 99, 99], rampUp: { strategy: 'linear', startRps: 1, endRps: 3 } });
const DATE = '20260101-000000';

describe('vLLM outputs are projections of the measurement', () => {
  it('the printed summary: every selected section, goodput, concurrency and rate lines', () => {
    expect(formatServeSummary(result(ALL))).toBe(
      [
        '============ Serving Benchmark Result ============',
        'Successful requests:                     4         ',
        'Failed requests:                         1         ',
        'Maximum request concurrency:             2         ',
        'Request rate configured (RPS):           5.00      ',
        'Benchmark duration (s):                  2.35      ',
        'Total input tokens:                      40        ',
        'Total generated tokens:                  14        ',
        'Request throughput (req/s):              1.71      ',
        'Request goodput (req/s):                 0.85      ',
        'Output token throughput (tok/s):         5.97      ',
        'Peak output token throughput (tok/s):    7.00      ',
        'Peak concurrent requests:                3.00      ',
        'Total token throughput (tok/s):          23.03     ',
        '---------------Time to First Token----------------',
        'Mean TTFT (ms):                          391.14    ',
        'Median TTFT (ms):                        150.00    ',
        'P50 TTFT (ms):                           150.00    ',
        'P90 TTFT (ms):                           924.20    ',
        'P99 TTFT (ms):                           1203.53   ',
        'P99.9 TTFT (ms):                         1231.46   ',
        '-----Time per Output Token (excl. 1st token)------',
        'Mean TPOT (ms):                          11.36     ',
        'Median TPOT (ms):                        2.50      ',
        'P50 TPOT (ms):                           2.50      ',
        'P90 TPOT (ms):                           24.50     ',
        'P99 TPOT (ms):                           29.45     ',
        'P99.9 TPOT (ms):                         29.95     ',
        '---------------Inter-token Latency----------------',
        'Mean ITL (ms):                           14.96     ',
        'Median ITL (ms):                         10.00     ',
        'P50 ITL (ms):                            10.00     ',
        'P90 ITL (ms):                            34.00     ',
        'P99 ITL (ms):                            39.40     ',
        'P99.9 ITL (ms):                          39.94     ',
        '----------------End-to-end Latency----------------',
        'Mean E2EL (ms):                          417.33    ',
        'Median E2EL (ms):                        200.00    ',
        'P50 E2EL (ms):                           200.00    ',
        'P90 E2EL (ms):                           930.52    ',
        'P99 E2EL (ms):                           1208.44   ',
        'P99.9 E2EL (ms):                         1236.23   ',
        '---------------Client-side Queueing---------------',
        'Mean Client Queue Time (ms):             2.88      ',
        'Median Client Queue Time (ms):           2.00      ',
        'P50 Client Queue Time (ms):              2.00      ',
        'P90 Client Queue Time (ms):              6.15      ',
        'P99 Client Queue Time (ms):              7.37      ',
        'P99.9 Client Queue Time (ms):            7.49      ',
        '--------Queue-inclusive End-to-end Latency--------',
        'Mean E2EL incl. Client Queue (ms):       420.20    ',
        'Median E2EL incl. Client Queue (ms):     205.25    ',
        'P50 E2EL incl. Client Queue (ms):        205.25    ',
        'P90 E2EL incl. Client Queue (ms):        933.47    ',
        'P99 E2EL incl. Client Queue (ms):        1209.63   ',
        'P99.9 E2EL incl. Client Queue (ms):      1237.25   ',
        '==================================================',
        '',
      ].join('\n'),
    );
  });

  it('the summary leaves out queue sections vLLM does not show and repeats a repeated percentile', () => {
    expect(formatServeSummary(result(RAMP))).toBe(
      [
        '============ Serving Benchmark Result ============',
        'Successful requests:                     4         ',
        'Failed requests:                         1         ',
        'Maximum request concurrency:             3         ',
        'Benchmark duration (s):                  2.35      ',
        'Total input tokens:                      40        ',
        'Total generated tokens:                  14        ',
        'Request throughput (req/s):              1.71      ',
        'Output token throughput (tok/s):         5.97      ',
        'Peak output token throughput (tok/s):    7.00      ',
        'Peak concurrent requests:                3.00      ',
        'Total token throughput (tok/s):          23.03     ',
        '---------------Time to First Token----------------',
        'Mean TTFT (ms):                          391.14    ',
        'Median TTFT (ms):                        150.00    ',
        'P25 TTFT (ms):                           82.50     ',
        'P99 TTFT (ms):                           1203.53   ',
        'P99 TTFT (ms):                           1203.53   ',
        '---------------Client-side Queueing---------------',
        'Mean Client Queue Time (ms):             2.88      ',
        'Median Client Queue Time (ms):           2.00      ',
        'P25 Client Queue Time (ms):              0.75      ',
        'P99 Client Queue Time (ms):              7.37      ',
        'P99 Client Queue Time (ms):              7.37      ',
        '==================================================',
        '',
      ].join('\n'),
    );
  });

  it('the result JSON: vLLM keys in vLLM order, the shown statistics only, detailed arrays on request', () => {
    expect(JSON.stringify(buildResultJson(result(ALL), { label: null, tokenizerId: 't', metadata: { a: 'b' }, detailed: false, date: DATE }))).toBe(
      '{"date":"20260101-000000","endpoint_type":"openai","backend":"openai","label":null,"model_id":"org/m","tokenizer_id":"t","num_prompts":5,"a":"b","request_rate":5,"burstiness":1,"max_concurrency":2,"duration":2.345,"completed":4,"failed":1,"total_input_tokens":40,"total_output_tokens":14,"request_throughput":1.7057569296375266,"request_goodput":0.8528784648187633,"output_throughput":5.970149253731343,"total_token_throughput":23.02771855010661,"latencies":[0.19,0.21,0.03,0,1.2393178],"queue_times":[0.003,0.0075,0,0,0.001],"max_output_tokens_per_s":7,"max_concurrent_requests":3,"rtfx":0,"mean_ttft_ms":391.14195,"median_ttft_ms":150,"std_ttft_ms":490.6856306734563,"p50_ttft_ms":150,"p90_ttft_ms":924.1974600000002,"p99_ttft_ms":1203.5307660000003,"p99.9_ttft_ms":1231.4640966000004,"mean_tpot_ms":11.361111111111112,"median_tpot_ms":2.5,"std_tpot_ms":13.18499661746142,"p50_tpot_ms":2.5,"p90_tpot_ms":24.5,"p99_tpot_ms":29.45,"p99.9_tpot_ms":29.945000000000007,"mean_itl_ms":14.964285714285714,"median_itl_ms":10,"std_itl_ms":14.359186066410446,"p50_itl_ms":10,"p90_itl_ms":34,"p99_itl_ms":39.400000000000006,"p99.9_itl_ms":39.940000000000005,"mean_e2el_ms":417.32945,"median_e2el_ms":200,"std_e2el_ms":479.67518438200193,"p50_e2el_ms":200,"p90_e2el_ms":930.5224600000003,"p99_e2el_ms":1208.438266,"p99.9_e2el_ms":1236.2298466000004,"mean_client_queue_time_ms":2.875,"median_client_queue_time_ms":2,"std_client_queue_time_ms":2.8804296554507283,"p50_client_queue_time_ms":2,"p90_client_queue_time_ms":6.15,"p99_client_queue_time_ms":7.365000000000001,"p99.9_client_queue_time_ms":7.486500000000001,"mean_e2el_including_client_queue_ms":420.20445,"median_e2el_including_client_queue_ms":205.25,"std_e2el_including_client_queue_ms":478.94581525409274,"p50_e2el_including_client_queue_ms":205.25,"p90_e2el_including_client_queue_ms":933.4724600000002,"p99_e2el_including_client_queue_ms":1209.6332660000003,"p99.9_e2el_including_client_queue_ms":1237.2493466000005,"preconnected":2,"mean_connect_ms":2,"max_connect_ms":2.5}',
    );
    expect(JSON.stringify(buildResultJson(result(RAMP, [{ rps: 1, timestamp: 't1' }, { rps: 2, timestamp: 't2' }]), { label: 'L', tokenizerId: null, metadata: {}, detailed: true, date: DATE }))).toBe(
      '{"date":"20260101-000000","endpoint_type":"openai-chat","backend":"openai-chat","label":"L","model_id":"m","tokenizer_id":null,"num_prompts":5,"request_rate":"inf","burstiness":1,"max_concurrency":3,"ramp_up_strategy":"linear","ramp_up_start_rps":1,"ramp_up_end_rps":3,"duration":2.345,"completed":4,"failed":1,"total_input_tokens":40,"total_output_tokens":14,"request_throughput":1.7057569296375266,"request_goodput":null,"output_throughput":5.970149253731343,"total_token_throughput":23.02771855010661,"input_lens":[10,10,10,10,10],"output_lens":[4,5,1,0,4],"ttfts":[0.1,0.2,0.03,0,1.2345678],"itls":[[0.02,0.03,0.04],[0.01],[],[],[0.0005,0.00125,0.003]],"latencies":[0.19,0.21,0.03,0,1.2393178],"start_times":[0,0.05,0.06,0.07,1.07],"queue_times":[0.003,0.0075,0,0,0.001],"generated_texts":["abcd","xy","z","","qq"],"errors":["","","","HTTP 500: boom",""],"max_output_tokens_per_s":7,"max_concurrent_requests":3,"rtfx":0,"rps_change_events":[{"rps":1,"timestamp":"t1"},{"rps":2,"timestamp":"t2"}],"mean_ttft_ms":391.14195,"median_ttft_ms":150,"std_ttft_ms":490.6856306734563,"p25_ttft_ms":82.5,"p99_ttft_ms":1203.5307660000003,"mean_client_queue_time_ms":2.875,"median_client_queue_time_ms":2,"std_client_queue_time_ms":2.8804296554507283,"p25_client_queue_time_ms":0.75,"p99_client_queue_time_ms":7.365000000000001,"preconnected":2,"mean_connect_ms":2,"max_connect_ms":2.5}',
    );
    expect(resultFilePath(result(RAMP), { label: null, resultFilename: null, resultDir: 'd', date: DATE })).toBe('d/openai-chat-ramp-up-linear-1qps-3qps-concurrency3-m-20260101-000000.json');
  });

  it('the canonical MetricSet and the sweep row read the same values', () => {
    expect(JSON.stringify(toMetricSet(result(ALL).measurement))).toBe(
      '{"completed":4,"failed":1,"duration":2.345,"total_input_tokens":40,"total_output_tokens":14,"request_throughput":1.7057569296375266,"output_throughput":5.970149253731343,"total_token_throughput":23.02771855010661,"input_throughput":17.057569296375267,"max_concurrent_requests":3,"peak_output_throughput":7,"request_goodput":0.8528784648187633,"ttft_mean":391.14195,"ttft_median":150,"ttft_std":490.6856306734563,"ttft_p50":150,"ttft_p90":924.1974600000002,"ttft_p99":1203.5307660000003,"ttft_p99.9":1231.4640966000004,"tpot_mean":11.361111111111112,"tpot_median":2.5,"tpot_std":13.18499661746142,"tpot_p50":2.5,"tpot_p90":24.5,"tpot_p99":29.45,"tpot_p99.9":29.945000000000007,"itl_mean":14.964285714285714,"itl_median":10,"itl_std":14.359186066410446,"itl_p50":10,"itl_p90":34,"itl_p99":39.400000000000006,"itl_p99.9":39.940000000000005,"e2el_mean":417.32945,"e2el_median":200,"e2el_std":479.67518438200193,"e2el_p50":200,"e2el_p90":930.5224600000003,"e2el_p99":1208.438266,"e2el_p99.9":1236.2298466000004}',
    );
    expect(JSON.stringify(sweepRow({ requestRate: 5, maxConcurrency: 2 }, result(ALL), ALL.goodput))).toBe(
      '{"requestRate":5,"maxConcurrency":2,"completed":4,"failed":1,"duration":2.345,"request_throughput":1.7057569296375266,"output_throughput":5.970149253731343,"request_goodput":0.8528784648187633,"median_ttft_ms":150,"p99_ttft_ms":1203.5307660000003,"median_tpot_ms":2.5,"p99_tpot_ms":29.45,"median_e2el_ms":200,"p99_e2el_ms":1208.438266,"slo_attainment":0.4,"meetsSlo":false}',
    );
  });

  it("vLLM's parser reads from the summary and the JSON the values toMetricSet gives (the summary to its two decimals)", () => {
    const r = result(ALL);
    const canonical = toMetricSet(r.measurement);
    const fromJson = parseBenchmarkOutput(JSON.stringify(buildResultJson(r, { label: null, tokenizerId: 't', metadata: {}, detailed: false, date: DATE })));
    const fromText = parseBenchmarkOutput(formatServeSummary(r));
    if (fromJson.status !== 'ok' || fromText.status !== 'ok') throw new Error('no metrics parsed');
    expect(Object.keys(fromJson.metrics).length).toBeGreaterThan(20);
    for (const [k, v] of Object.entries(fromJson.metrics)) expect(v, k).toBe(canonical[k]);
    expect(Object.keys(fromText.metrics).length).toBeGreaterThan(20);
    for (const [k, v] of Object.entries(fromText.metrics)) expect(Math.abs(v - canonical[k]!), k).toBeLessThanOrEqual(0.005 + 1e-9);
  });
});
