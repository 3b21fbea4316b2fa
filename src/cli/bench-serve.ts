import { appendFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type cliProgress from 'cli-progress';
import { z } from 'zod';
import { addSecretValues, BACKENDS, DATASET_NAMES, FILE_DATASETS, VLLM_COMPAT, type VllmCompat, headerSecretValues, IsobenchError, PERCENTILE_METRICS, errorMessage, redactDeep, redactSecrets, usageError, type PercentileMetric } from '../core/index.js';
import type { GoodputMetric, LoadgenEvent, ServeBenchConfig, WorkloadConfig } from '../loadgen/index.js';
import { opt, parseNumberOption, parseOptions } from './options.js';

/** Every option of `bench serve`, once, as data: flag, help, default (vLLM's names and defaults). */
const OPTIONS: [flags: string, help: string, def?: string][] = [
  ['--backend <name>', `API flavour: ${BACKENDS.join(', ')}`, 'openai'],
  ['--base-url <url>', 'server base URL (instead of --host/--port)'],
  ['--host <host>', 'server host', '127.0.0.1'],
  ['--port <port>', 'server port', '8000'],
  ['--endpoint <path>', 'API path (default /v1/completions, /v1/chat/completions for openai-chat)'],
  ['--model <name>', 'model name (default: the first id of /v1/models)'],
  ['--served-model-name <name>', 'model name sent in requests (default: --model)'],
  ['--tokenizer <path-or-name>', 'tokenizer.json, a directory holding one, or a Hugging Face model name in the local cache'],
  ['--header <KEY=VALUE...>', 'extra request headers'],
  ['--dataset-name <name>', `${DATASET_NAMES.join(', ')}`, 'random'],
  ['--dataset-path <file>', 'local dataset file (sharegpt JSON, sonnet/txt-slices text, custom/spec_bench/timed_trace JSONL, burstgpt CSV)'],
  ['--disable-shuffle', 'keep the dataset file\'s order (sharegpt, custom, spec_bench, prefix_repetition)'],
  ['--no-oversample', 'never repeat requests to reach --num-prompts (the run has fewer)'],
  ['--skip-chat-template', 'send custom / spec_bench prompts without the tokenizer\'s chat template'],
  ['--num-prompts <n>', 'number of requests', '1000'],
  ['--seed <n>', 'seed of prompts and arrivals', '0'],
  ['--input-len <n>', 'sets --random-input-len'],
  ['--output-len <n>', 'sets every dataset output length'],
  ['--random-input-len <n>', 'random: input tokens', '1024'],
  ['--random-output-len <n>', 'random: output tokens', '128'],
  ['--random-range-ratio <x>', 'random: lengths uniform in [len*(1-x), len*(1+x)]', '0'],
  ['--random-prefix-len <n>', 'random: shared random prefix tokens', '0'],
  ['--random-mm-base-items-per-request <n>', 'random-mm: images per request', '1'],
  ['--random-mm-num-mm-items-range-ratio <x>', 'random-mm: image count uniform in [n*(1-x), n*(1+x)], x in [0, 1]', '0'],
  ['--random-mm-limit-mm-per-prompt <json>', 'random-mm: most items per request by modality', '{"image": 255, "video": 1}'],
  ['--random-mm-bucket-config <dict>', 'random-mm: (height, width, frames): probability (frames 1 = image; video is refused)', '{(256, 256, 1): 0.5, (720, 1280, 1): 0.5, (720, 1280, 16): 0.0}'],
  ['--sharegpt-output-len <n>', 'sharegpt: output tokens (default: the conversation\'s)'],
  ['--sonnet-input-len <n>', 'sonnet: input tokens', '550'],
  ['--sonnet-output-len <n>', 'sonnet: output tokens', '150'],
  ['--sonnet-prefix-len <n>', 'sonnet: shared prefix tokens', '200'],
  ['--prefix-repetition-prefix-len <n>', 'prefix_repetition: prefix tokens', '256'],
  ['--prefix-repetition-suffix-len <n>', 'prefix_repetition: suffix tokens', '256'],
  ['--prefix-repetition-num-prefixes <n>', 'prefix_repetition: distinct prefixes', '10'],
  ['--prefix-repetition-output-len <n>', 'prefix_repetition: output tokens', '128'],
  ['--custom-output-len <n>', 'custom: output tokens', '256'],
  ['--spec-bench-output-len <n>', 'spec_bench: output tokens', '256'],
  ['--spec-bench-category <name>', 'spec_bench: only this category'],
  ['--txt-slices-input-len <n>', 'txt-slices: input tokens', '1024'],
  ['--txt-slices-output-len <n>', 'txt-slices: output tokens', '128'],
  ['--timed-trace-chunk-hash-size <n>', 'timed_trace: tokens per hash id', '16'],
  ['--timed-trace-sec-multiplier <x>', 'timed_trace: timestamp x this = seconds', '1'],
  ['--timed-trace-label-timestamp <key>', 'timed_trace: timestamp field', 'timestamp'],
  ['--timed-trace-label-input-length <key>', 'timed_trace: input length field', 'input_length'],
  ['--timed-trace-label-output-length <key>', 'timed_trace: output length field', 'output_length'],
  ['--timed-trace-label-hash-ids <key>', 'timed_trace: hash ids field', 'hash_ids'],
  ['--self-timed', 'send each request at its trace timestamp (timed_trace) instead of --request-rate'],
  ['--no-self-timed', 'send on the --request-rate plan (default)'],
  ['--request-rate <rps>', 'requests per second, or inf', 'inf'],
  ['--burstiness <x>', 'gamma shape of the arrival gaps (1 = Poisson)', '1.0'],
  ['--max-concurrency <n>', 'most requests in flight; waiting time is reported as client queue time'],
  ['--num-warmups <n>', 'warm-up requests before measuring', '0'],
  ['--ramp-up-strategy <s>', 'linear or exponential'],
  ['--ramp-up-start-rps <n>', 'ramp-up start rate'],
  ['--ramp-up-end-rps <n>', 'ramp-up end rate'],
  ['--ignore-eos', 'send ignore_eos (always on for the random dataset)'],
  ['--temperature <x>', 'sampling temperature (default 0: greedy, as vLLM\'s client)'],
  ['--top-p <x>', 'sampling top_p'],
  ['--top-k <n>', 'sampling top_k'],
  ['--min-p <x>', 'sampling min_p'],
  ['--frequency-penalty <x>', 'sampling frequency_penalty'],
  ['--presence-penalty <x>', 'sampling presence_penalty'],
  ['--repetition-penalty <x>', 'sampling repetition_penalty'],
  ['--extra-body <json>', 'JSON object merged into every request body'],
  ['--request-timeout <s>', 'a request fails when its response headers are not in, or no byte arrives, for this many seconds', '600'],
  ['--request-deadline <s>', 'a request fails when its whole response is not in this many seconds after the send (as vLLM: 6 h)', '21600'],
  ['--request-id-prefix <p>', 'x-request-id prefix (default bench-<random>-)'],
  ['--save-result', 'write the result JSON'],
  ['--append-result', 'append the result JSON as one line to the result file (implies --save-result)'],
  ['--save-detailed', 'include per-request arrays in the result JSON'],
  ['--result-dir <dir>', 'directory of the result JSON'],
  ['--result-filename <name>', 'file name of the result JSON'],
  ['--metadata <KEY=VALUE...>', 'extra top-level keys of the result JSON'],
  ['--label <label>', 'label of the result (default: --backend)'],
  ['--percentile-metrics <list>', `comma-separated, of ${PERCENTILE_METRICS.join(', ')}`, 'ttft,tpot,itl'],
  ['--metric-percentiles <list>', 'comma-separated percentiles', '99'],
  ['--goodput <KEY:VALUE...>', 'SLOs in ms for ttft, tpot, e2el'],
  ['--disable-tqdm', 'no progress bar'],
  ['--logprobs <n>', 'logprobs per token, sent with each request'],
  ['--lora-modules <names...>', 'LoRA adapter names: each request asks for one, drawn with the seed, as its model'],
  ['--chat-template-kwargs <json>', 'JSON object sent as chat_template_kwargs with each request'],
  ['--insecure', 'accept any TLS certificate of an https:// server'],
  ['--ready-check-timeout-sec <s>', 'wait up to this many seconds for the server to answer the first request (0: no check)', '0'],
  ['--vllm-compat <list>', `use vLLM's metric definition where isobench's differs: ${VLLM_COMPAT.join(', ')} or all (docs/loadgen.md)`],
  // Accepted so vLLM command lines run unchanged; they change nothing here (noted on stdout).
  ['--trust-remote-code', 'accepted and ignored (no model code runs client-side)'],
  ['--tokenizer-mode <mode>', 'accepted and ignored'],
];

const IGNORED = ['trustRemoteCode', 'tokenizerMode'] as const;

/**
 * vLLM flags isobench cannot honour, declared so that each is refused with its reason (exit 2) instead of
 * "unknown option" or a run that silently measures something else. The table in docs/loadgen.md lists them.
 */
export const REFUSED: [flags: string, reason: string][] = [
  ['--profile', 'starts the torch profiler through the server\'s /start_profile and /stop_profile (a vLLM server started with a profiler directory); isobench measures the server as it is'],
  ['--plot-timeline', 'draws a Plotly timeline; isobench report draws the per-request charts from the stored samples'],
  ['--timeline-itl-thresholds <ms>', 'only used by --plot-timeline, which is refused'],
  ['--plot-dataset-stats', 'draws matplotlib plots; isobench report draws the distributions'],
  ['--use-beam-search', 'beam search is not a streaming sampling option of the OpenAI-compatible endpoints (vLLM\'s own request functions reject it)'],
  ['--lora-assignment <how>', 'only the random assignment of --lora-modules is implemented (the default)'],
  ['--no-stream', 'streams a Hugging Face hub dataset; isobench reads local dataset files only (no network at run time)'],
  ['--hf-name <name>', 'Hugging Face hub datasets need the network at run time; pass a local file with --dataset-path'],
  ['--hf-subset <name>', 'Hugging Face hub datasets need the network at run time'],
  ['--hf-split <name>', 'Hugging Face hub datasets need the network at run time'],
  ['--hf-output-len <n>', 'Hugging Face hub datasets need the network at run time'],
  ['--enable-multimodal-chat', "formats the multimodal prompt as chat messages in the dataset (vLLM's serve.py does not use it); random-mm sends its images as openai-chat content parts"],
  ['--random-batch-size <n>', 'batches inputs for embedding and rerank endpoints, which isobench does not benchmark'],
  ['--no-reranker', 'only used by the random-rerank dataset, which is refused'],
  ['--skip-tokenizer-init', 'isobench needs the tokenizer to build prompts and count outputs'],
];

/** Dataset names of vLLM that isobench refuses, with the reason. */
const REFUSED_DATASETS: Record<string, string> = {
  'random-rerank': 'random-rerank benchmarks /v1/rerank and /score (pooling models, no generated tokens); isobench measures generation',
  hf: 'Hugging Face hub datasets need the network at run time; download the file and pass --dataset-path with a local dataset',
};

function flagKey(flags: string): string {
  return flags.split(' ')[0]!.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Throws the reason of the first refused flag given (before the schema drops unknown keys). */
function refuseUnsupported(raw: Record<string, unknown>): void {
  for (const [flags, reason] of REFUSED) {
    const key = flagKey(flags);
    // --no-stream / --no-reranker are booleans whose commander key is stream / reranker set to false.
    const negated = flags.startsWith('--no-') ? raw[flagKey(flags.replace('--no-', '--'))] === false : false;
    if (raw[key] !== undefined || negated) throw usageError(flags.split(' ')[0]!, `not supported: ${reason}`);
  }
  const dataset = raw.datasetName;
  if (typeof dataset === 'string' && REFUSED_DATASETS[dataset] !== undefined) throw usageError('--dataset-name', `${dataset} is not supported: ${REFUSED_DATASETS[dataset]}`);
}

const optNum = (name: string) => opt.num(name).optional();
const optPosInt = (name: string) => opt.posInt(name).optional();
const optNonNegInt = (name: string) => opt.nonNegInt(name).optional();

const Schema = z.object({
  backend: z.enum(BACKENDS as [string, ...string[]], { error: `--backend must be one of ${BACKENDS.join(', ')}` }),
  baseUrl: z.string().url('--base-url must be a URL like http://127.0.0.1:8000').optional(),
  host: z.string().min(1),
  port: opt.posInt('--port', { max: 65535, example: '8000' }),
  endpoint: z.string().startsWith('/', '--endpoint must start with /').optional(),
  model: z.string().min(1).optional(),
  servedModelName: z.string().min(1).optional(),
  tokenizer: z.string().min(1).optional(),
  header: z.array(z.string()).optional(),
  datasetName: z.enum(DATASET_NAMES as [string, ...string[]], { error: `--dataset-name must be one of ${DATASET_NAMES.join(', ')}` }),
  datasetPath: z.string().min(1).optional(),
  numPrompts: opt.posInt('--num-prompts'),
  seed: opt.nonNegInt('--seed'),
  inputLen: optPosInt('--input-len'),
  outputLen: optPosInt('--output-len'),
  randomInputLen: opt.posInt('--random-input-len'),
  randomOutputLen: opt.posInt('--random-output-len'),
  randomRangeRatio: opt.num('--random-range-ratio', { min: 0, lt: 1 }),
  randomPrefixLen: opt.nonNegInt('--random-prefix-len'),
  randomMmBaseItemsPerRequest: opt.nonNegInt('--random-mm-base-items-per-request'),
  randomMmNumMmItemsRangeRatio: opt.num('--random-mm-num-mm-items-range-ratio', { min: 0, max: 1 }),
  randomMmLimitMmPerPrompt: z.string().min(1),
  randomMmBucketConfig: z.string().min(1),
  sharegptOutputLen: optPosInt('--sharegpt-output-len'),
  sonnetInputLen: opt.posInt('--sonnet-input-len'),
  sonnetOutputLen: opt.posInt('--sonnet-output-len'),
  sonnetPrefixLen: opt.nonNegInt('--sonnet-prefix-len'),
  prefixRepetitionPrefixLen: opt.nonNegInt('--prefix-repetition-prefix-len'),
  prefixRepetitionSuffixLen: opt.posInt('--prefix-repetition-suffix-len'),
  prefixRepetitionNumPrefixes: opt.posInt('--prefix-repetition-num-prefixes'),
  prefixRepetitionOutputLen: opt.posInt('--prefix-repetition-output-len'),
  customOutputLen: opt.posInt('--custom-output-len'),
  specBenchOutputLen: opt.posInt('--spec-bench-output-len'),
  specBenchCategory: z.string().min(1).optional(),
  txtSlicesInputLen: opt.posInt('--txt-slices-input-len'),
  txtSlicesOutputLen: opt.posInt('--txt-slices-output-len'),
  timedTraceChunkHashSize: opt.posInt('--timed-trace-chunk-hash-size'),
  timedTraceSecMultiplier: opt.num('--timed-trace-sec-multiplier', { gt: 0, example: '0.001' }),
  timedTraceLabelTimestamp: z.string().min(1),
  timedTraceLabelInputLength: z.string().min(1),
  timedTraceLabelOutputLength: z.string().min(1),
  timedTraceLabelHashIds: z.string().min(1),
  selfTimed: z.boolean().optional(),
  disableShuffle: z.boolean().default(false),
  oversample: z.boolean().default(true),
  appendResult: z.boolean().default(false),
  loraModules: z.array(z.string().min(1)).optional(),
  chatTemplateKwargs: z.string().optional(),
  insecure: z.boolean().default(false),
  readyCheckTimeoutSec: opt.num('--ready-check-timeout-sec', { min: 0, example: '600' }),
  vllmCompat: z.string().optional(),
  requestRate: opt.num('--request-rate', { gt: 0, inf: true, example: '10' }),
  burstiness: opt.num('--burstiness', { gt: 0, inf: true, example: '1.0' }),
  maxConcurrency: optPosInt('--max-concurrency'),
  numWarmups: opt.nonNegInt('--num-warmups'),
  rampUpStrategy: z.enum(['linear', 'exponential'], { error: '--ramp-up-strategy must be linear or exponential' }).optional(),
  rampUpStartRps: optNonNegInt('--ramp-up-start-rps'),
  rampUpEndRps: optNonNegInt('--ramp-up-end-rps'),
  ignoreEos: z.boolean().default(false),
  temperature: optNum('--temperature'),
  topP: optNum('--top-p'),
  topK: opt.number('--top-k', { int: true, example: '50' }).optional(),
  minP: optNum('--min-p'),
  frequencyPenalty: optNum('--frequency-penalty'),
  presencePenalty: optNum('--presence-penalty'),
  repetitionPenalty: optNum('--repetition-penalty'),
  extraBody: z.string().optional(),
  requestTimeout: opt.num('--request-timeout', { gt: 0, example: '600' }),
  requestDeadline: opt.num('--request-deadline', { gt: 0, example: '21600' }),
  requestIdPrefix: z.string().optional(),
  saveResult: z.boolean().default(false),
  saveDetailed: z.boolean().default(false),
  resultDir: z.string().min(1).optional(),
  resultFilename: z.string().min(1).optional(),
  metadata: z.array(z.string()).optional(),
  label: z.string().min(1).optional(),
  percentileMetrics: z.string(),
  metricPercentiles: z.string(),
  goodput: z.array(z.string()).optional(),
  disableTqdm: z.boolean().default(false),
  logprobs: optNonNegInt('--logprobs'),
  trustRemoteCode: z.boolean().optional(),
  tokenizerMode: z.string().optional(),
  skipChatTemplate: z.boolean().default(false),
});
type Options = z.output<typeof Schema>;

/** Every bench serve option, and the refused vLLM flags (each with its reason as help). */
function addServeOptions(cmd: Command): void {
  for (const [flags, help, def] of OPTIONS) {
    if (def === undefined) cmd.option(flags, help);
    else cmd.option(flags, help, def);
  }
  for (const [flags, reason] of REFUSED) cmd.option(flags, `refused: ${reason}`);
}

/** `isobench bench serve`: a drop-in for vLLM's benchmark_serving.py / `vllm bench serve`. */
export function register(program: Command): void {
  const bench = program.command('bench').description('Client-side benchmarks against a running server');
  const serve = bench
    .command('serve')
    .description("Serving benchmark with vLLM's `vllm bench serve` flags, summary and result JSON (see docs/loadgen.md)");
  addServeOptions(serve);
  serve.action(async (raw) => {
    refuseUnsupported(raw);
    const { code } = await benchServe(parseOptions(Schema, raw));
    process.exitCode = code;
  });
  const sweep = bench
    .command('sweep')
    .description('One bench serve per load point (--request-rates and/or --concurrencies): JSON, CSV and latency-vs-throughput curves with the knee and the highest load meeting the --goodput SLOs (see docs/loadgen.md, Sweep)');
  sweep.option('--request-rates <list>', 'comma-separated request rates (inf allowed), one point each');
  sweep.option('--concurrencies <list>', 'comma-separated --max-concurrency values, one point each (with --request-rates: every pair)');
  sweep.option('--sweep-dir <dir>', 'where the per-point results and sweep.json, sweep.csv, sweep.html go', 'sweep');
  addServeOptions(sweep);
  sweep.action(async (raw) => {
    refuseUnsupported(raw);
    const { requestRates, concurrencies, sweepDir, ...rest } = raw as Record<string, unknown>;
    process.exitCode = await benchSweep(parseOptions(Schema, rest), { requestRates, concurrencies, sweepDir });
  });
}

/** `isobench bench sweep`: bench serve once per load point, then the curves (src/loadgen/sweep.ts). */
async function benchSweep(o: Options, raw: { requestRates: unknown; concurrencies: unknown; sweepDir: unknown }): Promise<number> {
  const { sweepPoints, sweepRow, summarizeSweep, sweepCsv, sweepJson, sweepHtml, pointLabel } = await import('../loadgen/index.js');
  const list = (option: string, v: unknown, inf: boolean): number[] | null =>
    typeof v === 'string' ? parseList(option, v, (x) => parseNumberOption(`a value of ${option}`, x, inf ? { gt: 0, inf: true, example: '4' } : { int: true, min: 1, example: '16' }, option)) : null;
  const rates = list('--request-rates', raw.requestRates, true);
  const concs = list('--concurrencies', raw.concurrencies, false);
  if (rates === null && concs === null) throw usageError('--request-rates', 'a sweep needs --request-rates or --concurrencies', 'e.g. --request-rates 1,2,4,8 or --concurrencies 1,4,16');
  const dir = typeof raw.sweepDir === 'string' ? raw.sweepDir : 'sweep';
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
  process.stdout.write(`${'point'.padEnd(16)}${'req/s'.padStart(9)}${'out tok/s'.padStart(11)}${'TTFT p50'.padStart(10)}${'TTFT p99'.padStart(10)}${'TPOT p50'.padStart(10)}${'TPOT p99'.padStart(10)}\n`);
  summary.rows.forEach((r, i) => {
    const tags = [summary.knee === i ? 'knee' : '', summary.maxMeetingSlo === i ? 'max meeting SLO' : ''].filter(Boolean).join(', ');
    process.stdout.write(`${pointLabel(r).padEnd(16)}${r.request_throughput.toFixed(2).padStart(9)}${r.output_throughput.toFixed(1).padStart(11)}${r.median_ttft_ms.toFixed(1).padStart(10)}${r.p99_ttft_ms.toFixed(1).padStart(10)}${r.median_tpot_ms.toFixed(2).padStart(10)}${r.p99_tpot_ms.toFixed(2).padStart(10)}${tags ? `  <- ${tags}` : ''}\n`);
  });
  process.stdout.write('(ms; p50/p99 over each point\'s successful requests, linear interpolation)\n');
  if (slo) process.stdout.write(summary.maxMeetingSlo === null ? 'No point meets every SLO at p99.\n' : `Highest load meeting every SLO at p99: ${pointLabel(summary.rows[summary.maxMeetingSlo]!)}\n`);
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
  const out: Partial<Record<GoodputMetric, number>> = {};
  for (const [k, v] of Object.entries(keyValues('--goodput', items, ':'))) {
    if (k !== 'ttft' && k !== 'tpot' && k !== 'e2el') throw usageError('--goodput', `unknown metric "${k}"`, 'use ttft, tpot or e2el');
    out[k] = parseNumberOption(`${k} (milliseconds)`, v, { min: 0, example: '100' }, '--goodput');
  }
  return out;
}

function parseList<T>(option: string, text: string, each: (s: string) => T | undefined): T[] {
  return text.split(',').map((s) => {
    const v = each(s.trim());
    if (v === undefined) throw usageError(option, `"${s}" is not allowed`);
    return v;
  });
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
  const out = o.outputLen;
  return defaultWorkloadConfig({
    datasetName: o.datasetName as WorkloadConfig['datasetName'],
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

function parseCompat(text: string | undefined): ReadonlySet<VllmCompat> {
  if (text === undefined) return new Set();
  if (text.trim() === 'all') return new Set(VLLM_COMPAT);
  return new Set(parseList('--vllm-compat', text, (s) => ((VLLM_COMPAT as readonly string[]).includes(s) ? (s as VllmCompat) : undefined)));
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
  const percentileMetrics = parseList('--percentile-metrics', o.percentileMetrics, (s) =>
    (PERCENTILE_METRICS as readonly string[]).includes(s) ? (s as PercentileMetric) : undefined,
  );
  const metricPercentiles = parseList('--metric-percentiles', o.metricPercentiles, (s) => parseNumberOption('a percentile', s, { min: 0, max: 100, example: '99' }, '--metric-percentiles'));
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
  for (const key of IGNORED) {
    if (o[key] !== undefined) process.stdout.write(`note: --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is accepted for compatibility and ignored\n`);
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
    const backend = o.backend as ServeBenchConfig['backend'];
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
    if (workload.requests.length < o.numPrompts) process.stdout.write(`note: ${workload.requests.length} requests, fewer than --num-prompts ${o.numPrompts} (${wcfg.datasetName === 'timed_trace' ? 'the trace is shorter' : '--no-oversample'})\n`);
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
