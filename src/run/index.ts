/** Planning, interleaved trials, readiness, correctness probe, failure glue, resume, cancellation and progress events. */
export { agentPatch, loadAgent, parseAgentArg } from './agents.js';
/** Re-exported for code written before the vocabulary moved to core/; new code imports it from core. */
export { patchSha256 } from '../core/index.js';
export type { AgentArg, AgentPatch, AgentSource } from './agents.js';
export { agreement, MISMATCH_BELOW, PROBE_MAX_TOKENS, PROBE_PROMPTS, probeSimilarity } from './agreement.js';
export type { RunEvent, RunEventListener, TrialOutcome, TrialPhase, VariantInfo } from './events.js';
export { taskStartEvent } from './events.js';
export { configKeyOf, interleaveTrials, leaseKey, planRun, sweepOf, sweepPointOfCommand, sweepPointText, planVariants, roundOrders, taskOrderSeed, trialKey } from './plan.js';
export { perfInfoOf } from './perf.js';
export { taskPrimaryMetric } from './primary.js';
export { primaryMetric } from './primary.js';
export { READY_POLL_MS, waitReady } from './readiness.js';
export type { ReadyResult } from './readiness.js';
export { adaptiveStop, planTrials, summarizeResults, summarizeTasks } from './results.js';
export type { ResultComparison, ResultRow, TaskSummary } from './results.js';
export { runBenchmarks, runPlansOfRun } from './run-benchmarks.js';
export { oomDeviation, withMaxModelLen, type TaskDecisions } from './decisions.js';
export { CURVE_METRICS, type CurveMetric } from './results.js';
export type { RunBuild, RunInput, RunSummary } from './run-benchmarks.js';
export { WORKLOAD_DEFAULTS } from './types.js';
export type { PerfInfo, PlannedTrial, PlannedVariant, RunSettings, TaskPlan } from './types.js';
export { DEMO_AGENTS, DEMO_TASKS } from './demo-catalog.js';
