import { randomBytes } from 'node:crypto';
import { SERVE_DEFAULTS as D } from '../core/index.js';
import type { ServeBenchConfig } from './types.js';

/** vLLM's defaults (core's SERVE_DEFAULTS) for everything but the target; `baseUrl` and `model` must be given. */
export function defaultServeBenchConfig(target: Pick<ServeBenchConfig, 'baseUrl' | 'model'> & Partial<ServeBenchConfig>): ServeBenchConfig {
  const backend = target.backend ?? 'openai';
  return {
    backend,
    endpoint: backend === 'openai-chat' ? '/v1/chat/completions' : backend === 'vllm-rerank' ? '/v1/rerank' : '/v1/completions',
    servedModelName: null,
    headers: {},
    apiKey: null,
    requestRate: D.requestRate,
    burstiness: D.burstiness,
    maxConcurrency: null,
    numWarmups: D.numWarmups,
    rampUp: null,
    ignoreEos: false,
    sampling: { temperature: null, topP: null, topK: null, minP: null, frequencyPenalty: null, presencePenalty: null, repetitionPenalty: null },
    extraBody: null,
    requestTimeoutMs: D.requestTimeoutS * 1000,
    requestDeadlineMs: D.requestDeadlineS * 1000,
    seed: D.seed,
    percentileMetrics: [...D.percentileMetrics],
    metricPercentiles: [...D.metricPercentiles],
    goodput: null,
    maxEventBytes: 1 << 20,
    requestIdPrefix: `bench-${randomBytes(4).toString('hex')}-`,
    selfTimed: false,
    loraModules: null,
    insecure: false,
    preconnect: true,
    vllmCompat: new Set(),
    ...target,
  };
}
