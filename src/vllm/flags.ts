/**
 * Which vLLM flags exist, how many values they take and which side reads them.
 * Sources: vLLM's EngineArgs.add_cli_args, the OpenAI server's make_arg_parser and the argparse definitions of
 * benchmarks/benchmark_{serving,latency,throughput,prefix_caching}.py / `vllm bench`, 2024-2026.
 */
export type FlagArity = 'bool' | 'value' | 'optbool';
export type FlagType = 'int' | 'float' | 'string' | 'bool' | 'rate';

export interface FlagSpec {
  /** Canonical long form, e.g. `--tensor-parallel-size`. */
  name: string;
  arity: FlagArity;
  /** camelCase key in the structured `server`/`client` object; absent when the flag is only passed through. */
  key?: string;
  type?: FlagType;
  /** Short or legacy spellings that mean the same flag. */
  aliases?: readonly string[];
  /** For a `bool` flag: the value it sets (`--no-enable-prefix-caching` sets `enablePrefixCaching` to false). */
  sets?: boolean;
}

const v = (name: string, key?: string, type: FlagType = 'string', aliases?: readonly string[]): FlagSpec => ({
  name,
  arity: 'value',
  type,
  ...(key === undefined ? {} : { key }),
  ...(aliases === undefined ? {} : { aliases }),
});
const b = (name: string, key?: string, sets = true): FlagSpec => ({ name, arity: 'bool', type: 'bool', sets, ...(key === undefined ? {} : { key }) });
const ob = (name: string, key?: string): FlagSpec => ({ name, arity: 'optbool', type: 'bool', ...(key === undefined ? {} : { key }) });

/** Engine arguments (EngineArgs): the server reads them; standalone scripts run the engine in-process and read them too. */
export const ENGINE_FLAGS: readonly FlagSpec[] = [
  v('--model', 'model'),
  v('--tokenizer', 'tokenizer'),
  v('--tokenizer-mode', 'tokenizerMode'),
  v('--revision', 'revision'),
  v('--code-revision'),
  v('--tokenizer-revision'),
  b('--trust-remote-code', 'trustRemoteCode'),
  b('--skip-tokenizer-init'),
  v('--download-dir'),
  v('--load-format', 'loadFormat'),
  v('--config-format'),
  v('--dtype', 'dtype'),
  v('--kv-cache-dtype', 'kvCacheDtype'),
  v('--quantization-param-path'),
  v('--quantization', 'quantization', 'string', ['-q']),
  v('--max-model-len', 'maxModelLen', 'int'),
  v('--guided-decoding-backend', 'guidedDecodingBackend'),
  v('--distributed-executor-backend', 'distributedExecutorBackend'),
  b('--worker-use-ray'),
  v('--pipeline-parallel-size', 'pipelineParallelSize', 'int', ['-pp']),
  v('--tensor-parallel-size', 'tensorParallelSize', 'int', ['-tp']),
  v('--data-parallel-size', 'dataParallelSize', 'int', ['-dp']),
  b('--enable-expert-parallel', 'enableExpertParallel'),
  v('--max-parallel-loading-workers'),
  b('--ray-workers-use-nsight'),
  v('--block-size', 'blockSize', 'int'),
  b('--enable-prefix-caching', 'enablePrefixCaching'),
  b('--no-enable-prefix-caching', 'enablePrefixCaching', false),
  b('--disable-sliding-window'),
  b('--use-v2-block-manager', 'useV2BlockManager'),
  v('--num-lookahead-slots', undefined, 'int'),
  v('--seed', 'seed', 'int'),
  v('--swap-space', undefined, 'float'),
  v('--cpu-offload-gb', undefined, 'float'),
  v('--gpu-memory-utilization', 'gpuMemoryUtilization', 'float'),
  v('--num-gpu-blocks-override', undefined, 'int'),
  v('--max-num-batched-tokens', 'maxNumBatchedTokens', 'int'),
  v('--max-num-seqs', 'maxNumSeqs', 'int'),
  v('--max-logprobs', undefined, 'int'),
  b('--disable-log-stats'),
  b('--disable-log-requests'),
  v('--rope-scaling'),
  v('--rope-theta', undefined, 'float'),
  v('--hf-overrides'),
  b('--enforce-eager', 'enforceEager'),
  v('--max-seq-len-to-capture', undefined, 'int'),
  b('--disable-custom-all-reduce'),
  v('--tokenizer-pool-size', undefined, 'int'),
  v('--limit-mm-per-prompt'),
  v('--mm-processor-kwargs'),
  b('--disable-mm-preprocessor-cache'),
  b('--enable-lora'),
  v('--max-loras', undefined, 'int'),
  v('--max-lora-rank', undefined, 'int'),
  v('--lora-dtype'),
  v('--max-cpu-loras', undefined, 'int'),
  b('--fully-sharded-loras'),
  v('--device'),
  v('--num-scheduler-steps', 'numSchedulerSteps', 'int'),
  ob('--multi-step-stream-outputs'),
  v('--scheduler-delay-factor', undefined, 'float'),
  ob('--enable-chunked-prefill', 'enableChunkedPrefill'),
  v('--speculative-model', 'speculativeModel'),
  v('--speculative-model-quantization'),
  v('--num-speculative-tokens', 'numSpeculativeTokens', 'int'),
  v('--speculative-draft-tensor-parallel-size', undefined, 'int'),
  v('--speculative-max-model-len', undefined, 'int'),
  v('--speculative-disable-by-batch-size', undefined, 'int'),
  v('--ngram-prompt-lookup-max', 'ngramPromptLookupMax', 'int'),
  v('--ngram-prompt-lookup-min', 'ngramPromptLookupMin', 'int'),
  v('--spec-decoding-acceptance-method'),
  v('--speculative-config', 'speculativeConfig'),
  v('--model-loader-extra-config'),
  v('--served-model-name', 'servedModelName'),
  v('--otlp-traces-endpoint'),
  b('--disable-async-output-proc'),
  v('--scheduling-policy'),
  v('--compilation-config', 'compilationConfig', 'string', ['-O']),
  v('--kv-transfer-config'),
  v('--worker-cls'),
  v('--generation-config'),
  v('--override-generation-config'),
  b('--enable-sleep-mode'),
  b('--calculate-kv-scales'),
  v('--task'),
  v('--preemption-mode'),
  v('--max-num-partial-prefills', undefined, 'int'),
  v('--long-prefill-token-threshold', undefined, 'int'),
  b('--enable-reasoning'),
  v('--reasoning-parser'),
  v('--additional-config'),
  v('--num-redundant-experts', undefined, 'int'),
  b('--enable-eplb'),
  b('--async-scheduling'),
  v('--attention-backend', 'attentionBackend'),
  v('--model-impl'),
  v('--logprobs-mode'),
  v('--prefix-caching-hash-algo'),
  v('--decode-context-parallel-size', undefined, 'int', ['-dcp']),
  v('--data-parallel-size-local', undefined, 'int'),
  v('--data-parallel-backend'),
  v('--all2all-backend'),
  v('--max-cudagraph-capture-size', undefined, 'int'),
  v('--kv-offloading-size', undefined, 'float'),
  v('--kv-offloading-backend'),
  v('--mamba-ssm-cache-dtype'),
  v('--structured-outputs-config'),
  v('--max-long-partial-prefills', undefined, 'int'),
  v('--kv-cache-memory-bytes', undefined, 'int'),
  b('--disable-cascade-attn'),
  b('--enable-prompt-embeds'),
  b('--enable-dbo'),
  b('--disable-hybrid-kv-cache-manager'),
];

/** Flags only the OpenAI-compatible API server reads (not the engine). */
export const API_SERVER_FLAGS: readonly FlagSpec[] = [
  v('--host', 'host'),
  v('--port', 'port', 'int'),
  v('--uvicorn-log-level'),
  v('--api-key'),
  v('--api-server-count', undefined, 'int'),
  v('--chat-template'),
  v('--response-role'),
  b('--enable-auto-tool-choice'),
  v('--tool-call-parser'),
  b('--disable-frontend-multiprocessing'),
  v('--lora-modules'),
  v('--root-path'),
  b('--return-tokens-as-token-ids'),
  b('--enable-prompt-tokens-details'),
];

/** Client flags of benchmark_serving.py / `vllm bench serve` (the load generator's side). */
export const SERVING_CLIENT_FLAGS: readonly FlagSpec[] = [
  v('--backend', 'backend'),
  v('--base-url', 'baseUrl'),
  v('--host', 'host'),
  v('--port', 'port', 'int'),
  v('--endpoint', 'endpoint'),
  v('--endpoint-type', 'endpointType'),
  v('--dataset', 'dataset'),
  v('--dataset-name', 'datasetName'),
  v('--dataset-path', 'datasetPath'),
  v('--max-concurrency', 'maxConcurrency', 'int'),
  v('--model', 'model'),
  v('--tokenizer', 'tokenizer'),
  v('--tokenizer-mode', 'tokenizerMode'),
  v('--served-model-name', 'servedModelName'),
  v('--best-of', 'bestOf', 'int'),
  b('--use-beam-search', 'useBeamSearch'),
  v('--num-prompts', 'numPrompts', 'int'),
  v('--logprobs', 'logprobs', 'int'),
  v('--request-rate', 'requestRate', 'rate'),
  v('--burstiness', 'burstiness', 'float'),
  v('--seed', 'seed', 'int'),
  b('--trust-remote-code', 'trustRemoteCode'),
  b('--disable-tqdm'),
  b('--profile', 'profile'),
  b('--save-result', 'saveResult'),
  b('--save-detailed'),
  b('--append-result'),
  v('--metadata'),
  v('--result-dir', 'resultDir'),
  v('--result-filename', 'resultFilename'),
  b('--ignore-eos', 'ignoreEos'),
  v('--percentile-metrics', 'percentileMetrics'),
  v('--metric-percentiles', 'metricPercentiles'),
  v('--goodput', 'goodput'),
  v('--sonnet-input-len', 'sonnetInputLen', 'int'),
  v('--sonnet-output-len', 'sonnetOutputLen', 'int'),
  v('--sonnet-prefix-len', 'sonnetPrefixLen', 'int'),
  v('--sharegpt-output-len', 'sharegptOutputLen', 'int'),
  v('--random-input-len', 'randomInputLen', 'int'),
  v('--random-output-len', 'randomOutputLen', 'int'),
  v('--random-range-ratio', 'randomRangeRatio', 'float'),
  v('--random-prefix-len', 'randomPrefixLen', 'int'),
  v('--random-mm-base-items-per-request', 'randomMmBaseItemsPerRequest', 'int'),
  v('--random-mm-num-mm-items-range-ratio', 'randomMmNumMmItemsRangeRatio', 'float'),
  v('--random-mm-limit-mm-per-prompt', 'randomMmLimitMmPerPrompt'),
  v('--random-mm-bucket-config', 'randomMmBucketConfig'),
  v('--hf-subset', 'hfSubset'),
  v('--hf-split', 'hfSplit'),
  v('--hf-output-len', 'hfOutputLen', 'int'),
  v('--temperature', 'temperature', 'float'),
  v('--top-p', 'topP', 'float'),
  v('--top-k', 'topK', 'int'),
  v('--min-p', 'minP', 'float'),
  v('--frequency-penalty', 'frequencyPenalty', 'float'),
  v('--presence-penalty', 'presencePenalty', 'float'),
  v('--repetition-penalty', 'repetitionPenalty', 'float'),
  v('--extra-body', 'extraBody'),
  v('--num-warmups', 'numWarmups', 'int'),
  v('--ramp-up-strategy', 'rampUpStrategy'),
  v('--ramp-up-start-rps', 'rampUpStartRps', 'int'),
  v('--ramp-up-end-rps', 'rampUpEndRps', 'int'),
  v('--label'),
  v('--request-id-prefix', 'requestIdPrefix'),
  v('--ready-check-timeout-sec', undefined, 'int'),
  v('--random-batch-size', 'randomBatchSize', 'int'),
  v('--custom-output-len', 'customOutputLen', 'int'),
  v('--prefix-repetition-prefix-len', 'prefixRepetitionPrefixLen', 'int'),
  v('--prefix-repetition-suffix-len', 'prefixRepetitionSuffixLen', 'int'),
  v('--prefix-repetition-num-prefixes', 'prefixRepetitionNumPrefixes', 'int'),
  v('--prefix-repetition-output-len', 'prefixRepetitionOutputLen', 'int'),
  b('--skip-chat-template'),
  b('--no-stream', 'noStream'),
  b('--disable-shuffle', 'disableShuffle'),
];

/** Script flags of benchmark_latency.py / `vllm bench latency` (the rest are engine flags). */
export const LATENCY_CLIENT_FLAGS: readonly FlagSpec[] = [
  v('--input-len', 'inputLen', 'int'),
  v('--output-len', 'outputLen', 'int'),
  v('--batch-size', 'batchSize', 'int'),
  v('--n', 'n', 'int'),
  b('--use-beam-search'),
  v('--num-iters-warmup', 'numItersWarmup', 'int'),
  v('--num-iters', 'numIters', 'int'),
  b('--profile'),
  v('--profile-result-dir'),
  v('--output-json', 'outputJson'),
  b('--disable-detokenize'),
];

/** Script flags of benchmark_throughput.py / `vllm bench throughput`. */
export const THROUGHPUT_CLIENT_FLAGS: readonly FlagSpec[] = [
  v('--backend', 'backend'),
  v('--dataset', 'dataset'),
  v('--dataset-name', 'datasetName'),
  v('--dataset-path', 'datasetPath'),
  v('--input-len', 'inputLen', 'int'),
  v('--output-len', 'outputLen', 'int'),
  v('--n', 'n', 'int'),
  v('--num-prompts', 'numPrompts', 'int'),
  v('--hf-max-batch-size', undefined, 'int'),
  v('--output-json', 'outputJson'),
  b('--async-engine', 'asyncEngine'),
  b('--disable-frontend-multiprocessing'),
  b('--disable-detokenize'),
  v('--lora-path'),
  v('--prefix-len', 'prefixLen', 'int'),
  v('--random-range-ratio', 'randomRangeRatio', 'float'),
  v('--hf-subset'),
  v('--hf-split'),
  b('--use-beam-search'),
];

/** Script flags of benchmark_prefix_caching.py. */
export const PREFIX_CACHING_CLIENT_FLAGS: readonly FlagSpec[] = [
  v('--dataset-path', 'datasetPath'),
  v('--output-len', 'outputLen', 'int'),
  v('--repeat-count', 'repeatCount', 'int'),
  v('--input-length-range', 'inputLengthRange'),
  v('--num-prompts', 'numPrompts', 'int'),
  b('--sort'),
  v('--prefix-len', 'prefixLen', 'int'),
];

/** Flags that both the serving client and the server must see (the client names the model the server serves). */
export const SHARED_SERVING_FLAGS: ReadonlySet<string> = new Set([
  '--model',
  '--tokenizer',
  '--tokenizer-mode',
  '--trust-remote-code',
  '--served-model-name',
]);

/** A lookup from every spelling (canonical and alias) to its spec. */
export function flagIndex(specs: readonly FlagSpec[]): Map<string, FlagSpec> {
  const index = new Map<string, FlagSpec>();
  for (const spec of specs) {
    index.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) index.set(alias, spec);
  }
  return index;
}
