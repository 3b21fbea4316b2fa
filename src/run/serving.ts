import { existsSync } from 'node:fs';
import { errorMessage, type MetricSet } from '../core/index.js';
import {
  buildWorkload,
  completeGreedy,
  defaultServeBenchConfig,
  defaultWorkloadConfig,
  resolveTokenizer,
  runServeBenchmark,
  toMetricSet,
  workloadHash,
  type LoadgenEvent,
  type ServeBenchConfig,
  type ServeBenchResult,
  type Workload,
  type WorkloadConfig,
} from '../loadgen/index.js';
import type { SampleRecord } from '../store/index.js';
import { PROBE_MAX_TOKENS, PROBE_PROMPTS } from './agreement.js';
import { WORKLOAD_DEFAULTS, type PerfInfo } from './types.js';

/** The workload of a serving task, decided from the perf command before any server is up. */
export interface WorkloadPlan {
  config: WorkloadConfig;
  requestRate: number;
  burstiness: number;
  maxConcurrency: number | null;
  ignoreEos: boolean;
  backend: 'openai' | 'openai-chat';
  endpoint: string;
  /** Departures from the perf command (a dataset file that is not here), recorded on every trial. */
  deviations: string[];
}

/** A built workload with its hash; the same object serves every variant of the task. */
export interface TaskWorkload {
  plan: WorkloadPlan;
  workload: Workload;
  hash: string;
  /** e.g. `random 512/64 x100, concurrency 16, rate inf` (stored with the command). */
  describe: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The serving workload of a perf command: its own settings, the original methodology's defaults where it is silent. */
export function workloadPlanOf(perf: PerfInfo): WorkloadPlan {
  const c = perf.client;
  const deviations: string[] = [];
  let dataset = typeof c.datasetName === 'string' ? c.datasetName : 'random';
  const path = typeof c.datasetPath === 'string' ? c.datasetPath : null;
  const needsFile = dataset === 'sharegpt' || dataset === 'sonnet' || dataset === 'custom';
  if (!['random', 'sharegpt', 'sonnet', 'prefix_repetition', 'custom'].includes(dataset) || (needsFile && (path === null || !existsSync(path)))) {
    deviations.push(`dataset ${dataset}${path ? ` (${path})` : ''} is not available here: random ${num(c.randomInputLen) ?? WORKLOAD_DEFAULTS.inputLen}/${num(c.randomOutputLen) ?? WORKLOAD_DEFAULTS.outputLen} used instead`);
    dataset = 'random';
  }
  const config = defaultWorkloadConfig({
    datasetName: dataset as WorkloadConfig['datasetName'],
    datasetPath: dataset === 'random' ? null : path,
    numPrompts: num(c.numPrompts) ?? WORKLOAD_DEFAULTS.numPrompts,
    seed: num(c.seed) ?? WORKLOAD_DEFAULTS.seed,
    randomInputLen: num(c.randomInputLen) ?? num(c.inputLen) ?? WORKLOAD_DEFAULTS.inputLen,
    randomOutputLen: num(c.randomOutputLen) ?? num(c.outputLen) ?? WORKLOAD_DEFAULTS.outputLen,
    ...(num(c.randomRangeRatio) === undefined ? {} : { randomRangeRatio: num(c.randomRangeRatio) ?? 0 }),
    ...(num(c.randomPrefixLen) === undefined ? {} : { randomPrefixLen: num(c.randomPrefixLen) ?? 0 }),
    ...(num(c.sharegptOutputLen) === undefined ? {} : { sharegptOutputLen: num(c.sharegptOutputLen) ?? null }),
  });
  const rate = c.requestRate === 'inf' || c.requestRate === undefined ? Infinity : num(c.requestRate) ?? Infinity;
  const chat = c.backend === 'openai-chat';
  return {
    config,
    requestRate: rate,
    burstiness: num(c.burstiness) ?? 1,
    maxConcurrency: num(c.maxConcurrency) ?? WORKLOAD_DEFAULTS.maxConcurrency,
    // The random dataset's lengths only hold when the server does not stop at EOS (vLLM's benchmarks set it too).
    ignoreEos: c.ignoreEos === true || dataset === 'random',
    backend: chat ? 'openai-chat' : 'openai',
    endpoint: typeof c.endpoint === 'string' ? c.endpoint : chat ? '/v1/chat/completions' : '/v1/completions',
    deviations,
  };
}

/** Builds the task's workload once, with the tokenizer of the first server that is up (its /tokenize). */
export async function buildTaskWorkload(plan: WorkloadPlan, baseUrl: string, model: string, signal: AbortSignal): Promise<TaskWorkload> {
  const tokenizer = await resolveTokenizer({ baseUrl, model }, signal);
  const workload = await buildWorkload(plan.config, tokenizer, signal);
  // The server tokenizer's id names the model, not the URL, so the hash agrees across servers on other ports.
  const hash = workloadHash(workload);
  const cfg = plan.config;
  const describe = `${cfg.datasetName} ${cfg.randomInputLen}/${cfg.randomOutputLen} x${cfg.numPrompts} seed ${cfg.seed}, concurrency ${plan.maxConcurrency ?? 'unlimited'}, rate ${plan.requestRate}`;
  return { plan, workload, hash, describe };
}

function benchConfig(baseUrl: string, model: string, tw: TaskWorkload, warmups: number): ServeBenchConfig {
  return defaultServeBenchConfig({
    backend: tw.plan.backend,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    endpoint: tw.plan.endpoint,
    model,
    requestRate: tw.plan.requestRate,
    burstiness: tw.plan.burstiness,
    maxConcurrency: tw.plan.maxConcurrency,
    numWarmups: warmups,
    ignoreEos: tw.plan.ignoreEos,
    seed: tw.plan.config.seed,
    percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el'],
    metricPercentiles: [50, 90, 95, 99],
  });
}

/** Greedy outputs of the probe prompts; a prompt that failed (or was not sent because `signal` fired) is null. */
export async function runProbe(baseUrl: string, model: string, signal: AbortSignal): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (const prompt of PROBE_PROMPTS) {
    if (signal.aborted) {
      out.push(null);
      continue;
    }
    try {
      out.push((await completeGreedy(baseUrl, model, prompt, PROBE_MAX_TOKENS, signal)).text);
    } catch {
      out.push(null);
    }
  }
  return out;
}

export type MeasureResult =
  | { status: 'ok'; metrics: MetricSet; samples: Omit<SampleRecord, 'trialId'>[]; output: string }
  /** Some or all measured requests failed: the workload did not complete (the samples keep what did). */
  | { status: 'requests_failed'; evidence: string; samples: Omit<SampleRecord, 'trialId'>[]; output: string }
  | { status: 'timeout'; samples: Omit<SampleRecord, 'trialId'>[]; output: string };

function summaryText(r: ServeBenchResult): string {
  const errors = r.errors.filter((e) => e !== '');
  const lines = [
    `completed ${r.completed} failed ${r.failed} duration ${r.duration.toFixed(3)} s`,
    JSON.stringify(r.allStats),
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
    result = await runServeBenchmark(benchConfig(baseUrl, model, tw, warmups), tw.workload, { signal: budget, onEvent });
  } catch (err) {
    if (budget.aborted) return { status: 'timeout', samples: [], output: errorMessage(err) };
    throw err;
  }
  const samples = result.samples.map(({ queueMs: _q, ...s }) => s);
  const output = summaryText(result);
  if (result.failed > 0 || result.completed === 0) {
    const first = result.errors.find((e) => e !== '') ?? 'no request completed';
    const what = result.completed === 0 ? `all ${result.failed} requests failed` : `${result.failed} of ${result.completed + result.failed} requests failed (${result.completed} finished)`;
    return { status: 'requests_failed', evidence: `${what}; first error: ${first}`, samples, output };
  }
  return { status: 'ok', metrics: toMetricSet(result), samples, output };
}
