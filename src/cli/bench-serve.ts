import { appendFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type cliProgress from 'cli-progress';
import { addSecretValues, BACKENDS, DATASET_NAMES, FILE_DATASETS, SERVE_DEFAULTS, VLLM_COMPAT, type VllmCompat, headerSecretValues, IsobenchError, parseSlo, PERCENTILE_METRICS, SLO_ATTAINMENT_GOAL, errorMessage, redactDeep, redactSecrets, usageError, type PercentileMetric } from '../core/index.js';
import type { LoadgenEvent, ServeBenchConfig, WorkloadConfig } from '../loadgen/index.js';
import { addOptionsAction, flagName, opt, type OptionTable, type OptionsOf } from './options.js';

/**
 * Every option of `bench serve`, once, as data: vLLM's flag names and defaults, isobench's additions, the vLLM flags
 * accepted and ignored, and those refused with their reason (each declared so that it fails with the reason, exit 2,
 * instead of "unknown option" or a run that silently measures something else; docs/loadgen.md lists them).
 */
export const SERVE_OPTIONS = {
  backend: opt.choice('--backend <name>', 'API flavour', BACKENDS, { default: 'openai' }),
  baseUrl: opt.text('--base-url <url>', 'server base URL (instead of --host/--port)', { check: (v: string) => (URL.canParse(v) ? null : '--base-url must be a URL like http://127.0.0.1:8000') }),
  host: opt.text('--host <host>', 'server host', { default: '127.0.0.1' }),
  port: opt.posInt('--port <port>', 'server port', { max: 65535, example: '8000', default: 8000 }),
  endpoint: opt.text('--endpoint <path>', 'API path (default /v1/completions, /v1/chat/completions for openai-chat, /v1/rerank for vllm-rerank)', { pattern: [/^\//, '--endpoint must start with /'] }),
  model: opt.text('--model <name>', 'model name (default: the first id of /v1/models)'),
  servedModelName: opt.text('--served-model-name <name>', 'model name sent in requests (default: --model)'),
  tokenizer: opt.text('--tokenizer <path-or-name>', 'tokenizer.json, a directory holding one, or a Hugging Face model name in the local cache'),
  header: opt.strings('--header <KEY=VALUE...>', 'extra request headers'),
  datasetName: opt.choice('--dataset-name <name>', 'dataset of the prompts', DATASET_NAMES, {
    default: 'random',
    refusedChoices: {
      hf: 'Hugging Face hub datasets need the network at run time; download the file and pass --dataset-path with a local dataset',
    },
  }),
  datasetPath: opt.text('--dataset-path <file>', 'local dataset file (sharegpt JSON, sonnet/txt-slices text, custom/spec_bench/timed_trace JSONL, burstgpt CSV)'),
  disableShuffle: opt.bool('--disable-shuffle', "keep the dataset file's order (sharegpt, custom, spec_bench, prefix_repetition)"),
  oversample: opt.bool('--no-oversample', 'never repeat requests to reach --num-prompts (the run has fewer)'),
  skipChatTemplate: opt.bool('--skip-chat-template', "send custom / spec_bench prompts without the tokenizer's chat template"),
  numPrompts: opt.posInt('--num-prompts <n>', 'number of requests', { default: SERVE_DEFAULTS.numPrompts }),
  seed: opt.nonNegInt('--seed <n>', 'seed of prompts and arrivals', { default: SERVE_DEFAULTS.seed }),
  inputLen: opt.posInt('--input-len <n>', 'sets --random-input-len'),
  outputLen: opt.posInt('--output-len <n>', 'sets every dataset output length'),
  randomInputLen: opt.posInt('--random-input-len <n>', 'random: input tokens', { default: SERVE_DEFAULTS.randomInputLen }),
  randomOutputLen: opt.posInt('--random-output-len <n>', 'random: output tokens', { default: SERVE_DEFAULTS.randomOutputLen }),
  randomRangeRatio: opt.num('--random-range-ratio <x>', 'random: lengths uniform in [len*(1-x), len*(1+x)]', { min: 0, lt: 1, default: SERVE_DEFAULTS.randomRangeRatio }),
  randomPrefixLen: opt.nonNegInt('--random-prefix-len <n>', 'random: shared random prefix tokens', { default: SERVE_DEFAULTS.randomPrefixLen }),
  randomBatchSize: opt.posInt('--random-batch-size <n>', 'random-rerank: documents per request', { default: SERVE_DEFAULTS.randomBatchSize }),
  reranker: opt.bool('--no-reranker', 'random-rerank: score mode (the query is one of the inputs, no separator token)'),
  randomMmBaseItemsPerRequest: opt.nonNegInt('--random-mm-base-items-per-request <n>', 'random-mm: images per request', { default: SERVE_DEFAULTS.randomMmBaseItemsPerRequest }),
  randomMmNumMmItemsRangeRatio: opt.num('--random-mm-num-mm-items-range-ratio <x>', 'random-mm: image count uniform in [n*(1-x), n*(1+x)], x in [0, 1]', { min: 0, max: 1, default: SERVE_DEFAULTS.randomMmNumMmItemsRangeRatio }),
  randomMmLimitMmPerPrompt: opt.text('--random-mm-limit-mm-per-prompt <json>', 'random-mm: most items per request by modality', { default: SERVE_DEFAULTS.randomMmLimitMmPerPrompt }),
  randomMmBucketConfig: opt.text('--random-mm-bucket-config <dict>', 'random-mm: (height, width, frames): probability (frames 1 = image; video is refused)', { default: SERVE_DEFAULTS.randomMmBucketConfig }),
  sharegptOutputLen: opt.posInt('--sharegpt-output-len <n>', "sharegpt: output tokens (default: the conversation's)"),
  sonnetInputLen: opt.posInt('--sonnet-input-len <n>', 'sonnet: input tokens', { default: SERVE_DEFAULTS.sonnetInputLen }),
  sonnetOutputLen: opt.posInt('--sonnet-output-len <n>', 'sonnet: output tokens', { default: SERVE_DEFAULTS.sonnetOutputLen }),
  sonnetPrefixLen: opt.nonNegInt('--sonnet-prefix-len <n>', 'sonnet: shared prefix tokens', { default: SERVE_DEFAULTS.sonnetPrefixLen }),
  prefixRepetitionPrefixLen: opt.nonNegInt('--prefix-repetition-prefix-len <n>', 'prefix_repetition: prefix tokens', { default: SERVE_DEFAULTS.prefixRepetitionPrefixLen }),
  prefixRepetitionSuffixLen: opt.posInt('--prefix-repetition-suffix-len <n>', 'prefix_repetition: suffix tokens', { default: SERVE_DEFAULTS.prefixRepetitionSuffixLen }),
  prefixRepetitionNumPrefixes: opt.posInt('--prefix-repetition-num-prefixes <n>', 'prefix_repetition: distinct prefixes', { default: SERVE_DEFAULTS.prefixRepetitionNumPrefixes }),
  prefixRepetitionOutputLen: opt.posInt('--prefix-repetition-output-len <n>', 'prefix_repetition: output tokens', { default: SERVE_DEFAULTS.prefixRepetitionOutputLen }),
  customOutputLen: opt.posInt('--custom-output-len <n>', 'custom: output tokens', { default: SERVE_DEFAULTS.customOutputLen }),
  specBenchOutputLen: opt.posInt('--spec-bench-output-len <n>', 'spec_bench: output tokens', { default: SERVE_DEFAULTS.specBenchOutputLen }),
  specBenchCategory: opt.text('--spec-bench-category <name>', 'spec_bench: only this category'),
  txtSlicesInputLen: opt.posInt('--txt-slices-input-len <n>', 'txt-slices: input tokens', { default: SERVE_DEFAULTS.txtSlicesInputLen }),
  txtSlicesOutputLen: opt.posInt('--txt-slices-output-len <n>', 'txt-slices: output tokens', { default: SERVE_DEFAULTS.txtSlicesOutputLen }),
  timedTraceChunkHashSize: opt.posInt('--timed-trace-chunk-hash-size <n>', 'timed_trace: tokens per hash id', { default: SERVE_DEFAULTS.timedTraceChunkHashSize }),
  timedTraceSecMultiplier: opt.num('--timed-trace-sec-multiplier <x>', 'timed_trace: timestamp x this = seconds', { gt: 0, example: '0.001', default: SERVE_DEFAULTS.timedTraceSecMultiplier }),
  timedTraceLabelTimestamp: opt.text('--timed-trace-label-timestamp <key>', 'timed_trace: timestamp field', { default: SERVE_DEFAULTS.timedTraceLabels.timestamp }),
  timedTraceLabelInputLength: opt.text('--timed-trace-label-input-length <key>', 'timed_trace: input length field', { default: SERVE_DEFAULTS.timedTraceLabels.inputLength }),
  timedTraceLabelOutputLength: opt.text('--timed-trace-label-output-length <key>', 'timed_trace: output length field', { default: SERVE_DEFAULTS.timedTraceLabels.outputLength }),
  timedTraceLabelHashIds: opt.text('--timed-trace-label-hash-ids <key>', 'timed_trace: hash ids field', { default: SERVE_DEFAULTS.timedTraceLabels.hashIds }),
  selfTimed: opt.bool('--self-timed', 'send each request at its trace timestamp (timed_trace) instead of --request-rate', { negation: 'send on the --request-rate plan (default)' }),
  requestRate: opt.num('--request-rate <rps>', 'requests per second, or inf', { gt: 0, inf: true, example: '10', default: SERVE_DEFAULTS.requestRate }),
  burstiness: opt.num('--burstiness <x>', 'gamma shape of the arrival gaps (1 = Poisson)', { gt: 0, inf: true, example: '1.0', default: SERVE_DEFAULTS.burstiness }),
  maxConcurrency: opt.posInt('--max-concurrency <n>', 'most requests in flight; waiting time is reported as client queue time'),
  numWarmups: opt.nonNegInt('--num-warmups <n>', 'warm-up requests before measuring', { default: SERVE_DEFAULTS.numWarmups }),
  rampUpStrategy: opt.choice('--ramp-up-strategy <s>', 'ramp-up of the request rate', ['linear', 'exponential']),
  rampUpStartRps: opt.nonNegInt('--ramp-up-start-rps <n>', 'ramp-up start rate'),
  rampUpEndRps: opt.nonNegInt('--ramp-up-end-rps <n>', 'ramp-up end rate'),
  ignoreEos: opt.bool('--ignore-eos', 'send ignore_eos (always on for the random dataset)'),
  temperature: opt.num('--temperature <x>', "sampling temperature (default 0: greedy, as vLLM's client)"),
  topP: opt.num('--top-p <x>', 'sampling top_p'),
  topK: opt.int('--top-k <n>', 'sampling top_k', { example: '50' }),
  minP: opt.num('--min-p <x>', 'sampling min_p'),
  frequencyPenalty: opt.num('--frequency-penalty <x>', 'sampling frequency_penalty'),
  presencePenalty: opt.num('--presence-penalty <x>', 'sampling presence_penalty'),
  repetitionPenalty: opt.num('--repetition-penalty <x>', 'sampling repetition_penalty'),
  extraBody: opt.text('--extra-body <json>', 'JSON object merged into every request body'),
  requestTimeout: opt.num('--request-timeout <s>', 'a request fails when its response headers are not in, or no byte arrives, for this many seconds', { gt: 0, example: '600', default: SERVE_DEFAULTS.requestTimeoutS }),
  requestDeadline: opt.num('--request-deadline <s>', 'a request fails when its whole response is not in this many seconds after the send (as vLLM: 6 h)', { gt: 0, example: '21600', default: SERVE_DEFAULTS.requestDeadlineS }),
  requestIdPrefix: opt.text('--request-id-prefix <p>', 'x-request-id prefix (default bench-<random>-)', { empty: true }),
  saveResult: opt.bool('--save-result', 'write the result JSON'),
  appendResult: opt.bool('--append-result', 'append the result JSON as one line to the result file (implies --save-result)'),
  saveDetailed: opt.bool('--save-detailed', 'include per-request arrays in the result JSON'),
  resultDir: opt.text('--result-dir <dir>', 'directory of the result JSON'),
  resultFilename: opt.text('--result-filename <name>', 'file name of the result JSON'),
  metadata: opt.strings('--metadata <KEY=VALUE...>', 'extra top-level keys of the result JSON'),
  label: opt.text('--label <label>', 'label of the result (default: --backend)'),
  percentileMetrics: opt.list('--percentile-metrics <list>', `comma-separated, of ${PERCENTILE_METRICS.join(', ')}`, { choices: PERCENTILE_METRICS, default: SERVE_DEFAULTS.percentileMetrics }),
  metricPercentiles: opt.numbers('--metric-percentiles <list>', 'comma-separated percentiles', { item: { name: 'a percentile', min: 0, max: 100, example: '99' }, default: SERVE_DEFAULTS.metricPercentiles }),
  goodput: opt.strings('--goodput <KEY:VALUE...>', 'SLOs in ms for ttft, tpot, e2el'),
  disableTqdm: opt.bool('--disable-tqdm', 'no progress bar'),
  logprobs: opt.nonNegInt('--logprobs <n>', 'logprobs per token, sent with each request'),
  loraModules: opt.strings('--lora-modules <names...>', 'LoRA adapter names: each request asks for one, drawn with the seed, as its model'),
  chatTemplateKwargs: opt.text('--chat-template-kwargs <json>', 'JSON object sent as chat_template_kwargs with each request'),
  insecure: opt.bool('--insecure', 'accept any TLS certificate of an https:// server'),
  readyCheckTimeoutSec: opt.num('--ready-check-timeout-sec <s>', 'wait up to this many seconds for the server to answer the first request (0: no check)', { min: 0, example: '600', default: 0 }),
  vllmCompat: opt.list('--vllm-compat <list>', `use vLLM's metric definition where isobench's differs: ${VLLM_COMPAT.join(', ')} or all (docs/loadgen.md)`, { choices: [...VLLM_COMPAT, 'all'] }),
  // Accepted so vLLM command lines run unchanged; they change nothing here (noted on stdout).
  trustRemoteCode: opt.bool('--trust-remote-code', 'accepted and ignored (no model code runs client-side)', { ignored: true }),
  tokenizerMode: opt.text('--tokenizer-mode <mode>', 'accepted and ignored', { ignored: true }),
  profile: opt.refused('--profile', "starts the torch profiler through the server's /start_profile and /stop_profile (a vLLM server started with a profiler directory); isobench measures the server as it is"),
  plotTimeline: opt.refused('--plot-timeline', 'draws a Plotly timeline; isobench report draws the per-request charts from the stored samples'),
  timelineItlThresholds: opt.refused('--timeline-itl-thresholds <ms>', 'only used by --plot-timeline, which is refused'),
  plotDatasetStats: opt.refused('--plot-dataset-stats', 'draws matplotlib plots; isobench report draws the distributions'),
  useBeamSearch: opt.refused('--use-beam-search', "beam search is not a streaming sampling option of the OpenAI-compatible endpoints (vLLM's own request functions reject it)"),
  loraAssignment: opt.refused('--lora-assignment <how>', 'only the random assignment of --lora-modules is implemented (the default)'),
  stream: opt.refused('--no-stream', 'streams a Hugging Face hub dataset; isobench reads local dataset files only (no network at run time)'),
  hfName: opt.refused('--hf-name <name>', 'Hugging Face hub datasets need the network at run time; pass a local file with --dataset-path'),
  hfSubset: opt.refused('--hf-subset <name>', 'Hugging Face hub datasets need the network at run time'),
  hfSplit: opt.refused('--hf-split <name>', 'Hugging Face hub datasets need the network at run time'),
  hfOutputLen: opt.refused('--hf-output-len <n>', 'Hugging Face hub datasets need the network at run time'),
  enableMultimodalChat: opt.refused('--enable-multimodal-chat', "formats the multimodal prompt as chat messages in the dataset (vLLM's serve.py does not use it); random-mm sends its images as openai-chat content parts"),
  skipTokenizerInit: opt.refused('--skip-tokenizer-init', 'isobench needs the tokenizer to build prompts and count outputs'),
} satisfies OptionTable;
type Options = OptionsOf<typeof SERVE_OPTIONS>;

/** The refused vLLM flags with their reasons (docs/loadgen.md's table), from the table. */
export const REFUSED: [flags: string, reason: string][] = Object.values(SERVE_OPTIONS as OptionTable).flatMap((s) => (s.refused === undefined ? [] : [[s.flag, s.refused] as [string, string]]));

/** `bench sweep`: its load points, then every bench serve option. */
export const SWEEP_OPTIONS = {
  requestRates: opt.numbers('--request-rates <list>', 'comma-separated request rates (inf allowed), one point each', { item: { name: 'a value of --request-rates', gt: 0, inf: true, example: '4' } }),
  concurrencies: opt.numbers('--concurrencies <list>', 'comma-separated --max-concurrency values, one point each (with --request-rates: every pair)', { item: { name: 'a value of --concurrencies', int: true, min: 1, example: '16' } }),
  sweepDir: opt.text('--sweep-dir <dir>', 'where the per-point results and sweep.json, sweep.csv, sweep.html go', { default: 'sweep' }),
  ...SERVE_OPTIONS,
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { 'bench serve': SERVE_OPTIONS, 'bench sweep': SWEEP_OPTIONS };

/** `isobench bench serve`: a drop-in for vLLM's benchmark_serving.py / `vllm bench serve`. */
export function register(program: Command): void {
  const bench = program.command('bench').description('Client-side benchmarks against a running server');
  const serve = bench
    .command('serve')
    .description("Serving benchmark with vLLM's `vllm bench serve` flags, summary and result JSON (see docs/loadgen.md)");
  addOptionsAction(serve, SERVE_OPTIONS, async (opts) => {
    const { code } = await benchServe(opts);
    process.exitCode = code;
  });
  const sweep = bench
    .command('sweep')
    .description('One bench serve per load point (--request-rates and/or --concurrencies): JSON, CSV and latency-vs-throughput curves with the knee and the highest load meeting the --goodput SLOs (see docs/loadgen.md, Sweep)');
  addOptionsAction(sweep, SWEEP_OPTIONS, async (opts) => {
    process.exitCode = await benchSweep(opts);
  });
}

/** `isobench bench sweep`: bench serve once per load point, then the curves (src/loadgen/sweep.ts). */
async function benchSweep(o: OptionsOf<typeof SWEEP_OPTIONS>): Promise<number> {
  const { sweepPoints, sweepRow, summarizeSweep, sweepCsv, sweepJson, sweepHtml, pointLabel } = await import('../loadgen/index.js');
  const rates = o.requestRates ?? null;
  const concs = o.concurrencies ?? null;
  if (rates === null && concs === null) throw usageError('--request-rates', 'a sweep needs --request-rates or --concurrencies', 'e.g. --request-rates 1,2,4,8 or --concurrencies 1,4,16');
  const dir = o.sweepDir;
  mkdirSync(dir, { recursive: true });
  const slo = parseGoodput(o.goodput);
  const points = sweepPoints(rates, concs, o.requestRate, o.maxConcurrency ?? null);
  const rows = [];
  for (const [i, p] of points.entries()) {
    process.stdout.write(`\n===== sweep point ${i + 1}/${points.length}: ${pointLabel(p)} =====\n`);
    const { result } = await benchServe({ ...o, requestRate: p.requestRate, maxConcurrency: p.maxConcurrency ?? undefined, saveResult: true, appendResult: false, resultDir: dir, resultFilename: `point-${i + 1}.json` });
    if (result) rows.push(sweepRow(p, result, slo));
  }
  const summary = summarizeSweep(rows, slo);
  writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify(sweepJson(summary), null, 1));
  writeFileSync(path.join(dir, 'sweep.csv'), sweepCsv(summary));
  writeFileSync(path.join(dir, 'sweep.html'), sweepHtml(summary, `isobench bench sweep: ${o.model ?? 'model'} (${o.datasetName})`));
  process.stdout.write('\n============== Sweep ==============\n');
  process.stdout.write(`${'point'.padEnd(16)}${'req/s'.padStart(9)}${'out tok/s'.padStart(11)}${'TTFT p50'.padStart(10)}${'TTFT p99'.padStart(10)}${'TPOT p50'.padStart(10)}${'TPOT p99'.padStart(10)}${slo ? 'meet SLO'.padStart(10) : ''}\n`);
  summary.rows.forEach((r, i) => {
    const tags = [summary.knee === i ? 'knee' : '', summary.maxMeetingSlo === i ? 'max meeting SLO' : ''].filter(Boolean).join(', ');
    process.stdout.write(`${pointLabel(r).padEnd(16)}${r.request_throughput.toFixed(2).padStart(9)}${r.output_throughput.toFixed(1).padStart(11)}${r.median_ttft_ms.toFixed(1).padStart(10)}${r.p99_ttft_ms.toFixed(1).padStart(10)}${r.median_tpot_ms.toFixed(2).padStart(10)}${r.p99_tpot_ms.toFixed(2).padStart(10)}${r.slo_attainment === null ? '' : `${(r.slo_attainment * 100).toFixed(1)}%`.padStart(10)}${tags ? `  <- ${tags}` : ''}\n`);
  });
  process.stdout.write(`(ms; p50/p99 over each point's successful requests, linear interpolation${slo ? '; meet SLO: requests (failed ones included) meeting every --goodput SLO, vLLM\'s per-request goodput test' : ''})\n`);
  const goal = `${SLO_ATTAINMENT_GOAL * 100}% of requests`;
  if (slo) process.stdout.write(summary.maxMeetingSlo === null ? `No point has ${goal} meeting every SLO.\n` : `Highest load with ${goal} meeting every SLO: ${pointLabel(summary.rows[summary.maxMeetingSlo]!)}\n`);
  process.stdout.write(`Sweep written to ${path.join(dir, 'sweep.json')}, sweep.csv, sweep.html\n`);
  return rows.length === points.length && rows.every((r) => r.completed > 0) ? 0 : 1;
}

function keyValues(option: string, items: readonly string[] | undefined, sep: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf(sep);
    if (at <= 0) throw usageError(option, `"${item}" is not KEY${sep}VALUE`);
    out[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return out;
}

function parseGoodput(items: readonly string[] | undefined): ServeBenchConfig['goodput'] {
  if (!items || items.length === 0) return null;
  const r = parseSlo(items);
  if ('problem' in r) throw usageError('--goodput', r.problem, 'give KEY:VALUE words in ms, e.g. --goodput ttft:500 tpot:50');
  return r.slo;
}

function rampUp(o: Options): ServeBenchConfig['rampUp'] {
  if (o.rampUpStrategy === undefined) return null;
  if (o.requestRate !== Infinity) throw usageError('--request-rate', 'cannot be combined with --ramp-up-strategy', 'drop --request-rate; the ramp-up sets the rate');
  if (o.rampUpStartRps === undefined || o.rampUpEndRps === undefined) throw usageError('--ramp-up-strategy', 'needs --ramp-up-start-rps and --ramp-up-end-rps');
  if (o.rampUpStartRps > o.rampUpEndRps) throw usageError('--ramp-up-start-rps', 'must not exceed --ramp-up-end-rps');
  if (o.rampUpStrategy === 'exponential' && o.rampUpStartRps === 0) throw usageError('--ramp-up-start-rps', 'cannot be 0 for exponential ramp-up');
  if (o.rampUpStartRps === 0 && o.rampUpEndRps === 0) throw usageError('--ramp-up-end-rps', 'must be > 0');
  return { strategy: o.rampUpStrategy, startRps: o.rampUpStartRps, endRps: o.rampUpEndRps };
}

async function firstModel(baseUrl: string, headers: Record<string, string>): Promise<string> {
  const { request } = await import('undici');
  try {
    const res = await request(`${baseUrl}/v1/models`, { headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const body = (await res.body.json()) as { data?: { id?: unknown }[] };
    const id = body.data?.[0]?.id;
    if (res.statusCode === 200 && typeof id === 'string') return id;
    throw new Error(`HTTP ${res.statusCode}, no model listed`);
  } catch (err) {
    throw new IsobenchError('E_CONNECT', `cannot list models at ${baseUrl}/v1/models: ${errorMessage(err)}`, {
      hint: 'check that the server is running, or pass --model',
    });
  }
}

function workloadConfig({ defaultWorkloadConfig, parseBucketConfig, parseLimitMmPerPrompt }: typeof import('../loadgen/index.js'), o: Options): WorkloadConfig {
  if (!(FILE_DATASETS as readonly string[]).includes(o.datasetName) && o.datasetPath !== undefined) {
    throw usageError('--dataset-path', `cannot be used with --dataset-name ${o.datasetName}`, `use one of ${FILE_DATASETS.join(', ')} for a dataset file`);
  }
  if (o.selfTimed === true && o.datasetName !== 'timed_trace') throw usageError('--self-timed', 'needs --dataset-name timed_trace (only a trace carries send times)');
  if (o.datasetName !== 'random-rerank' && o.randomBatchSize !== 1) throw usageError('--random-batch-size', `not supported with --dataset-name ${o.datasetName}: batched prompts (embedding endpoints) are not built; it sets the documents per request of random-rerank`);
  if (o.datasetName !== 'random-rerank' && !o.reranker) throw usageError('--no-reranker', 'only used by --dataset-name random-rerank');
  const out = o.outputLen;
  return defaultWorkloadConfig({
    datasetName: o.datasetName,
    datasetPath: o.datasetPath ?? null,
    numPrompts: o.numPrompts,
    seed: o.seed,
    randomInputLen: o.inputLen ?? o.randomInputLen,
    randomOutputLen: out ?? o.randomOutputLen,
    randomRangeRatio: o.randomRangeRatio,
    randomPrefixLen: o.randomPrefixLen,
    sharegptOutputLen: out ?? o.sharegptOutputLen ?? null,
    sonnetInputLen: o.sonnetInputLen,
    sonnetOutputLen: o.sonnetOutputLen,
    sonnetPrefixLen: o.sonnetPrefixLen,
    prefixRepetitionPrefixLen: o.prefixRepetitionPrefixLen,
    prefixRepetitionSuffixLen: o.prefixRepetitionSuffixLen,
    prefixRepetitionNumPrefixes: o.prefixRepetitionNumPrefixes,
    prefixRepetitionOutputLen: out ?? o.prefixRepetitionOutputLen,
    customOutputLen: out ?? o.customOutputLen,
    disableShuffle: o.disableShuffle,
    noOversample: !o.oversample,
    skipChatTemplate: o.skipChatTemplate,
    // As vLLM: sonnet prompts are formatted with the chat template except for the chat endpoint (which applies its own).
    sonnetPromptFormatted: o.backend !== 'openai-chat',
    specBenchOutputLen: out ?? o.specBenchOutputLen,
    specBenchCategory: o.specBenchCategory ?? null,
    txtSlicesInputLen: o.txtSlicesInputLen,
    txtSlicesOutputLen: out ?? o.txtSlicesOutputLen,
    timedTraceChunkHashSize: o.timedTraceChunkHashSize,
    timedTraceSecMultiplier: o.timedTraceSecMultiplier,
    timedTraceLabels: {
      timestamp: o.timedTraceLabelTimestamp,
      inputLength: o.timedTraceLabelInputLength,
      outputLength: o.timedTraceLabelOutputLength,
      hashIds: o.timedTraceLabelHashIds,
    },
    randomBatchSize: o.randomBatchSize,
    reranker: o.reranker,
    randomMm: {
      baseItemsPerRequest: o.randomMmBaseItemsPerRequest,
      numMmItemsRangeRatio: o.randomMmNumMmItemsRangeRatio,
      limitMmPerPrompt: parseLimitMmPerPrompt(o.randomMmLimitMmPerPrompt),
      bucketConfig: parseBucketConfig(o.randomMmBucketConfig),
    },
  });
}

function jsonObject(option: string, text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw usageError(option, `not JSON: ${errorMessage(err)}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw usageError(option, 'must be a JSON object');
  return v as Record<string, unknown>;
}

/** What every request body carries besides prompt and sampling: --logprobs, --chat-template-kwargs, --extra-body (last wins). */
function requestExtras(o: Options, chatKwargs: Record<string, unknown> | null): Record<string, unknown> | null {
  const extra = { ...(o.logprobs === undefined ? {} : { logprobs: o.logprobs }), ...(chatKwargs ? { chat_template_kwargs: chatKwargs } : {}), ...(o.extraBody === undefined ? {} : jsonObject('--extra-body', o.extraBody)) };
  return Object.keys(extra).length === 0 ? null : extra;
}

function parseCompat(items: readonly string[] | undefined): ReadonlySet<VllmCompat> {
  if (items === undefined) return new Set();
  return new Set(items.includes('all') ? VLLM_COMPAT : (items as VllmCompat[]));
}

/** The ready check's first stage: /v1/models answers 200 (a server still loading answers 503, or refuses). */
async function modelsReady(baseUrl: string, headers: Record<string, string>): Promise<string | null> {
  const { request } = await import('undici');
  try {
    const res = await request(`${baseUrl}/v1/models`, { headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
    await res.body.text();
    return res.statusCode === 200 ? null : `HTTP ${res.statusCode}`;
  } catch (err) {
    return errorMessage(err);
  }
}

/** Draws progress: a bar on a TTY, a line per 10% otherwise (stderr, so stdout stays the vLLM summary). */
async function progressReporter(enabled: boolean): Promise<{ onEvent: (e: LoadgenEvent) => void; stop: () => void }> {
  const { default: cliProgress } = await import('cli-progress');
  const tty = process.stderr.isTTY && enabled;
  let bar: cliProgress.SingleBar | null = null;
  let nextPlain = 0;
  let warmedUp = false;
  const onEvent = (e: LoadgenEvent): void => {
    if (e.type === 'phase') {
      bar?.stop();
      bar = null;
      if (e.phase === 'warmup') {
        process.stdout.write(`Warming up with ${e.total} requests...\n`);
        warmedUp = true;
      }
      if (e.phase === 'measure') {
        if (warmedUp) process.stdout.write('Warmup run completed.\n');
        process.stdout.write('Starting main benchmark run...\n');
        if (tty) {
          bar = new cliProgress.SingleBar({ stream: process.stderr, fps: 10, format: ' {bar} {value}/{total} requests | failed {failed} | {duration_formatted}' }, cliProgress.Presets.shades_classic);
          bar.start(e.total, 0, { failed: 0 });
        }
        nextPlain = Math.ceil(e.total / 10);
      }
    } else if (e.type === 'progress') {
      const done = e.completed + e.failed;
      if (bar) bar.update(done, { failed: e.failed });
      else if (enabled && !tty && (done >= nextPlain || done === e.total)) {
        process.stderr.write(`progress ${done}/${e.total} requests (${e.failed} failed)\n`);
        nextPlain = done + Math.max(1, Math.ceil(e.total / 10));
      }
    }
  };
  return { onEvent, stop: () => bar?.stop() };
}

/** A number as Python prints a float (`1.0`, `inf`), as vLLM's log lines show them. */
function pyFloat(x: number): string {
  if (x === Infinity) return 'inf';
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

async function benchServe(o: Options): Promise<{ code: number; result: import('../loadgen/index.js').ServeBenchResult | null }> {
  const loadgen = await import('../loadgen/index.js');
  const { buildResultJson, buildWorkload, defaultServeBenchConfig, formatServeSummary, headerProblem, resolveTokenizer, resultDate, resultFilePath, runServeBenchmark } = loadgen;
  const baseUrl = (o.baseUrl ?? `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`).replace(/\/+$/, '');
  const headers = keyValues('--header', o.header, '=');
  // Every header value is a secret by value (a server that echoes headers must not put them in the output).
  addSecretValues(Object.values(headers).flatMap(headerSecretValues));
  for (const [k, v] of Object.entries(headers)) {
    const problem = headerProblem(k, v);
    if (problem !== null) throw usageError('--header', problem);
  }
  const metadata = keyValues('--metadata', o.metadata, '=');
  const goodput = parseGoodput(o.goodput);
  const percentileMetrics = o.percentileMetrics as PercentileMetric[];
  const metricPercentiles = o.metricPercentiles;
  const ramp = rampUp(o);
  const wcfg = workloadConfig(loadgen, o);
  const apiKey = process.env.OPENAI_API_KEY ?? null;
  const authHeaders: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}`, ...headers } : headers;

  const compat = parseCompat(o.vllmCompat);
  const chatKwargs = o.chatTemplateKwargs === undefined ? null : jsonObject('--chat-template-kwargs', o.chatTemplateKwargs);
  if (o.insecure) {
    // /v1/models, /tokenize and the ready check go through undici; the streams through our own client (cfg.insecure).
    const { Agent, setGlobalDispatcher } = await import('undici');
    setGlobalDispatcher(new Agent({ connect: { rejectUnauthorized: false } }));
  }
  for (const [key, spec] of Object.entries(SERVE_OPTIONS as OptionTable)) {
    if (spec.ignored && o[key as keyof Options] !== undefined) process.stdout.write(`note: ${flagName(spec)} is accepted for compatibility and ignored\n`);
  }
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    const readyDeadline = performance.now() + o.readyCheckTimeoutSec * 1000;
    if (o.readyCheckTimeoutSec > 0) {
      process.stdout.write(`Waiting for endpoint to become up in ${o.readyCheckTimeoutSec} seconds\n`);
      await loadgen.waitUntilReady(`${baseUrl}/v1/models`, readyDeadline, o.readyCheckTimeoutSec, () => modelsReady(baseUrl, authHeaders), controller.signal);
    } else process.stdout.write('Skipping endpoint ready check.\n');
    let model = o.model;
    if (model === undefined) {
      process.stdout.write('Model not specified, fetching first model from server...\n');
      model = await firstModel(baseUrl, authHeaders);
      process.stdout.write(`First model name: ${redactSecrets(model)}\n`);
    }
    const tokenizer = await resolveTokenizer({ baseUrl, model, ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}) }, controller.signal);
    const workload = await buildWorkload(wcfg, tokenizer, controller.signal);
    for (const note of workload.notes ?? []) process.stdout.write(`note: ${note}\n`);
    const backend = o.backend;
    const cfg = defaultServeBenchConfig({
      backend,
      baseUrl,
      model,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      servedModelName: o.servedModelName ?? null,
      headers,
      apiKey,
      requestRate: o.requestRate,
      burstiness: o.burstiness,
      maxConcurrency: o.maxConcurrency ?? null,
      numWarmups: o.numWarmups,
      rampUp: ramp,
      // As vLLM: the random dataset always ignores EOS so outputs reach the requested length.
      ignoreEos: o.ignoreEos || wcfg.datasetName === 'random',
      sampling: {
        // vLLM's client asks for greedy decoding unless --temperature is given (never the server's default).
        temperature: o.temperature ?? 0,
        topP: o.topP ?? null,
        topK: o.topK ?? null,
        minP: o.minP ?? null,
        frequencyPenalty: o.frequencyPenalty ?? null,
        presencePenalty: o.presencePenalty ?? null,
        repetitionPenalty: o.repetitionPenalty ?? null,
      },
      extraBody: requestExtras(o, chatKwargs),
      selfTimed: o.selfTimed === true,
      insecure: o.insecure,
      loraModules: o.loraModules ?? null,
      vllmCompat: compat,
      requestTimeoutMs: o.requestTimeout * 1000,
      requestDeadlineMs: o.requestDeadline * 1000,
      seed: o.seed,
      percentileMetrics,
      metricPercentiles,
      goodput,
      ...(o.requestIdPrefix !== undefined ? { requestIdPrefix: o.requestIdPrefix } : {}),
    });
    if (o.readyCheckTimeoutSec > 0 && workload.requests.length > 0) {
      process.stdout.write('Starting initial single prompt test run...\n');
      await loadgen.waitUntilReady(`${baseUrl}${cfg.endpoint}`, readyDeadline, o.readyCheckTimeoutSec, () => loadgen.probeRequest(cfg, workload.requests[0]!, controller.signal), controller.signal);
      process.stdout.write('Initial test run completed.\n');
    }
    // random-rerank batches --num-prompts documents into fewer requests: not a shortfall.
    if (workload.requests.length < o.numPrompts && wcfg.datasetName !== 'random-rerank') process.stdout.write(`note: ${workload.requests.length} requests, fewer than --num-prompts ${o.numPrompts} (${wcfg.datasetName === 'timed_trace' ? 'the trace is shorter' : '--no-oversample'})\n`);
    if (cfg.selfTimed) process.stdout.write('Traffic: each request at its trace timestamp (--self-timed)\n');
    else if (ramp) {
      process.stdout.write(`Traffic ramp-up strategy: ${ramp.strategy}.\nWill increase RPS from ${ramp.startRps} to ${ramp.endRps} RPS over the duration of the benchmark.\n`);
    } else process.stdout.write(`Traffic request rate: ${pyFloat(o.requestRate)}\n`);
    process.stdout.write(`Burstiness factor: ${pyFloat(o.burstiness)} (${o.burstiness === 1 ? 'Poisson process' : 'Gamma distribution'})\n`);
    process.stdout.write(`Maximum request concurrency: ${o.maxConcurrency ?? 'None'}\n`);
    const progress = await progressReporter(!o.disableTqdm);
    let result;
    try {
      result = await runServeBenchmark(cfg, workload, { signal: controller.signal, onEvent: progress.onEvent, tokenizer });
    } finally {
      progress.stop();
    }
    if (result.connectMs.length > 0) {
      const max = Math.max(...result.connectMs);
      const avg = result.connectMs.reduce((a, b) => a + b, 0) / result.connectMs.length;
      process.stdout.write(`Opened ${result.connectMs.length} connections before the benchmark clock (connect mean ${avg.toFixed(2)} ms, max ${max.toFixed(2)} ms; in no request's TTFT)\n`);
    }
    if (result.preconnectFailed.length > 0) process.stdout.write(`note: ${result.preconnectFailed.length} connections could not be opened before the clock (first: ${redactSecrets(result.preconnectFailed[0]!)})\n`);
    const failures = result.samples.flatMap((s) => (s.error !== null && s.error !== '' ? [s.error] : []));
    if (failures.length > 0) {
      process.stdout.write('Failed requests during benchmark run detected (capping to 10):\n');
      failures.slice(0, 10).forEach((e, i) => process.stdout.write(`Error ${i}: ${redactSecrets(e)}\n`));
    }
    process.stdout.write(formatServeSummary(result));
    if (o.saveResult || o.appendResult) {
      const date = resultDate();
      const file = resultFilePath(result, { label: o.label ?? null, resultFilename: o.resultFilename ?? null, resultDir: o.resultDir ?? null, date });
      const json = buildResultJson(result, { label: o.label ?? null, tokenizerId: tokenizer.id, metadata, detailed: o.saveDetailed, date });
      if (o.resultDir) mkdirSync(o.resultDir, { recursive: true });
      else mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      const text = JSON.stringify(redactDeep(json));
      // vLLM's --append-result: the file opened "a+", a newline before the new object when it is not empty.
      if (o.appendResult) appendFileSync(file, existsSync(file) && statSync(file).size > 0 ? `\n${text}` : text);
      else writeFileSync(file, text);
      process.stdout.write(`Result ${o.appendResult ? 'appended' : 'saved'} to ${file}\n`);
    }
    return { code: result.measurement.totals.completed === 0 ? 1 : 0, result };
  } catch (err) {
    if (controller.signal.aborted && !(err instanceof IsobenchError)) throw new IsobenchError('E_CANCELLED', 'bench serve cancelled (SIGINT)', { cause: err });
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
  }
}
