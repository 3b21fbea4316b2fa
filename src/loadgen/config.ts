import { randomBytes } from 'node:crypto';
import type { ServeBenchConfig } from './types.js';

/** vLLM's defaults for everything but the target; `baseUrl` and `model` must be given. */
export function defaultServeBenchConfig(target: Pick<ServeBenchConfig, 'baseUrl' | 'model'> & Partial<ServeBenchConfig>): ServeBenchConfig {
  const backend = target.backend ?? 'openai';
  return {
    backend,
    endpoint: backend === 'openai-chat' ? '/v1/chat/completions' : '/v1/completions',
    servedModelName: null,
    headers: {},
    apiKey: null,
    requestRate: Infinity,
    burstiness: 1,
    maxConcurrency: null,
    numWarmups: 0,
    rampUp: null,
    ignoreEos: false,
    sampling: { temperature: null, topP: null, topK: null, minP: null, frequencyPenalty: null, presencePenalty: null, repetitionPenalty: null },
    extraBody: null,
    requestTimeoutMs: 600_000,
    // vLLM's client: aiohttp.ClientTimeout(total=6 * 60 * 60) per request.
    requestDeadlineMs: 6 * 60 * 60 * 1000,
    seed: 0,
    percentileMetrics: ['ttft', 'tpot', 'itl'],
    metricPercentiles: [99],
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
