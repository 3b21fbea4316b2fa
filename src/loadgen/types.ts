import type { Backend, DatasetName, PercentileMetric, SloMetric, VllmCompat } from '../core/index.js';
import type { MmItem, RandomMmConfig } from './multimodal.js';

export { BACKENDS, DATASET_NAMES, PERCENTILE_METRICS, type Backend, type DatasetName, type PercentileMetric } from '../core/index.js';

/** What decides the prompts of a serving workload. Every field has vLLM's default (see `defaultWorkloadConfig`). */
export interface WorkloadConfig {
  datasetName: DatasetName;
  /** File for sharegpt (JSON), sonnet (text) and custom (JSONL). */
  datasetPath: string | null;
  numPrompts: number;
  seed: number;
  randomInputLen: number;
  randomOutputLen: number;
  randomRangeRatio: number;
  randomPrefixLen: number;
  /** Overrides each ShareGPT conversation's own completion length when set. */
  sharegptOutputLen: number | null;
  sonnetInputLen: number;
  sonnetOutputLen: number;
  sonnetPrefixLen: number;
  prefixRepetitionPrefixLen: number;
  prefixRepetitionSuffixLen: number;
  prefixRepetitionNumPrefixes: number;
  prefixRepetitionOutputLen: number;
  customOutputLen: number;
  /** Keep the file's order (vLLM's --disable-shuffle): sharegpt, custom, spec_bench, prefix_repetition. */
  disableShuffle: boolean;
  /** Never repeat requests to reach --num-prompts (vLLM's --no-oversample): the run has fewer requests. */
  noOversample: boolean;
  /** custom / spec_bench prompts go through the tokenizer's chat template unless this is set (vLLM's default). */
  skipChatTemplate: boolean;
  /** sonnet prompts are sent through the chat template (vLLM: every backend but openai-chat). */
  sonnetPromptFormatted: boolean;
  specBenchOutputLen: number;
  specBenchCategory: string | null;
  txtSlicesInputLen: number;
  txtSlicesOutputLen: number;
  /** timed_trace: tokens per hash id block. */
  timedTraceChunkHashSize: number;
  /** timed_trace: a timestamp times this is seconds. */
  timedTraceSecMultiplier: number;
  timedTraceLabels: { timestamp: string; inputLength: string; outputLength: string; hashIds: string };
  /** random-mm: the items of each request (`--random-mm-*`). */
  randomMm: RandomMmConfig;
  /** random-rerank: documents per request (vLLM's --random-batch-size, default 1). */
  randomBatchSize: number;
  /** random-rerank: a reranker (query and document pairs, one separator token each); false: vLLM's --no-reranker. */
  reranker: boolean;
}

/** One request of a workload. */
export interface WorkloadRequest {
  index: number;
  prompt: string;
  promptTokens: number;
  /** `max_tokens` (and `max_completion_tokens` for chat). */
  maxTokens: number;
  /**
   * The prompt tokens a server with the same tokenizer reports in `usage.prompt_tokens` for a completion: the prompt
   * encoded with its special tokens (synthetic prompts count without them in `promptTokens`, as vLLM's do).
   */
  serverPromptTokens: number;
  /** timed_trace: the request's own send time, ms after the first (used with --self-timed). */
  arrivalMs?: number;
  /** random-mm: images sent after the text part of the chat message (vLLM's multi_modal_data). */
  mmContent?: MmItem[];
  /** random-rerank: the documents scored against the query (`prompt`), vLLM's prompt[1:]. */
  documents?: string[];
}

/** The deterministic list of requests every variant of a task receives. */
export interface Workload {
  config: WorkloadConfig;
  /** Which tokenizer counted the prompt tokens (part of the hash: another tokenizer gives other prompts). */
  tokenizerId: string;
  requests: WorkloadRequest[];
  /** What the caller should say about how the prompts were built (e.g. no chat template where vLLM applies one). */
  notes?: string[];
}

/** Counts and converts tokens for one model. Batched and async because the server's /tokenize may be the source. */
/** The request/response shape of a server's /tokenize and /detokenize. */
export const SERVER_TOKENIZER_APIS = ['vllm', 'sglang', 'llama.cpp'] as const;
export type ServerTokenizerApi = (typeof SERVER_TOKENIZER_APIS)[number];

export interface Tokenizer {
  /**
   * `server-model:<model>` (the server's /tokenize), `file:<path>` (a local tokenizer.json) or
   * `npm:<package>@<version>` (a family's tokenizer package).
   */
  readonly id: string;
  readonly source: 'server' | 'file' | 'package';
  /** For a server tokenizer: the shape its /tokenize and /detokenize spoke. */
  readonly api?: ServerTokenizerApi;
  /** How many special tokens encoding adds to a text (e.g. 1 for a BOS token). */
  readonly numSpecialTokens: number;
  encode(texts: readonly string[], opts: { addSpecialTokens: boolean; signal?: AbortSignal }): Promise<number[][]>;
  decode(ids: readonly (readonly number[])[], signal?: AbortSignal): Promise<string[]>;
  /** Non-special token ids to build synthetic prompts from, ascending. */
  samplingIds(signal?: AbortSignal): Promise<number[]>;
  /**
   * The prompt as one user message through the tokenizer's chat template with the generation prompt (what vLLM's
   * `apply_chat_template(..., add_generation_prompt=True, tokenize=False)` gives); absent when the tokenizer has none.
   */
  applyChatTemplate?: (prompt: string) => string;
}

export type RampUpStrategy = 'linear' | 'exponential';
/** A metric `--goodput` sets an SLO on (core SloMetric). */
export type GoodputMetric = SloMetric;

/** Optional sampling parameters sent with every request (omitted when null). */
export interface SamplingParams {
  temperature: number | null;
  topP: number | null;
  topK: number | null;
  minP: number | null;
  frequencyPenalty: number | null;
  presencePenalty: number | null;
  repetitionPenalty: number | null;
}

/** How to drive the server: target, load shape, timeouts and what to report. */
export interface ServeBenchConfig {
  backend: Backend;
  /** e.g. `http://127.0.0.1:8000` (no trailing slash). */
  baseUrl: string;
  /** e.g. `/v1/completions`. */
  endpoint: string;
  /** The model id (used for the file name and as the request's model unless servedModelName is set). */
  model: string;
  servedModelName: string | null;
  headers: Readonly<Record<string, string>>;
  /** Sent as `Authorization: Bearer` (OPENAI_API_KEY). */
  apiKey: string | null;
  /** Requests per second; Infinity sends everything at once. */
  requestRate: number;
  burstiness: number;
  maxConcurrency: number | null;
  numWarmups: number;
  rampUp: { strategy: RampUpStrategy; startRps: number; endRps: number } | null;
  ignoreEos: boolean;
  sampling: SamplingParams;
  extraBody: Readonly<Record<string, unknown>> | null;
  /** A request fails when its response head is not in this long after the send, or no byte arrives for this long. */
  requestTimeoutMs: number;
  /** A request fails when its whole response is not in this long after the send, however steadily bytes come. */
  requestDeadlineMs: number;
  /** Seed of the arrival times (the prompts have their own in WorkloadConfig). */
  seed: number;
  percentileMetrics: readonly PercentileMetric[];
  metricPercentiles: readonly number[];
  /** SLOs in ms; null when no --goodput. */
  goodput: Partial<Record<GoodputMetric, number>> | null;
  /** Largest SSE event accepted, in bytes; a bigger one fails the request. */
  maxEventBytes: number;
  /** Each request carries `x-request-id: <prefix><index>` (vLLM's --request-id-prefix). */
  requestIdPrefix: string;
  /** Send each request at its own time (a timed_trace's timestamps) instead of the --request-rate plan. */
  selfTimed: boolean;
  /** LoRA adapter names (vLLM's --lora-modules): each request's model is one of them, drawn with the seed. */
  loraModules: readonly string[] | null;
  /** Open the connections the run will need before its clock starts (see preconnectCount); false: as requests go. */
  preconnect: boolean;
  /** Accept any TLS certificate (vLLM's --insecure). */
  insecure: boolean;
  /** Where vLLM's client defines a metric otherwise than isobench, use vLLM's definition (see docs/loadgen.md). */
  vllmCompat: ReadonlySet<VllmCompat>;
}

/**
 * One request as measured: the load generator's own type, which the store keeps per request (its `SampleRecord` is
 * this plus the trial id). Times are computed in loadgen/measurement.ts (`requestTimes`).
 */
export interface RequestSample {
  index: number;
  ok: boolean;
  /** Milliseconds since the trial's benchmark start when the request was sent. */
  startMs: number;
  /** Send to the first content chunk; null for a failed request. */
  ttftMs: number | null;
  /** Send to the response's end; null for a failed request. */
  e2elMs: number | null;
  /** Gaps between consecutive content chunks (empty for a failed request). */
  itlMs: number[];
  promptTokens: number;
  /** usage.completion_tokens, else the tokenizer's count, else the content chunk count; 0 for a failed request. */
  outputTokens: number;
  error: string | null;
}

/** One request as the load generator reports it: the stored sample plus its client queue time and text. */
export interface LoadgenSample extends RequestSample {
  /** Time spent waiting for a --max-concurrency slot, ms. */
  queueMs: number;
  /** The generated text (what arrived, also of a request that failed on the way). */
  text: string;
}

/** One metric over a run's successful requests, in ms: numpy's mean, population std and linear percentiles. */
export interface MetricStatistics {
  mean: number;
  median: number;
  std: number;
  /** Percentile (0..100, as --metric-percentiles gives them) to value, in that order. */
  percentiles: ReadonlyMap<number, number>;
}

/** The totals of a run over its successful requests (vLLM's calculate_metrics). */
export interface RunTotals {
  completed: number;
  failed: number;
  /** Seconds from the first arrival to the last response. */
  durationS: number;
  inputTokens: number;
  outputTokens: number;
  /** Completed requests per second. */
  requestThroughput: number;
  /** Requests per second meeting every --goodput SLO; null without SLOs. */
  requestGoodput: number | null;
  inputThroughput: number;
  outputThroughput: number;
  totalTokenThroughput: number;
  /** Most output chunks in any one-second bucket. */
  peakOutputThroughput: number;
  /** Most requests in flight at once. */
  peakConcurrentRequests: number;
}

/**
 * What a run measured, as canonical values: every metric's statistics (whatever --percentile-metrics selected) and
 * the totals, computed once from the samples (loadgen/measurement.ts `measure`). vLLM's summary and result JSON
 * (loadgen/vllm-result.ts) and the canonical MetricSet (`toMetricSet`) are projections of it.
 */
export interface Measurement {
  totals: RunTotals;
  metrics: Readonly<Record<PercentileMetric, MetricStatistics>>;
  /** The percentiles every metric has (--metric-percentiles), in order. */
  percentiles: readonly number[];
}

/** The outcome of one benchmark run: what was asked, the measurement, and every request's sample. */
export interface ServeBenchResult {
  status: 'ok';
  backend: Backend;
  modelId: string;
  numPrompts: number;
  requestRate: number;
  burstiness: number;
  maxConcurrency: number | null;
  rampUp: ServeBenchConfig['rampUp'];
  percentileMetrics: readonly PercentileMetric[];
  goodput: ServeBenchConfig['goodput'];
  /** The benchmark start as epoch ms (`performance.timeOrigin + performance.now()`), to align samples with server logs. */
  startEpochMs: number;
  measurement: Measurement;
  /** Every measured request, in workload order. */
  samples: LoadgenSample[];
  /** With --ramp-up-strategy: when the integer request rate changed (vLLM's `rps_change_events`). */
  rpsChangeEvents: { rps: number; timestamp: string }[] | null;
  /** Arrival-schedule lag per request (actual dispatch minus planned time), ms. */
  scheduleLagMs: number[];
  /** Connect time (ms) of each connection opened before the clock started (none counts in any request's TTFT). */
  connectMs: number[];
  /** Why pre-opened connections failed (the requests then opened their own). */
  preconnectFailed: string[];
}

/** Progress of a benchmark, for reporters. */
export type LoadgenEvent =
  | { type: 'phase'; phase: 'warmup' | 'measure' | 'done'; total: number }
  | { type: 'progress'; completed: number; failed: number; total: number }
  | { type: 'request-failed'; index: number; error: string };
