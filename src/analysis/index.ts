/** Statistics, comparisons with verdicts, primary metrics and completeness categories. */
export {
  BOOTSTRAP_MAX_N,
  bootstrapCi,
  ecdfPoints,
  DEFAULT_BOOTSTRAP_SEED,
  finiteValues,
  geometricMean,
  geometricMeanCi,
  mean,
  median,
  normalQuantile,
  percentile,
  seededRandom,
  summarize,
} from './stats.js';
export type { BootstrapOptions, Summary } from './stats.js';
export { incompleteBeta, studentTCdf, studentTQuantile } from './student.js';
export {
  byRound,
  compare,
  DEFAULT_LEVEL,
  DEFAULT_TIE_THRESHOLD,
  ESTIMATOR,
  holmAdjust,
  MIN_PAIRED_ROUNDS,
  tallyVerdicts,
  verdictFromCi,
} from './compare.js';
export type { CompareOptions, Comparison, NotComparableReason, RoundValues, Verdict, VerdictBasis, VerdictTally } from './compare.js';
export {
  analysisMode,
  ANALYSIS_MODES,
  choosePrimaryMetric,
  DEFAULT_PRIMARY_METRICS,
  parsePrimaryMetricSpec,
  primaryCandidates,
  primaryMetricOfCommand,
} from './primary.js';
export type { AnalysisMode, PrimaryMetricOverrides } from './primary.js';
export {
  AGENT_STATUS_LABELS,
  agentStatus,
  completenessCategory,
  COMPLETENESS_LABELS,
  countBy,
  failureBreakdown,
} from './categories.js';
export type { AgentAttempt, AgentStatus, CompletenessCategory, FailureGroup, FailureItem, Presence } from './categories.js';
export { alphaSpent, boundaryAlphas, intervalHalfWidth, lookLevel, looksTaken, lookSchedule, minimumDetectableEffect, sequentialDecision } from './sequential.js';
export { comparisonAtStop, simulatedRank, stagewiseInterval, stopEstimate, type StopEstimate } from './stop-interval.js';
export { noiseFloor, type NoiseFloor } from './noise-floor.js';
export type { SequentialDecision, SequentialOptions, StopReason } from './sequential.js';
export { isJudgedSecondary, positionEffect } from './diagnostics.js';
export type { PositionedValue } from './diagnostics.js';
