import type { TrialRecord } from '../store/index.js';
import { usableReference } from './serving.js';
import type { TaskPlan } from './types.js';

/**
 * What the run decided for one task before its first trial, the same for every trial of the task: a value, made once
 * by `taskDecisions` and never changed. Stored with every trial as data (`TrialRecord.oomFallbackMaxModelLen`), so a
 * resumed run adopts it without reading text.
 */
export interface TaskDecisions {
  /** `--max-model-len` of the OOM fallback, applied to every variant of the task; null: the task's own arguments. */
  readonly oomFallbackMaxModelLen: number | null;
  /** Server arguments every variant starts with (the perf command's, with the OOM fallback applied). */
  readonly serverArgs: readonly string[];
  /** Deviations recorded on every trial of the task, for people: perf-command fixes, workload substitutions, the OOM fallback. */
  readonly deviations: readonly string[];
}

/** The deviation recorded on every trial of a task that runs with the OOM fallback. */
export function oomDeviation(maxModelLen: number): string {
  return `max_model_len=${maxModelLen} (oom fallback for every variant of the task)`;
}

/** Server arguments with `--max-model-len` set to `value` (replacing any given value). */
export function withMaxModelLen(args: readonly string[], value: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--max-model-len') {
      i++;
      continue;
    }
    if (a.startsWith('--max-model-len=')) continue;
    out.push(a);
  }
  return [...out, '--max-model-len', String(value)];
}

/** The decisions of a task that runs with the OOM fallback at `oomFallbackMaxModelLen` (null: without it). */
export function taskDecisions(plan: TaskPlan, oomFallbackMaxModelLen: number | null): TaskDecisions {
  const serverArgs = plan.perf?.serverArgs ?? [];
  const deviations = [...(plan.perf?.fixes.map((f) => `perf command fix: ${f}`) ?? []), ...(plan.workload?.deviations ?? [])];
  if (oomFallbackMaxModelLen === null) return { oomFallbackMaxModelLen, serverArgs, deviations };
  return { oomFallbackMaxModelLen, serverArgs: withMaxModelLen(serverArgs, oomFallbackMaxModelLen), deviations: [...deviations, oomDeviation(oomFallbackMaxModelLen)] };
}

/**
 * The OOM-fallback decision that stored trials of the task's configuration carry (`oomFallbackMaxModelLen`, data
 * written when it was decided): undefined when none is stored (decide afresh), else every variant runs as they did.
 */
export function storedOomFallback(stored: readonly TrialRecord[]): number | null | undefined {
  if (stored.length === 0) return undefined;
  return stored.find((t) => t.oomFallbackMaxModelLen != null)?.oomFallbackMaxModelLen ?? null;
}

/**
 * The reference of a resumed run: the probe outputs of the first (by round) ok baseline trial of the configuration
 * whose probe got every output. A probe with no (or not every) output is never a reference (probe_unavailable).
 */
export function storedReference(baselineTrials: readonly TrialRecord[]): string[] | null {
  for (const t of [...baselineTrials].sort((a, b) => a.trialIndex - b.trialIndex)) {
    const reference = usableReference(t.probeOutputs);
    if (reference !== null) return reference;
  }
  return null;
}
