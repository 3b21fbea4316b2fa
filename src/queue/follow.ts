import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent, RunEventListener, TaskPlan, TrialOutcome } from '../run/index.js';
import { primaryMetric, taskStartEvent } from '../run/index.js';
import type { RunStatus, Store, TrialRecord } from '../store/index.js';

/** What `run --queue --wait` follows: the run's plans, read back from the store as workers record trials. */
export interface FollowInput {
  store: Store;
  plans: readonly TaskPlan[];
  runId: string;
  engine: string;
  onEvent: RunEventListener;
  signal: AbortSignal;
  pollMs?: number;
}

/**
 * Polls the store until the queued run is finished (its last task's worker finishes the run record), emitting the
 * events of a local run for each trial the workers store, so the usual reporters draw the progress. Trial phases
 * happen on the workers and are not shown here. Returns the run's final status, or `cancelled` when `signal` stops
 * the following (the jobs stay queued).
 */
export async function followRun(input: FollowInput): Promise<{ status: RunStatus; outcomes: TrialOutcome[]; durationS: number }> {
  const t0 = performance.now();
  const emit = (e: RunEvent) => {
    try {
      input.onEvent(e);
    } catch {
      /* a reporter must not stop the following */
    }
  };
  const allKeys = input.plans.flatMap((p) => p.trials.map((t) => t.key));
  const before = await input.store.existingTrialKeys(allKeys);
  // A task whose perf command is a sweep has one plan per point: trials find their plan by key.
  const planOf = new Map(input.plans.flatMap((p) => p.trials.map((t) => [t.key, p] as const)));
  const idOf = (p: TaskPlan) => `${p.task.commit}#${p.configKey}`;
  const seen = new Set<string>();
  const started = new Set<string>();
  const left = new Map(input.plans.map((p) => [idOf(p), p.trials.filter((t) => !before.has(t.key)).length]));
  const outcomes: TrialOutcome[] = [];
  emit({
    type: 'run_start',
    runId: input.runId,
    engine: input.engine,
    store: input.store.location,
    tasks: input.plans.length,
    trialsPlanned: allKeys.length,
    trialsToRun: allKeys.length - before.size,
    resumed: before.size,
  });
  let status: RunStatus = 'running';
  while (status === 'running') {
    if (input.signal.aborted) {
      status = 'cancelled';
      break;
    }
    const run = (await input.store.listRuns()).find((r) => r.id === input.runId);
    const final = run?.status ?? 'failed';
    if ((await input.store.countTrials({ runId: input.runId })) > seen.size) {
      for (const t of await input.store.listTrials({ runId: input.runId })) {
        if (seen.has(t.trialKey)) continue;
        seen.add(t.trialKey);
        const plan = planOf.get(t.trialKey);
        if (!plan) continue;
        const id = idOf(plan);
        if (!started.has(id)) {
          started.add(id);
          emit(taskStartEvent(plan, left.get(id) ?? 0));
        }
        const outcome = outcomeOf(t);
        outcomes.push(outcome);
        emit({ type: 'trial_end', taskCommit: t.taskCommit, variantId: t.variantId, outcome });
        const n = (left.get(id) ?? 1) - 1;
        left.set(id, n);
        if (n === 0) emit({ type: 'task_end', taskCommit: t.taskCommit });
      }
    }
    if (final !== 'running') {
      status = final;
      break;
    }
    // A cancel ends the wait early; the loop then sees the signal.
    await sleep(input.pollMs ?? 1000, undefined, { signal: input.signal }).catch(() => undefined);
  }
  const durationS = (performance.now() - t0) / 1000;
  const count = (s: TrialOutcome['status']) => outcomes.filter((o) => o.status === s).length;
  emit({ type: 'run_end', runId: input.runId, status: status === 'finished' || status === 'cancelled' ? status : 'failed', ok: count('ok'), failed: count('failed'), skipped: before.size, durationS });
  return { status, outcomes, durationS };
}

function outcomeOf(t: TrialRecord): TrialOutcome {
  return {
    trialKey: t.trialKey,
    taskCommit: t.taskCommit,
    variantId: t.variantId,
    trialIndex: t.trialIndex,
    status: t.status,
    failure: t.failure,
    metrics: t.metrics,
    primary: primaryMetric(t.mode, t.metrics),
    deviations: t.deviations,
    correctness: t.correctness,
    phaseS: {},
    durationS: t.durationS,
  };
}
