import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { SERVE_DEFAULTS, errorMessage, type Failure, type MetricSet } from '../core/index.js';
import {
  buildWorkload,
  completeGreedy,
  defaultServeBenchConfig,
  DEFAULT_RANDOM_MM,
  defaultWorkloadConfig,
  parseBucketConfig,
  parseLimitMmPerPrompt,
  describeTokenizer,
  PERCENTILE_METRICS,
  requestSample,
  resolveTokenizer,
  runServeBenchmark,
  toMetricSet,
  vllmStatisticFields,
  workloadHash,
  type LoadgenEvent,
  type SamplingParams,
  type Tokenizer,
  type ServeBenchConfig,
  type RequestSample,
  type ServeBenchResult,
  type ServerTokenizerApi,
  type Workload,
  type WorkloadConfig,
} from '../loadgen/index.js';
import { PROBE_MAX_TOKENS, PROBE_PROMPTS } from './agreement.js';
import type { PerfInfo } from './types.js';

/** The workload of a serving task, decided from the perf command before any server is up. */
export interface WorkloadPlan {
  config: WorkloadConfig;
  requestRate: number;
  burstiness: number;
  maxConcurrency: number | null;
  /** The perf command's --num-warmups; null leaves the run's --warmups. */
  numWarmups: number | null;
  rampUp: ServeBenchConfig['rampUp'];
  ignoreEos: boolean;
  backend: 'openai' | 'openai-chat';
  endpoint: string;
  /** The model name requests carry (the command's --served-model-name), null for the task's model. */
  servedModelName: string | null;
  sampling: SamplingParams;
  /** --extra-body merged with the fields vLLM's client adds (logprobs, best_of, cache_prompt for llama.cpp). */
  extraBody: Record<string, unknown> | null;
  requestIdPrefix: string | null;
  /** Departures from the perf command (a dataset file replaced on request), recorded on every trial. */
  deviations: string[];
}

/** A built workload with its hash; the same object serves every variant of the task. */
export interface TaskWorkload {
  plan: WorkloadPlan;
  workload: Workload;
  hash: string;
  /** The tokenizer that counted the prompts; it also counts outputs a server streams without usage. */
  tokenizer: Tokenizer;
  /** e.g. `random 512/64 x100 seed 0, concurrency unlimited, rate inf, temperature 0` (stored with the command). */
  describe: string;
  /** Which tokenizer counted the prompts, e.g. `server-model:tiny (the server's /tokenize, llama.cpp API)`. */
  tokenizerUsed: string;
}

/** Where dataset files are looked up and what to do when one is missing (run's --dataset-dir, --missing-dataset). */
export interface DatasetOptions {
  datasetDir: string | null;
  /** `refuse`: the task fails at plan time (`dataset_missing`); `random`: random prompts replace it, as a deviation. */
  missingDataset: 'refuse' | 'random';
}

/** The file vLLM's README downloads for `--dataset-name sharegpt`; looked up in --dataset-dir when no path is given. */
export const SHAREGPT_FILE = 'ShareGPT_V3_unfiltered_cleaned_split.json';
const DEFAULT_FILES: Record<string, string> = { sharegpt: SHAREGPT_FILE, sonnet: 'sonnet.txt' };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The dataset file a perf command names, found in --dataset-dir (by path, then by file name) or as given; null when absent. */
export function findDatasetFile(dataset: string, path: string | null, dir: string | null): { file: string | null; looked: string[] } {
  const looked: string[] = [];
  const candidates: string[] = [];
  const name = path ?? DEFAULT_FILES[dataset];
  if (name === undefined) return { file: null, looked };
  if (dir !== null) {
    if (!isAbsolute(name)) candidates.push(join(dir, name));
    candidates.push(join(dir, basename(name)));
  }
  if (path !== null) candidates.push(resolve(path));
  for (const c of [...new Set(candidates)]) {
    looked.push(c);
    if (existsSync(c)) return { file: c, looked };
  }
  return { file: null, looked };
}

/**
 * The serving workload of a perf command, with vLLM's client defaults where the command is silent (no
 * --max-concurrency is unlimited; the dataset default is sharegpt for benchmark_serving.py, random for
 * `vllm bench serve`). A dataset file that is not here refuses the task (`dataset_missing`) unless
 * `missingDataset: 'random'` asks for the substitution, which is then a deviation.
 */
export function workloadPlanOf(perf: PerfInfo, opts: DatasetOptions): WorkloadPlan | Failure {
  const c = perf.client;
  const deviations: string[] = [];
  const defaultDataset = perf.script === 'benchmark_serving' ? 'sharegpt' : 'random';
  let dataset = str(c.datasetName) ?? defaultDataset;
  let path = str(c.datasetPath) ?? null;
  if (dataset === 'sharegpt' || dataset === 'sonnet' || dataset === 'custom') {
    const found = findDatasetFile(dataset, path, opts.datasetDir);
    if (found.file !== null) path = found.file;
    else {
      const what = `dataset ${dataset} (${path ?? DEFAULT_FILES[dataset] ?? 'no --dataset-path'})`;
      const where = found.looked.length > 0 ? `not found at ${found.looked.join(', ')}` : opts.datasetDir === null ? 'not found (no --dataset-dir given)' : 'has no file name to look for';
      if (opts.missingDataset === 'refuse') {
        return {
          code: 'dataset_missing',
          evidence: `${what} ${where}: pass --dataset-dir with the file, or --missing-dataset random to run random prompts instead (a deviation)`,
          source: 'perf_command',
        };
      }
      deviations.push(`${what} ${where}: random ${num(c.randomInputLen) ?? 1024}/${num(c.randomOutputLen) ?? 128} used instead (--missing-dataset random)`);
      dataset = 'random';
      path = null;
    }
  }
  const config = defaultWorkloadConfig({
    datasetName: dataset as WorkloadConfig['datasetName'],
    datasetPath: dataset === 'random' || dataset === 'prefix_repetition' ? null : path,
    ...defined({
      numPrompts: num(c.numPrompts),
      seed: num(c.seed),
      randomInputLen: num(c.randomInputLen) ?? num(c.inputLen),
      randomOutputLen: num(c.randomOutputLen) ?? num(c.outputLen),
      randomRangeRatio: num(c.randomRangeRatio),
      randomPrefixLen: num(c.randomPrefixLen),
      sharegptOutputLen: num(c.sharegptOutputLen),
      sonnetInputLen: num(c.sonnetInputLen),
      sonnetOutputLen: num(c.sonnetOutputLen),
      sonnetPrefixLen: num(c.sonnetPrefixLen),
      prefixRepetitionPrefixLen: num(c.prefixRepetitionPrefixLen),
      prefixRepetitionSuffixLen: num(c.prefixRepetitionSuffixLen),
      prefixRepetitionNumPrefixes: num(c.prefixRepetitionNumPrefixes),
      prefixRepetitionOutputLen: num(c.prefixRepetitionOutputLen),
      customOutputLen: num(c.customOutputLen),
    }),
  });
  const chat = c.backend === 'openai-chat' || c.endpointType === 'openai-chat';
  if (dataset === 'random-mm') {
    if (!chat) return { code: 'unsupported_flag', evidence: `--dataset-name random-mm with backend ${String(c.backend ?? 'vllm')}: multi-modal content is only supported on openai-chat (vLLM's client refuses it too): ${perf.command}`, source: 'perf_command' };
    try {
      config.randomMm = {
        baseItemsPerRequest: num(c.randomMmBaseItemsPerRequest) ?? DEFAULT_RANDOM_MM.baseItemsPerRequest,
        numMmItemsRangeRatio: num(c.randomMmNumMmItemsRangeRatio) ?? DEFAULT_RANDOM_MM.numMmItemsRangeRatio,
        limitMmPerPrompt: str(c.randomMmLimitMmPerPrompt) === undefined ? DEFAULT_RANDOM_MM.limitMmPerPrompt : parseLimitMmPerPrompt(String(c.randomMmLimitMmPerPrompt)),
        bucketConfig: str(c.randomMmBucketConfig) === undefined ? DEFAULT_RANDOM_MM.bucketConfig : parseBucketConfig(String(c.randomMmBucketConfig)),
      };
    } catch (err) {
      return { code: 'task_invalid', evidence: `${errorMessage(err)}: ${perf.command}`, source: 'perf_command' };
    }
  }
  // vLLM sends sonnet prompts through the chat template except to the chat endpoint, which applies its own.
  config.sonnetPromptFormatted = !chat;
  if (c.skipChatTemplate === true) config.skipChatTemplate = true;
  const extra: Record<string, unknown> = {};
  if (num(c.logprobs) !== undefined) extra.logprobs = num(c.logprobs);
  if (num(c.bestOf) !== undefined) extra.best_of = num(c.bestOf);
  // vLLM's client turns llama.cpp's prompt cache off so that repeated prompts are computed again.
  if (c.backend === 'llama.cpp') extra.cache_prompt = false;
  if (str(c.extraBody) !== undefined) Object.assign(extra, JSON.parse(String(c.extraBody)) as Record<string, unknown>);
  const strategy = c.rampUpStrategy;
  return {
    config,
    requestRate: c.requestRate === 'inf' || c.requestRate === undefined ? SERVE_DEFAULTS.requestRate : (num(c.requestRate) ?? SERVE_DEFAULTS.requestRate),
    burstiness: num(c.burstiness) ?? SERVE_DEFAULTS.burstiness,
    maxConcurrency: num(c.maxConcurrency) ?? null,
    numWarmups: num(c.numWarmups) ?? null,
    rampUp:
      (strategy === 'linear' || strategy === 'exponential') && num(c.rampUpStartRps) !== undefined && num(c.rampUpEndRps) !== undefined
        ? { strategy, startRps: num(c.rampUpStartRps) ?? 0, endRps: num(c.rampUpEndRps) ?? 0 }
        : null,
    // `vllm bench serve` sends ignore_eos for the random dataset so its lengths hold; benchmark_serving.py never did.
    ignoreEos: c.ignoreEos === true || (dataset === 'random' && perf.script !== 'benchmark_serving'),
    backend: chat ? 'openai-chat' : 'openai',
    endpoint: str(c.endpoint) ?? (chat ? '/v1/chat/completions' : '/v1/completions'),
    servedModelName: str(c.servedModelName) ?? null,
    sampling: {
      // vLLM's client sent temperature 0 (greedy) unless --temperature said otherwise, from benchmark_serving.py of
      // 2024 to `vllm bench serve` of 2025 (the tasks' era); only the newest leaves it to the server, with a warning.
      temperature: num(c.temperature) ?? 0,
      topP: num(c.topP) ?? null,
      topK: num(c.topK) ?? null,
      minP: num(c.minP) ?? null,
      frequencyPenalty: num(c.frequencyPenalty) ?? null,
      presencePenalty: num(c.presencePenalty) ?? null,
      repetitionPenalty: num(c.repetitionPenalty) ?? null,
    },
    extraBody: Object.keys(extra).length > 0 ? extra : null,
    requestIdPrefix: str(c.requestIdPrefix) ?? null,
    deviations,
  };
}

function defined<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}

/** What every request of the workload carries besides its prompt and length: part of the workload hash. */
function requestShape(plan: WorkloadPlan): unknown {
  return {
    backend: plan.backend,
    endpoint: plan.endpoint,
    ignoreEos: plan.ignoreEos,
    servedModelName: plan.servedModelName,
    sampling: plan.sampling,
    extraBody: plan.extraBody,
  };
}

/**
 * Builds the task's workload once: with the tokenizer named (`tokenizer`: a file, a folder or a Hugging Face name),
 * else that of the first server that is up (its /tokenize, in the shape `api` of its engine's preset).
 */
export async function buildTaskWorkload(
  plan: WorkloadPlan,
  baseUrl: string,
  model: string,
  signal: AbortSignal,
  opts: { tokenizer?: string; api?: ServerTokenizerApi } = {},
): Promise<TaskWorkload> {
  const tokenizer = await resolveTokenizer({ baseUrl, model, ...opts }, signal);
  const workload = await buildWorkload(plan.config, tokenizer, signal);
  // The server tokenizer's id names the model, not the URL, so the hash agrees across servers on other ports.
  const hash = workloadHash(workload, requestShape(plan));
  const cfg = plan.config;
  const s = plan.sampling;
  const sampling = [`temperature ${s.temperature ?? 'server default'}`, ...(s.topP === null ? [] : [`top_p ${s.topP}`]), ...(s.topK === null ? [] : [`top_k ${s.topK}`]), ...(s.minP === null ? [] : [`min_p ${s.minP}`])];
  const tokenizerUsed = describeTokenizer(tokenizer);
  const describe = `${cfg.datasetName} ${lengthsOf(cfg)} x${cfg.numPrompts} seed ${cfg.seed}, concurrency ${plan.maxConcurrency ?? 'unlimited'}, rate ${plan.requestRate}, ${sampling.join(' ')}${plan.extraBody ? `, extra body ${JSON.stringify(plan.extraBody)}` : ''}, tokenizer ${tokenizerUsed}`;
  return { plan, workload, hash, tokenizer, describe, tokenizerUsed };
}

function lengthsOf(cfg: WorkloadConfig): string {
  switch (cfg.datasetName) {
    case 'random':
      return `${cfg.randomInputLen}/${cfg.randomOutputLen}`;
    case 'random-mm':
      return `${cfg.randomInputLen}/${cfg.randomOutputLen} + ${cfg.randomMm.baseItemsPerRequest} image(s) per request`;
    case 'random-rerank':
      return `${cfg.randomInputLen} tokens per pair, ${cfg.randomBatchSize} document(s) per request`;
    case 'sonnet':
      return `${cfg.sonnetInputLen}/${cfg.sonnetOutputLen}`;
    case 'prefix_repetition':
      return `${cfg.prefixRepetitionPrefixLen}+${cfg.prefixRepetitionSuffixLen}/${cfg.prefixRepetitionOutputLen}`;
    case 'custom':
      return `${basename(cfg.datasetPath ?? '')}/${cfg.customOutputLen}`;
    case 'sharegpt':
      return `${basename(cfg.datasetPath ?? '')}/${cfg.sharegptOutputLen ?? 'dataset'}`;
    case 'spec_bench':
      return `${basename(cfg.datasetPath ?? '')}/${cfg.specBenchOutputLen}`;
    case 'txt-slices':
      return `${basename(cfg.datasetPath ?? '')} ${cfg.txtSlicesInputLen}/${cfg.txtSlicesOutputLen}`;
    case 'burstgpt':
    case 'timed_trace':
      return `${basename(cfg.datasetPath ?? '')}/dataset`;
  }
}

function benchConfig(baseUrl: string, model: string, tw: TaskWorkload, warmups: number): ServeBenchConfig {
  const p = tw.plan;
  return defaultServeBenchConfig({
    backend: p.backend,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    endpoint: p.endpoint,
    model,
    servedModelName: p.servedModelName,
    requestRate: p.requestRate,
    burstiness: p.burstiness,
    maxConcurrency: p.maxConcurrency,
    numWarmups: p.numWarmups ?? warmups,
    rampUp: p.rampUp,
    ignoreEos: p.ignoreEos,
    sampling: p.sampling,
    extraBody: p.extraBody,
    ...(p.requestIdPrefix === null ? {} : { requestIdPrefix: p.requestIdPrefix }),
    seed: p.config.seed,
    percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el'],
    metricPercentiles: [50, 90, 95, 99],
  });
}

/** The probe's greedy outputs, one per prompt; a prompt that got no output is null, with its reason in `errors`. */
export interface ProbeResult {
  outputs: (string | null)[];
  errors: (string | null)[];
}

/**
 * Greedy outputs of the probe prompts on the workload's own backend, endpoint and model name (chat or completions). A prompt
 * whose request failed (or was not sent because `signal` fired) gets null and the reason.
 */
export async function runProbe(baseUrl: string, model: string, plan: Pick<WorkloadPlan, 'backend' | 'endpoint' | 'servedModelName'>, signal: AbortSignal): Promise<ProbeResult> {
  const result: ProbeResult = { outputs: [], errors: [] };
  for (const prompt of PROBE_PROMPTS) {
    if (signal.aborted) {
      result.outputs.push(null);
      result.errors.push('not sent: the trial was stopped');
      continue;
    }
    try {
      result.outputs.push((await completeGreedy(baseUrl, { backend: plan.backend, endpoint: plan.endpoint, model: plan.servedModelName ?? model, prompt, maxTokens: PROBE_MAX_TOKENS }, signal)).text);
      result.errors.push(null);
    } catch (err) {
      result.outputs.push(null);
      result.errors.push(errorMessage(err));
    }
  }
  return result;
}

/** Probe outputs that can serve as the baseline's reference: one string per probe prompt, none missing. */
export function usableReference(outputs: unknown): string[] | null {
  if (!Array.isArray(outputs) || outputs.length !== PROBE_PROMPTS.length) return null;
  const strings = outputs.filter((o): o is string => typeof o === 'string');
  return strings.length === outputs.length ? strings : null;
}

export type MeasureResult =
  | { status: 'ok'; metrics: MetricSet; samples: RequestSample[]; output: string }
  /** Some or all measured requests failed: the workload did not complete (the samples keep what did). */
  | { status: 'requests_failed'; evidence: string; samples: RequestSample[]; output: string }
  | { status: 'timeout'; samples: RequestSample[]; output: string };

/** The reasons of the failed requests, in request order. */
function failedErrors(r: ServeBenchResult): string[] {
  return r.samples.flatMap((s) => (s.error !== null && s.error !== '' ? [s.error] : []));
}

function summaryText(r: ServeBenchResult): string {
  const t = r.measurement.totals;
  const errors = failedErrors(r);
  const lines = [
    `completed ${t.completed} failed ${t.failed} duration ${t.durationS.toFixed(3)} s`,
    JSON.stringify(vllmStatisticFields(r.measurement, PERCENTILE_METRICS)),
    ...(errors.length > 0 ? [`errors (first 5): ${errors.slice(0, 5).join(' | ')}`] : []),
  ];
  return lines.join('\n');
}

/**
 * Warm-up requests then the measured run of the task's workload (the load generator emits the phase change).
 * `ok` only when every measured request finished (warm-up failures do not count, as in vLLM's benchmark).
 * A budget signal that fires is a timeout; the run signal firing is cancellation (the caller checks it).
 */
export async function measureServing(
  baseUrl: string,
  model: string,
  tw: TaskWorkload,
  warmups: number,
  budget: AbortSignal,
  onEvent: (e: LoadgenEvent) => void,
): Promise<MeasureResult> {
  let result: ServeBenchResult;
  try {
    result = await runServeBenchmark(benchConfig(baseUrl, model, tw, warmups), tw.workload, { signal: budget, onEvent, tokenizer: tw.tokenizer });
  } catch (err) {
    if (budget.aborted) return { status: 'timeout', samples: [], output: errorMessage(err) };
    throw err;
  }
  const samples = result.samples.map(requestSample);
  const output = summaryText(result);
  const { completed, failed } = result.measurement.totals;
  if (failed > 0 || completed === 0) {
    const first = failedErrors(result)[0] ?? 'no request completed';
    const what = completed === 0 ? `all ${failed} requests failed` : `${failed} of ${completed + failed} requests failed (${completed} finished)`;
    return { status: 'requests_failed', evidence: `${what}; first error: ${first}`, samples, output };
  }
  return { status: 'ok', metrics: toMetricSet(result.measurement), samples, output };
}
