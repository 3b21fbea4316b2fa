/**
 * The serving load generator: datasets, arrival schedules, SSE client, the Measurement (measurement.ts) and its
 * projections: vLLM-compatible JSON and text (vllm-result.ts), the canonical MetricSet.
 * The only entry point of src/loadgen/ for other folders.
 */
export type {
  Backend,
  DatasetName,
  GoodputMetric,
  LoadgenEvent,
  LoadgenSample,
  Measurement,
  MetricStatistics,
  RequestSample,
  RunTotals,
  PercentileMetric,
  RampUpStrategy,
  SamplingParams,
  ServeBenchConfig,
  ServeBenchResult,
  Tokenizer,
  Workload,
  WorkloadConfig,
  WorkloadRequest,
} from './types.js';
export { BACKENDS, DATASET_NAMES, PERCENTILE_METRICS } from './types.js';
export { buildWorkload, defaultWorkloadConfig, workloadHash } from './workload.js';
export { resolveTokenizer, loadTokenizerFile, findInHfCache, probeServerTokenizer, describeTokenizer, type TokenizerRequest } from './tokenizer.js';
export { SERVER_TOKENIZER_APIS, type ServerTokenizerApi } from './types.js';
export {
  TOKENIZER_PACKAGES,
  tokenizerPackageFor,
  locatePackageTokenizer,
  type TokenizerPackage,
  type PackageLocation,
} from './tokenizer-packages.js';
export { runServeBenchmark, requestBody, probeRequest, type RunOptions } from './serve-bench.js';
export { waitUntilReady, READY_RETRY_MS } from './ready.js';
export { parseCsv } from './datasets.js';
export { sweepPoints, sweepRow, summarizeSweep, kneeIndex, sweepCsv, sweepJson, sweepHtml, pointLabel, type SweepPoint, type SweepRow, type SweepSummary } from './sweep.js';
export { defaultServeBenchConfig } from './config.js';
export { planArrivals, type ArrivalPlan } from './arrivals.js';
export { startArrivalClock, type ArrivalClock } from './arrival-clock.js';
export { headerProblem } from './http1.js';
export { measure, requestSample, serveBenchResult, toMetricSet } from './measurement.js';
export { formatServeSummary, buildResultJson, resultFilePath, resultDate, shownMetrics, vllmStatisticFields, type ResultFileInfo } from './vllm-result.js';
export { completeGreedy } from './greedy.js';
export { SseParser, SseOverflowError } from './sse.js';
export { percentiles, mean, std } from './numpy-stats.js';
export { Prng } from './prng.js';
export { DEFAULT_RANDOM_MM, encodePng, parseBucketConfig, parseLimitMmPerPrompt, type MmItem, type RandomMmConfig } from './multimodal.js';
