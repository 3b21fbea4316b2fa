/**
 * The serving load generator: datasets, arrival schedules, SSE client, metrics and vLLM-compatible JSON and text.
 * The only entry point of src/loadgen/ for other folders.
 */
export type {
  Backend,
  DatasetName,
  GoodputMetric,
  LoadgenEvent,
  LoadgenSample,
  RequestSample,
  MetricStats,
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
export { runServeBenchmark, requestBody, probeRequest, type RunOptions } from './runner.js';
export { waitUntilReady, READY_RETRY_MS } from './ready.js';
export { parseCsv } from './datasets.js';
export { sweepPoints, sweepRow, summarizeSweep, kneeIndex, sweepCsv, sweepJson, sweepHtml, pointLabel, type SweepPoint, type SweepRow, type SweepSummary } from './sweep.js';
export { defaultServeBenchConfig } from './config.js';
export { planArrivals, type ArrivalPlan } from './arrivals.js';
export { startArrivalClock, type ArrivalClock } from './arrival-clock.js';
export { headerProblem } from './http1.js';
export { toMetricSet } from './metric-set.js';
export { formatServeSummary, buildResultJson, resultFilePath, resultDate, type ResultFileInfo } from './report.js';
export { completeGreedy } from './greedy.js';
export { SseParser, SseOverflowError } from './sse.js';
export { percentiles, mean, std } from './stats.js';
export { Prng } from './prng.js';
