import type { Failure, FailureCode, MetricSet } from '../core/index.js';
import type { BenchmarkMode, VariantKind } from '../task/index.js';
import { sweepPointText } from '../vllm/index.js';
import type { TaskPlan } from './types.js';

/** The phases a trial goes through, in order; a trial that fails stops at the phase it failed in. */
export type TrialPhase = 'prepare' | 'start' | 'ready' | 'probe' | 'warmup' | 'measure' | 'stop';

/** One variant as the reporters see it. */
export interface VariantInfo {
  id: string;
  kind: VariantKind;
  /** `baseline`, `human`, or the agent's name. */
  label: string;
}

/** The outcome of one trial, as reported (the full record is in the store). */
export interface TrialOutcome {
  trialKey: string;
  taskCommit: string;
  variantId: string;
  trialIndex: number;
  status: 'ok' | 'failed' | 'skipped';
  failure: Failure | null;
  metrics: MetricSet;
  /** The mode's primary metric (see primaryMetric) and its value, when measured. */
  primary: { key: string; value: number } | null;
  deviations: string[];
  correctness: { agreement: number; probes: number } | null;
  /** Seconds spent in each phase of this trial; `measure` is the measured run itself. */
  phaseS: Partial<Record<TrialPhase, number>>;
  durationS: number;
}

/** Typed progress events of `runBenchmarks`; only src/cli draws them. */
export type RunEvent =
  | { type: 'run_start'; runId: string; engine: string; store: string; tasks: number; trialsPlanned: number; trialsToRun: number; resumed: number }
  | { type: 'task_start'; taskCommit: string; subject: string | null; mode: BenchmarkMode | null; variants: VariantInfo[]; trialsToRun: number; sweepPoint?: string }
  | { type: 'task_invalid'; taskCommit: string; code: FailureCode; evidence: string }
  | {
      type: 'variant_prepare';
      taskCommit: string;
      variantId: string;
      status: 'start' | 'ready' | 'failed';
      environment?: string;
      failure?: Failure;
      /** The variant's build from source (seconds 0 when it came from the build cache), apart from any measuring. */
      build?: { cached: boolean; seconds: number; builtSeconds: number; logFile: string };
    }
  /** A variant is being built from source: the build's last log line (at most one event a second per variant). */
  | { type: 'variant_build'; taskCommit: string; variantId: string; phase: 'build'; line: string }
  | { type: 'oom_precheck'; taskCommit: string; variantId: string; result: 'ok' | 'oom' | 'other'; fallbackMaxModelLen: number | null }
  | { type: 'trial_phase'; taskCommit: string; variantId: string; trialKey: string; trialIndex: number; phase: TrialPhase; elapsedS: number }
  /** The task's workload was built (once per task): what it is and which tokenizer counted its prompts. */
  | { type: 'workload'; taskCommit: string; hash: string; describe: string; tokenizer: string }
  | { type: 'trial_requests'; taskCommit: string; variantId: string; trialKey: string; done: number; total: number; failed: number }
  | { type: 'trial_end'; taskCommit: string; variantId: string; outcome: TrialOutcome }
  /** `--trials auto`: the task stops after `rounds` of at most `maxRounds` rounds (settled, futile or max_rounds). */
  | { type: 'task_stop'; taskCommit: string; reason: 'settled' | 'futile' | 'max_rounds'; rounds: number; maxRounds: number }
  | { type: 'task_end'; taskCommit: string }
  /** `buildS`: seconds of `durationS` spent building variants from source (absent when nothing was built). */
  | { type: 'run_end'; runId: string; status: 'finished' | 'cancelled' | 'failed'; ok: number; failed: number; skipped: number; durationS: number; buildS?: number };

export type RunEventListener = (event: RunEvent) => void;

/** The `task_start` event of a plan with `trialsToRun` trials left: a local run and `run --queue --wait` emit the same one. */
export function taskStartEvent(plan: TaskPlan, trialsToRun: number): Extract<RunEvent, { type: 'task_start' }> {
  return {
    type: 'task_start',
    taskCommit: plan.task.commit,
    subject: plan.task.subject ?? null,
    mode: plan.mode,
    variants: plan.variants.map((v) => ({ id: v.record.id, kind: v.record.kind, label: v.label })),
    trialsToRun,
    ...(plan.sweep ? { sweepPoint: sweepPointText(plan.sweep) } : {}),
  };
}
