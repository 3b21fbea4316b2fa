import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { errorMessage, IsobenchError, type Failure } from '../core/index.js';
import { PRESETS, type Engine, type PreparedVariant, type PrepareProgress } from '../engine/index.js';
import { LEASE_RENEW_MS, LEASE_TTL_MS, type RunRecord, type Store } from '../store/index.js';
import { taskStartEvent, type RunEvent, type RunEventListener, type TrialOutcome } from './events.js';
import { thrownFailure } from './trial-outcome.js';
import { adaptiveStop, gpuSecondsOf, planTrials } from './results.js';
import { buildTaskWorkload, usableReference, type TaskWorkload } from './serving.js';
import { leaseKey, tokenizerOf } from './plan.js';
import { storedOomFallback, storedReference, taskDecisions, type TaskDecisions } from './decisions.js';
import { failedTrial, runTrial, startupCheck, type TaskRun, type TrialContext, type TrialResult } from './trial.js';
import type { PlannedTrial, PlannedVariant, RunSettings, TaskPlan } from './types.js';

/** What `runBenchmarks` needs: the plans, an engine and a store (both owned by the caller), and where to report. */
export interface RunInput {
  plans: readonly TaskPlan[];
  engine: Engine;
  store: Store;
  settings: RunSettings;
  /** The resolved options, secrets removed (stored with the run). */
  config: unknown;
  runId?: string;
  onEvent?: RunEventListener;
  signal?: AbortSignal;
  /**
   * Checked before each trial starts: once aborted no further trial starts, the one in flight is completed and
   * stored, and the run ends `cancelled` (a queue worker's SIGTERM hands its task back this way).
   */
  drain?: AbortSignal;
}

/** The result of a run: its status and every trial outcome of this invocation (skipped ones included). */
export interface RunSummary {
  runId: string;
  status: 'finished' | 'cancelled' | 'failed';
  outcomes: TrialOutcome[];
  durationS: number;
  error: string | null;
  /** The variants this run prepared by building from source (or finding the build cached), apart from measuring. */
  builds?: RunBuild[];
}

/** A variant's build as this run prepared it: seconds spent building now (0 from the cache) and when it was made. */
export interface RunBuild {
  taskCommit: string;
  variantId: string;
  cached: boolean;
  seconds: number;
  builtSeconds: number;
}

class Runner {
  private readonly outcomes: TrialOutcome[] = [];
  private readonly builds: RunBuild[] = [];
  private readonly emit: (event: RunEvent) => void;
  private readonly ctx: TrialContext;
  private readonly signal: AbortSignal;
  private readonly stopped: () => boolean;

  constructor(
    private readonly input: RunInput,
    readonly runId: string,
  ) {
    const listener = input.onEvent;
    this.emit = (event) => {
      // A reporter that throws must not break the measurement.
      try {
        listener?.(event);
      } catch {
        /* ignored */
      }
    };
    this.signal = input.signal ?? new AbortController().signal;
    this.stopped = () => this.signal.aborted || input.drain?.aborted === true;
    this.ctx = { engine: input.engine, settings: input.settings, runId, host: hostname(), emit: this.emit, signal: this.signal };
  }

  async run(): Promise<RunSummary['status']> {
    const { store, plans } = this.input;
    const allKeys = plans.flatMap((p) => p.trials.map((t) => t.key));
    const existing = await store.existingTrialKeys(allKeys);
    this.emit({
      type: 'run_start',
      runId: this.runId,
      engine: this.input.engine.kind,
      store: store.location,
      tasks: plans.length,
      trialsPlanned: allKeys.length,
      trialsToRun: allKeys.length - existing.size,
      resumed: existing.size,
    });
    for (const plan of plans) {
      if (this.stopped()) return 'cancelled';
      await this.runTask(plan, existing);
    }
    return this.stopped() ? 'cancelled' : 'finished';
  }

  private async runTask(plan: TaskPlan, existing: Set<string>): Promise<void> {
    const { store } = this.input;
    const todo = plan.trials.filter((t) => !existing.has(t.key));
    for (const t of plan.trials) if (existing.has(t.key)) this.outcomes.push(skipped(t, plan));
    await store.upsertTask(plan.task);
    for (const v of plan.variants) await store.upsertVariant(v.record);
    this.emit(taskStartEvent(plan, todo.length));
    if (todo.length > 0) {
      if (plan.preFailure) {
        this.emit({ type: 'task_invalid', taskCommit: plan.task.commit, code: plan.preFailure.code, evidence: plan.preFailure.evidence });
        const task = { plan, decisions: taskDecisions(plan, null) };
        for (const t of todo) await this.save(failedTrial(this.ctx, task, variantOf(plan, t), t, plan.preFailure, plan.task.perf_command ?? '', 'raw'));
      } else {
        await this.runTaskTrials(plan, todo);
      }
    }
    this.emit({ type: 'task_end', taskCommit: plan.task.commit });
  }

  /** The task's trials' shared part: its decisions (made once, before) and its workload, built once on first use. */
  private taskRun(plan: TaskPlan, decisions: TaskDecisions): TaskRun {
    const perf = plan.perf;
    const workloadPlan = plan.workload;
    let built: Promise<TaskWorkload> | null = null;
    return {
      plan,
      decisions,
      workload: (baseUrl, signal) => {
        if (!workloadPlan) throw new Error('no serving workload for a standalone task');
        // Built once per task from the first server that is up, so every variant gets the identical requests.
        const tokenizer = tokenizerOf(plan.task, perf, this.input.settings);
        const preset = this.input.settings.serverPreset;
        const opts = { ...(tokenizer === undefined ? {} : { tokenizer }), ...(preset === undefined || preset === 'vllm' ? {} : { api: PRESETS[preset].tokenizerApi }) };
        built ??= buildTaskWorkload(workloadPlan, baseUrl, perf?.model ?? '', signal, opts).then(
          (tw) => {
            this.emit({ type: 'workload', taskCommit: plan.task.commit, hash: tw.hash, describe: tw.describe, tokenizer: tw.tokenizerUsed });
            return tw;
          },
        ).catch((err: unknown) => {
          built = null;
          throw err;
        });
        return built;
      },
    };
  }

  private async runTaskTrials(plan: TaskPlan, todo: PlannedTrial[]): Promise<void> {
    const needed = plan.variants.filter((v) => todo.some((t) => t.variantId === v.record.id));
    const prepared = new Map<string, { status: 'ready'; variant: PreparedVariant } | { status: 'failed'; failure: Failure; log: string }>();
    for (const v of needed) {
      if (this.signal.aborted) return;
      prepared.set(v.record.id, await this.prepare(plan, v));
    }
    const serving = plan.mode === 'serving';
    const task = this.taskRun(plan, taskDecisions(plan, serving ? await this.decideOomFallback(plan, prepared) : null));
    // The baseline's probe outputs every later probe is checked against: stored (a resumed run), else the first
    // baseline trial of this run whose probe got every output. Set here only, from the trials' records.
    let reference = serving ? await this.storedReference(plan) : null;
    let round = 0;
    const baselineId = plan.variants.find((v) => v.record.kind === 'baseline')?.record.id;
    for (const t of reference === null && serving && baselineId !== undefined ? baselineFirst(todo, baselineId) : todo) {
      if (this.stopped()) return;
      if (t.trialIndex !== round) {
        round = t.trialIndex;
        // `--trials auto`: between rounds, stop once the stored rounds settle every primary verdict.
        if (this.input.settings.adaptive && (await this.stopAdaptive(plan, round - 1))) return;
      }
      const variant = variantOf(plan, t);
      const prep = prepared.get(t.variantId);
      if (!prep) continue;
      if (prep.status === 'failed') {
        await this.save(failedTrial(this.ctx, task, variant, t, prep.failure, prep.log, 'patch'));
        continue;
      }
      const result = await runTrial(this.ctx, task, variant, prep.variant, t, reference);
      if (!result) continue;
      await this.save(result);
      if (reference === null && variant.record.kind === 'baseline') reference = usableReference(result.record.probeOutputs);
    }
    if (this.input.settings.adaptive && round > 0 && !this.stopped()) await this.stopAdaptive(plan, round);
  }

  /** Whether the task stops after `rounds` complete rounds (src/run adaptiveStop); emits `task_stop` when it does. */
  private async stopAdaptive(plan: TaskPlan, rounds: number): Promise<boolean> {
    if (rounds < 1) return false;
    const trials = await planTrials(this.input.store, plan);
    const stop = adaptiveStop(plan, trials, rounds, this.input.settings);
    if (!stop) return false;
    const used = trials.filter((t) => t.trialIndex <= stop.rounds);
    await this.input.store.saveTaskStop({
      taskCommit: plan.task.commit,
      configKey: plan.configKey,
      runId: this.runId,
      primaryMetric: plan.primary.metric,
      reason: stop.reason,
      rounds: stop.rounds,
      maxRounds: this.input.settings.trials,
      minRounds: this.input.settings.adaptive?.minTrials ?? null,
      looks: stop.looks,
      alphaSpent: stop.alphaSpent,
      ...gpuSecondsOf(plan, used, this.input.settings.trials),
      decidedAt: new Date().toISOString(),
    });
    this.emit({ type: 'task_stop', taskCommit: plan.task.commit, reason: stop.reason, rounds: stop.rounds, maxRounds: this.input.settings.trials });
    return true;
  }

  private async prepare(plan: TaskPlan, v: PlannedVariant): Promise<{ status: 'ready'; variant: PreparedVariant } | { status: 'failed'; failure: Failure; log: string }> {
    this.emit({ type: 'variant_prepare', taskCommit: plan.task.commit, variantId: v.record.id, status: 'start' });
    let result: { status: 'ready'; variant: PreparedVariant } | { status: 'failed'; failure: Failure; log: string };
    // Build progress at most once a second: the first line at once, then the latest line of each second (a line
    // that arrives inside the window is shown when it closes, never dropped for good: a build that prints one line
    // and then works for minutes shows that line).
    const progress = latestEvery(BUILD_PROGRESS_MS, (p: PrepareProgress) => {
      this.emit({ type: 'variant_build', taskCommit: plan.task.commit, variantId: v.record.id, phase: p.phase, line: p.line.slice(0, 300) });
    });
    try {
      result = await this.input.engine.prepare(v.spec, this.signal, (p) => {
        if (p.line.trim() !== '') progress.push(p);
      });
    } catch (err) {
      // A misconfigured engine is the user's to fix, not a property of the variant: stop the run with the message.
      if (err instanceof IsobenchError && err.code === 'E_USAGE') throw err;
      result = { status: 'failed', failure: thrownFailure(err, 'engine'), log: errorMessage(err) };
    } finally {
      progress.cancel();
    }
    const build = result.status === 'ready' ? result.variant.build : undefined;
    if (build) {
      this.builds.push({ taskCommit: plan.task.commit, variantId: v.record.id, cached: build.cached, seconds: build.seconds, builtSeconds: build.builtSeconds });
      await this.input.store.upsertVariant({ ...v.record, build: { seconds: build.builtSeconds, cached: build.cached, runId: this.runId, where: build.where } });
    }
    this.emit(
      result.status === 'ready'
        ? {
            type: 'variant_prepare',
            taskCommit: plan.task.commit,
            variantId: v.record.id,
            status: 'ready',
            environment: result.variant.environment,
            ...(build ? { build: { cached: build.cached, seconds: build.seconds, builtSeconds: build.builtSeconds, logFile: build.logFile } } : {}),
          }
        : { type: 'variant_prepare', taskCommit: plan.task.commit, variantId: v.record.id, status: 'failed', failure: result.failure },
    );
    return result;
  }

  /** The baseline's probe outputs from an earlier run of the same configuration, so a resumed run compares alike. */
  private async storedReference(plan: TaskPlan): Promise<string[] | null> {
    const baseline = plan.variants.find((v) => v.record.kind === 'baseline');
    if (!baseline) return null;
    return storedReference(await this.input.store.listTrials({ variantId: baseline.record.id, configKey: plan.configKey, status: 'ok' }));
  }

  /**
   * Decides the OOM fallback before anything of the task is measured, so every variant runs alike: adopt the
   * decision stored with the trials of this configuration, else start each variant's server once and look for
   * server_oom. Returns the fallback's `--max-model-len`, or null when the task runs with its own arguments.
   */
  private async decideOomFallback(plan: TaskPlan, prepared: Map<string, { status: string; variant?: PreparedVariant }>): Promise<number | null> {
    const fallback = this.input.settings.oomFallbackMaxModelLen;
    if (fallback <= 0 || !plan.perf) return null;
    const stored = storedOomFallback(await this.input.store.listTrials({ taskCommit: plan.task.commit, configKey: plan.configKey }));
    if (stored !== undefined) return stored;
    const serverArgs = plan.perf.serverArgs;
    for (const v of plan.variants) {
      if (this.signal.aborted) break;
      const p = prepared.get(v.record.id);
      if (!p?.variant) continue;
      let failure: Failure | null;
      try {
        failure = await startupCheck(this.ctx, p.variant, plan.perf, serverArgs);
      } catch (err) {
        failure = thrownFailure(err, 'engine');
      }
      const oom = failure?.code === 'server_oom';
      this.emit({ type: 'oom_precheck', taskCommit: plan.task.commit, variantId: v.record.id, result: failure === null ? 'ok' : oom ? 'oom' : 'other', fallbackMaxModelLen: oom ? fallback : null });
      if (oom) return fallback;
    }
    return null;
  }

  private async save(result: TrialResult): Promise<void> {
    await this.input.store.saveTrial(result.record, result.samples, result.logs);
    this.outcomes.push(result.outcome);
    this.emit({ type: 'trial_end', taskCommit: result.record.taskCommit, variantId: result.record.variantId, outcome: result.outcome });
  }

  summary(status: RunSummary['status'], durationS: number, error: string | null): RunSummary {
    return { runId: this.runId, status, outcomes: this.outcomes, durationS, error, ...(this.builds.length > 0 ? { builds: this.builds } : {}) };
  }

  counts(): { ok: number; failed: number; skipped: number } {
    const c = { ok: 0, failed: 0, skipped: 0 };
    for (const o of this.outcomes) c[o.status]++;
    return c;
  }

  emitEnd(status: RunSummary['status'], durationS: number): void {
    const buildS = this.builds.reduce((n, b) => n + b.seconds, 0);
    this.emit({ type: 'run_end', runId: this.runId, status, durationS, ...this.counts(), ...(this.builds.length > 0 ? { buildS } : {}) });
  }
}

/**
 * The trials to run with, in the first round that has a baseline trial to run, the baseline moved to the front (its
 * probe becomes the reference before the other variants' probes run: a resumed run whose stored baseline gave no
 * usable reference). The positions of that round are renumbered in the new order, so what is recorded is what ran.
 */
/** How often a variant's build progress line is emitted at most. */
const BUILD_PROGRESS_MS = 1000;

/**
 * Calls `fn` with the first value at once and then with the latest value at most once per `ms`: a value pushed
 * inside the window is delivered when the window closes (the last one wins), so a quiet spell after a push never
 * hides it. `cancel` drops what is pending and stops the timer.
 */
export function latestEvery<T>(ms: number, fn: (value: T) => void): { push(value: T): void; cancel(): void } {
  let last = -Infinity;
  let pending: { value: T } | null = null;
  let timer: NodeJS.Timeout | undefined;
  const deliver = (value: T): void => {
    last = performance.now();
    fn(value);
  };
  return {
    push(value) {
      const wait = last + ms - performance.now();
      if (wait <= 0 && timer === undefined) return deliver(value);
      pending = { value };
      timer ??= setTimeout(() => {
        timer = undefined;
        const p = pending;
        pending = null;
        if (p) deliver(p.value);
      }, Math.max(0, wait));
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = null;
    },
  };
}

function baselineFirst(todo: readonly PlannedTrial[], baselineId: string): PlannedTrial[] {
  const first = todo.find((t) => t.variantId === baselineId);
  if (!first) return [...todo];
  const round = todo.filter((t) => t.trialIndex === first.trialIndex);
  if (round[0] === first) return [...todo];
  const positions = round.map((t) => t.position).sort((a, b) => a - b);
  const reordered = [first, ...round.filter((t) => t !== first)].map((t, i) => ({ ...t, position: positions[i] ?? t.position }));
  const start = todo.indexOf(round[0] as PlannedTrial);
  return [...todo.slice(0, start), ...reordered, ...todo.slice(start + round.length)];
}

function variantOf(plan: TaskPlan, trial: PlannedTrial): PlannedVariant {
  const v = plan.variants.find((x) => x.record.id === trial.variantId);
  if (!v) throw new Error(`trial ${trial.key} names no variant of its task`);
  return v;
}

function skipped(t: PlannedTrial, plan: TaskPlan): TrialOutcome {
  return {
    trialKey: t.key,
    taskCommit: plan.task.commit,
    variantId: t.variantId,
    trialIndex: t.trialIndex,
    status: 'skipped',
    failure: null,
    metrics: {},
    primary: null,
    deviations: [],
    correctness: null,
    phaseS: {},
    durationS: 0,
  };
}

/**
 * Runs every planned trial that the store does not hold yet, interleaved per task, recording each one (ok or failed)
 * in one transaction. Cancelling `signal` stops at once: servers are stopped, the trial in flight is not recorded,
 * the run is marked cancelled. The caller owns the engine (and its cleanup) and the store.
 */
export async function runBenchmarks(input: RunInput): Promise<RunSummary> {
  const runId = input.runId ?? `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const record: RunRecord = {
    id: runId,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    status: 'running',
    engine: input.engine.kind,
    host: hostname(),
    config: input.config,
    pid: process.pid,
  };
  await takeLease(input, runId);
  const renew = setInterval(() => void input.store.renewRunLease(runId).catch(() => undefined), LEASE_RENEW_MS);
  renew.unref();
  try {
    return await measure(input, record);
  } finally {
    clearInterval(renew);
    await input.store.releaseRunLease(runId).catch(() => undefined);
  }
}

/**
 * One run per store configuration: the run takes the store's lease of each task configuration it plans
 * (`commit#configKey`) before it records anything, or fails naming the run that holds one. Two runs measuring the
 * same trials at once would disturb each other's numbers, and the later one's trials would be dropped as duplicates.
 */
async function takeLease(input: RunInput, runId: string): Promise<void> {
  const lease = await input.store.acquireRunLease(input.plans.map(leaseKey), { runId, host: hostname(), pid: process.pid });
  if (lease.status === 'acquired') return;
  const h = lease.holder;
  const plan = input.plans.find((p) => leaseKey(p) === h.key);
  throw new IsobenchError(
    'E_BUSY',
    `run ${h.runId} (pid ${h.pid ?? '?'} on ${h.host}, since ${h.acquiredAt}) is measuring task ${(plan?.task.commit ?? '').slice(0, 12)} with the same configuration (${plan?.configKey ?? '?'}) in store ${input.store.location}: one run per store configuration at a time`,
    {
      exitCode: 2,
      hint: `wait until run ${h.runId} ends, or stop it; a run whose process is gone (kill -9) is taken over at once on its host, and from any host once it has not renewed its lease for ${LEASE_TTL_MS / 1000} s`,
    },
  );
}

async function measure(input: RunInput, record: RunRecord): Promise<RunSummary> {
  const runId = record.id;
  await input.store.createRun(record);
  return runPlans(input, runId, (status) => input.store.finishRun(runId, status, new Date().toISOString()));
}

/**
 * Runs the plans of `input` under a run record that someone else owns (a queue worker runs one task of a queued
 * run): the same trials, events and resume as `runBenchmarks`, but no run record is created or finished.
 */
export function runPlansOfRun(input: RunInput & { runId: string }): Promise<RunSummary> {
  return runPlans(input, input.runId, () => Promise.resolve());
}

async function runPlans(input: RunInput, runId: string, finish: (status: RunSummary['status']) => Promise<void>): Promise<RunSummary> {
  const runner = new Runner(input, runId);
  const t0 = performance.now();
  let status: RunSummary['status'] = 'failed';
  let error: string | null = null;
  let usage: IsobenchError | null = null;
  try {
    status = await runner.run();
  } catch (err) {
    status = input.signal?.aborted ? 'cancelled' : 'failed';
    error = errorMessage(err);
    if (err instanceof IsobenchError && err.code === 'E_USAGE') usage = err;
  } finally {
    await finish(status);
    runner.emitEnd(status, (performance.now() - t0) / 1000);
  }
  if (usage) throw usage;
  return runner.summary(status, (performance.now() - t0) / 1000, error);
}
