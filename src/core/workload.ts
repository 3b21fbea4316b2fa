/**
 * Defaults and names of the workload that several stages share: the defaults of the run's own settings, the load
 * generator's dataset names, API flavours and percentile metrics, and the data sources of trials. They live here,
 * with no dependency, so that the CLI can declare its options from them without loading the stages.
 */

/** Defaults of the run's own settings (the workload's defaults are vLLM's client's, see serving.ts). */
export const WORKLOAD_DEFAULTS = {
  /** Trials (rounds) per variant. */
  trials: 5,
  /** `--trials auto`: rounds before the first look, and at most. */
  minTrials: 3,
  maxTrials: 10,
  warmups: 10,
  timeoutTrialS: 600,
  timeoutStartupS: 600,
  /** `--max-model-len` of the out-of-memory fallback (the original's custom-context runner used 2048). */
  oomFallbackMaxModelLen: 2048,
} as const;

/**
 * vLLM's client defaults (benchmark_serving.py / `vllm bench serve`): the defaults of bench serve's flags and of the
 * load generator's workload and serving configs, here once.
 */
export const SERVE_DEFAULTS = {
  numPrompts: 1000,
  seed: 0,
  randomInputLen: 1024,
  randomOutputLen: 128,
  randomRangeRatio: 0,
  randomPrefixLen: 0,
  randomBatchSize: 1,
  randomMmBaseItemsPerRequest: 1,
  randomMmNumMmItemsRangeRatio: 0,
  /** vLLM's flag texts (a JSON object; a Python dict literal), parsed by the load generator. */
  randomMmLimitMmPerPrompt: '{"image": 255, "video": 1}',
  randomMmBucketConfig: '{(256, 256, 1): 0.5, (720, 1280, 1): 0.5, (720, 1280, 16): 0.0}',
  sonnetInputLen: 550,
  sonnetOutputLen: 150,
  sonnetPrefixLen: 200,
  prefixRepetitionPrefixLen: 256,
  prefixRepetitionSuffixLen: 256,
  prefixRepetitionNumPrefixes: 10,
  prefixRepetitionOutputLen: 128,
  customOutputLen: 256,
  specBenchOutputLen: 256,
  txtSlicesInputLen: 1024,
  txtSlicesOutputLen: 128,
  timedTraceChunkHashSize: 16,
  timedTraceSecMultiplier: 1,
  timedTraceLabels: { timestamp: 'timestamp', inputLength: 'input_length', outputLength: 'output_length', hashIds: 'hash_ids' },
  requestRate: Infinity,
  burstiness: 1,
  numWarmups: 0,
  requestTimeoutS: 600,
  /** vLLM's client: aiohttp.ClientTimeout(total=6 * 60 * 60) per request. */
  requestDeadlineS: 6 * 60 * 60,
  percentileMetrics: ['ttft', 'tpot', 'itl'],
  metricPercentiles: [99],
} as const;

export type DatasetName = 'random' | 'sharegpt' | 'sonnet' | 'prefix_repetition' | 'custom' | 'burstgpt' | 'spec_bench' | 'txt-slices' | 'timed_trace' | 'random-mm' | 'random-rerank';
export const DATASET_NAMES: readonly DatasetName[] = ['random', 'sharegpt', 'sonnet', 'prefix_repetition', 'custom', 'burstgpt', 'spec_bench', 'txt-slices', 'timed_trace', 'random-mm', 'random-rerank'];
/** Datasets whose prompts come from a local file (--dataset-path). */
export const FILE_DATASETS: readonly DatasetName[] = ['sharegpt', 'sonnet', 'custom', 'burstgpt', 'spec_bench', 'txt-slices', 'timed_trace'];

export type Backend = 'openai' | 'openai-chat' | 'vllm' | 'vllm-rerank';
export const BACKENDS: readonly Backend[] = ['openai', 'openai-chat', 'vllm', 'vllm-rerank'];

export const PERCENTILE_METRICS = ['ttft', 'tpot', 'itl', 'e2el', 'client_queue_time', 'e2el_including_client_queue'] as const;
export type PercentileMetric = (typeof PERCENTILE_METRICS)[number];

/** Local Docker reruns over the Modal pipeline over the separate pipelines, as the original merged them; our own runs first. */
export const DEFAULT_SOURCE_PRIORITY: readonly string[] = ['isobench', 'rerun', 'docker', 'modal', 'separate', 'separate_agent', 'separate_baseline', 'docker_flat'];

/** The configuration (`config_key`) of every imported record: the legacy pipelines, merged by source priority. */
export const IMPORTED_CONFIG_KEY = 'import';

/**
 * The deviations of trials that change what was measured (a dataset substituted, the OOM fallback), without the
 * perf-command parser's spelling fixes (`perf command fix: ...`), which only say how the command was read.
 */
export function measuredDeviations(deviations: readonly string[]): string[] {
  return [...new Set(deviations.filter((d) => !d.startsWith('perf command fix: ')))];
}

/**
 * The metric definitions where isobench differs from vLLM's client on purpose, each of which `--vllm-compat` switches
 * to vLLM's: `ttft` (the first chunk with choices, content or not, starts the clock), `done` (a stream succeeds
 * without `data: [DONE]`), `input-tokens` (total input tokens from `usage.prompt_tokens`), `output-tokens` (usage,
 * else the tokenizer's count of the text, and no output-length check).
 */
export const VLLM_COMPAT = ['ttft', 'done', 'input-tokens', 'output-tokens'] as const;
export type VllmCompat = (typeof VLLM_COMPAT)[number];
