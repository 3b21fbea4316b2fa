import type { MetricSet } from '../core/index.js';
import type { VariantKind } from '../task/index.js';

/** Task facts a legacy file states (any subset); merged into one Task per commit. */
export interface LegacyTaskInfo {
  commit: string;
  commitFull?: string;
  parent?: string;
  subject?: string;
  prUrl?: string;
  filesChanged?: string[];
  perfCommand?: string;
  models?: string[];
  model?: string;
  gpuConfig?: string;
  mode?: string;
}

/** One variant measurement of the original project, as read from one file. */
export interface LegacyRecord {
  /** Provenance: `docker`, `modal`, `separate`, `separate_agent`, `separate_baseline`, `rerun`. */
  dataSource: string;
  /** Path relative to the imported directory. */
  file: string;
  role: VariantKind;
  task: LegacyTaskInfo;
  /** The original status string (`success`, `error`, `baseline_failed`, ...). */
  status: string;
  error: string | null;
  metrics: MetricSet;
  /** Departures worth keeping with the trial (unit fixes, assumed roles). */
  notes: string[];
  raw: string | null;
  /** Server-log tail when the original kept one separately from the benchmark output. */
  serverLog: string | null;
  timestamp: string | null;
  durationS: number | null;
  model: string | null;
  /** The benchmark command that ran for this variant, when the file says (reruns had per-variant commands). */
  command: string | null;
  /** The agent's patch when the file carries it. */
  agentPatch: string | null;
  /** The mode label the file gave (benchmark_type / benchmark_mode), as written. */
  modeLabel: string | null;
}

/** A file that could not be read as any known shape: kept as a recorded error. */
export interface LegacyFileError {
  file: string;
  dataSource: string;
  message: string;
}
