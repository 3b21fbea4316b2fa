import { randomUUID } from 'node:crypto';
import { redactSecrets, type Failure, type MetricSet } from '../core/index.js';
import type { Engine, PreparedVariant, ServerHandle } from '../engine/index.js';
import type { RequestSample } from '../loadgen/index.js';
import type { LogRecord, SampleRecord, TrialRecord } from '../store/index.js';
import { agreement, MISMATCH_BELOW } from './agreement.js';
import { classifyLog, parseStandaloneOutput, thrownFailure } from './trial-outcome.js';
import type { RunEvent, TrialOutcome, TrialPhase } from './events.js';
import { sweepPointText } from './plan.js';
import { primaryMetric } from './primary.js';
import { waitReady } from './readiness.js';
import { measureServing, runProbe, usableReference, type ProbeResult, type TaskWorkload } from './serving.js';
import type { TaskDecisions } from './decisions.js';
import type { PerfInfo, PlannedTrial, PlannedVariant, RunSettings, TaskPlan } from './types.js';

/** What the trials of one task share: its plan, its decisions, and its workload. */
export interface TaskRun {
  readonly plan: TaskPlan;
  readonly decisions: TaskDecisions;
  /** Built once per task (first server up) so that every variant gets the identical workload. */
  readonly workload: (baseUrl: string, signal: AbortSignal) => Promise<TaskWorkload>;
}

/** What a trial needs from the run. */
export interface TrialContext {
  engine: Engine;
  settings: RunSettings;
  runId: string;
  host: string;
  emit: (event: RunEvent) => void;
  signal: AbortSignal;
}

/** The trial before it is written: the record, its samples and logs. */
export interface TrialResult {
  record: TrialRecord;
  samples: SampleRecord[];
  logs: LogRecord[];
  outcome: TrialOutcome;
}

/** Internal: how a trial body ended. */
type Ending =
  | { status: 'ok'; metrics: MetricSet; correctness: TrialRecord['correctness'] }
  | { status: 'failed'; failure: Failure; correctness?: TrialRecord['correctness'] }
  | { status: 'cancelled' };

/** Thrown inside a trial body when the run is cancelled, so that `finally` blocks still stop servers. */
export class TrialCancelled extends Error {}

class TrialRecorder {
  readonly id = randomUUID();
  readonly startedAt = new Date();
  private readonly t0 = performance.now();
  private phaseStart = this.t0;
  private phase: TrialPhase | null = null;
  readonly phaseS: Partial<Record<TrialPhase, number>> = {};
  readonly logs: LogRecord[] = [];
  samples: RequestSample[] = [];
  command: string | null = null;
  workloadHash: string | null = null;
  probeOutputs: (string | null)[] | null = null;

  constructor(
    private readonly ctx: TrialContext,
    private readonly variant: PlannedVariant,
    private readonly trial: PlannedTrial,
  ) {}

  /** The trial's position in its round. */
  get position(): number {
    return this.trial.position;
  }

  get trialKey(): string {
    return this.trial.key;
  }

  enter(phase: TrialPhase): void {
    this.closePhase();
    this.phase = phase;
    this.phaseStart = performance.now();
    this.ctx.emit({
      type: 'trial_phase',
      taskCommit: this.variant.record.taskCommit,
      variantId: this.variant.record.id,
      trialKey: this.trial.key,
      trialIndex: this.trial.trialIndex,
      phase,
      elapsedS: this.elapsedS(),
    });
  }

  closePhase(): void {
    if (this.phase === null) return;
    this.phaseS[this.phase] = (this.phaseS[this.phase] ?? 0) + (performance.now() - this.phaseStart) / 1000;
    this.phase = null;
  }

  elapsedS(): number {
    return (performance.now() - this.t0) / 1000;
  }

  log(kind: LogRecord['kind'], text: string): void {
    if (text.length > 0) this.logs.push({ trialId: this.id, kind, text: redactSecrets(text) });
  }
}

/** Classifier results that do not name a failure of a variant (nothing matched, or a runner-defect signature). */
const NOT_NAMED: ReadonlySet<string> = new Set(['unclassified', 'internal_error']);

function cancelledIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new TrialCancelled('cancelled');
}

function tail(text: string, lines = 5): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** A server that exited (`when`: before it was ready, during the measured run): classified from its log, `server_crashed` when nothing more specific shows. */
function exitFailure(log: string, exit: { code: number | null; signal: string | null }, when: string): Failure {
  const classified = classifyLog(log, 'server');
  // A server log names the engine's failure; a harness-defect signature there is the engine's too.
  if (classified && !NOT_NAMED.has(classified.code)) return classified;
  const evidence = classified?.evidence ?? (tail(log, 1) || `server exited with code ${String(exit.code)} signal ${String(exit.signal)} ${when}`);
  return { code: 'server_crashed', evidence, source: 'server' };
}

/** How long a server whose requests failed gets to show that it exited (a process dies a moment after its sockets). */
const EXIT_GRACE_MS = 2000;

/** The server's crash when it has exited (or exits within EXIT_GRACE_MS), else null: it is still up. */
async function crashOf(server: ServerHandle, when: string): Promise<Failure | null> {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([server.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), EXIT_GRACE_MS)))]);
  clearTimeout(timer);
  return exit === null ? null : exitFailure(server.log(), exit, when);
}

async function startAndWait(
  ctx: TrialContext,
  prepared: PreparedVariant,
  perf: PerfInfo,
  serverArgs: readonly string[],
  rec: TrialRecorder | null,
): Promise<{ server: ServerHandle; failure: Failure | null }> {
  rec?.enter('start');
  const server = await ctx.engine.startServer(prepared, { model: perf.model ?? '', serverArgs: [...serverArgs], env: perf.env, port: 0, ...(rec ? { position: rec.position } : {}) }, ctx.signal);
  rec?.enter('ready');
  const ready = await waitReady(server, ctx.settings.timeoutStartupS, ctx.signal);
  if (ready.status === 'aborted') return { server, failure: null };
  if (ready.status === 'exited') return { server, failure: exitFailure(server.log(), ready, 'before it was ready') };
  if (ready.status === 'timeout') {
    return {
      server,
      failure: {
        code: 'server_start_timeout',
        evidence: `not ready after ${ctx.settings.timeoutStartupS} s (${ready.lastError})${server.log() ? `; last log line: ${tail(server.log(), 1)}` : ''}`,
        source: 'server',
      },
    };
  }
  return { server, failure: null };
}

/** Starts a variant's server once to see whether it runs out of memory at start-up (the OOM fallback pre-check). */
export async function startupCheck(runCtx: TrialContext, prepared: PreparedVariant, perf: PerfInfo, serverArgs: readonly string[]): Promise<Failure | null> {
  return withScopedSignal(runCtx, async (ctx) => {
    const { server, failure } = await startAndWait(ctx, prepared, perf, serverArgs, null);
    await server.stop();
    return failure;
  });
}

/** The failure of a probe that did not get every output: how many it got and the first reason. */
function probeUnavailable(probe: ProbeResult): Failure {
  const got = probe.outputs.filter((o) => o !== null).length;
  const first = probe.errors.findIndex((e) => e !== null);
  const reason = first < 0 ? '' : `; prompt ${first + 1}: ${probe.errors[first] ?? ''}`;
  return { code: 'probe_unavailable', evidence: `the correctness probe got ${got} of ${probe.outputs.length} outputs${reason}`, source: 'probe' };
}

async function servingBody(ctx: TrialContext, task: TaskRun, variant: PlannedVariant, prepared: PreparedVariant, rec: TrialRecorder, known: readonly string[] | null): Promise<Ending> {
  const perf = task.plan.perf;
  if (!perf) return { status: 'failed', failure: { code: 'task_invalid', evidence: 'no perf command' } };
  let server: ServerHandle | null = null;
  try {
    const started = await startAndWait(ctx, prepared, perf, task.decisions.serverArgs, rec);
    server = started.server;
    cancelledIfAborted(ctx.signal);
    if (started.failure) return { status: 'failed', failure: started.failure };
    const workload = await task.workload(server.baseUrl, ctx.signal);
    rec.workloadHash = workload.hash;
    rec.command = redactSecrets(`${perf.command}  # isobench: ${workload.describe}${task.plan.sweep ? `; ${sweepPointText(task.plan.sweep)}` : ''}`);

    // One budget for everything after ready: a server that stalls a probe or a stream cannot hold the run forever.
    const budget = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.settings.timeoutTrialS * 1000)]);
    const timeout = (what: string): Extract<Ending, { status: 'failed' }> => ({
      status: 'failed',
      failure: { code: 'bench_timeout', evidence: `${what} did not finish within --timeout-trial ${ctx.settings.timeoutTrialS} s`, source: 'bench' },
    });
    rec.enter('probe');
    const probe = await runProbe(server.baseUrl, perf.model ?? '', workload.plan, budget);
    cancelledIfAborted(ctx.signal);
    if (budget.aborted) return timeout('the correctness probe');
    rec.probeOutputs = probe.outputs;
    rec.log('probe', JSON.stringify(probe.outputs));
    const outputs = usableReference(probe.outputs);
    if (outputs === null) {
      // A probe that got no output checks nothing: the trial says so and is never a reference (nor measured).
      const crash = await crashOf(server, 'during the correctness probe');
      return { status: 'failed', failure: crash ?? probeUnavailable(probe) };
    }
    // The first baseline probe with every output is the reference (the runner adopts it from this trial's record).
    const reference = known ?? (variant.record.kind === 'baseline' ? outputs : null);
    const correctness = reference === null ? null : agreement(reference, outputs);
    if (correctness && correctness.agreement < MISMATCH_BELOW) {
      return {
        status: 'failed',
        correctness,
        failure: {
          code: 'correctness_mismatch',
          evidence: `greedy outputs agree ${(correctness.agreement * 100).toFixed(0)}% with the baseline's (below ${MISMATCH_BELOW * 100}%)`,
          source: 'probe',
        },
      };
    }

    rec.enter('warmup');
    const requests = (done: number, total: number, failed: number) =>
      ctx.emit({ type: 'trial_requests', taskCommit: variant.record.taskCommit, variantId: variant.record.id, trialKey: rec.trialKey, done, total, failed });
    const measured = await measureServing(server.baseUrl, perf.model ?? '', workload, ctx.settings.warmups, budget, (e) => {
      // The request count (0 of N) is known before the first request: the phase starts with it.
      if (e.type === 'phase' && e.phase === 'measure') {
        requests(0, e.total, 0);
        rec.enter('measure');
      }
      if (e.type === 'progress') requests(e.completed + e.failed, e.total, e.failed);
    });
    cancelledIfAborted(ctx.signal);
    rec.log('bench', measured.output);
    rec.samples = measured.samples;
    if (budget.aborted || measured.status === 'timeout') return { ...timeout('the warm-up and measured run'), correctness };
    if (measured.status === 'requests_failed') {
      // A trial is ok only when its workload completed; a server that died explains the failed requests.
      const crash = await crashOf(server, 'during the measured run');
      return { status: 'failed', correctness, failure: crash ?? { code: 'requests_failed', evidence: measured.evidence, source: 'bench' } };
    }
    return { status: 'ok', metrics: measured.metrics, correctness };
  } finally {
    rec.closePhase();
    if (server) {
      rec.enter('stop');
      await server.stop();
      rec.log('server', server.log());
      rec.closePhase();
    }
  }
}

async function standaloneBody(ctx: TrialContext, task: TaskRun, prepared: PreparedVariant, rec: TrialRecorder): Promise<Ending> {
  const perf = task.plan.perf;
  if (!perf || task.plan.mode === null) return { status: 'failed', failure: { code: 'task_invalid', evidence: 'no perf command' } };
  rec.command = redactSecrets(perf.scriptArgv.join(' '));
  rec.enter('measure');
  const result = await ctx.engine.exec(prepared, { argv: perf.scriptArgv, env: perf.env, timeoutMs: ctx.settings.timeoutTrialS * 1000, position: rec.position }, ctx.signal);
  rec.closePhase();
  cancelledIfAborted(ctx.signal);
  rec.log('bench', result.output);
  if (result.timedOut) {
    return { status: 'failed', failure: { code: 'bench_timeout', evidence: `the script did not finish within ${ctx.settings.timeoutTrialS} s`, source: 'bench' } };
  }
  if (result.exitCode !== 0) {
    const classified = classifyLog(result.output, 'bench');
    return {
      status: 'failed',
      failure: classified && !NOT_NAMED.has(classified.code) ? classified : { code: 'bench_failed', evidence: classified?.evidence ?? `exit code ${String(result.exitCode)}: ${tail(result.output, 1)}`, source: 'bench' },
    };
  }
  const parsed = parseStandaloneOutput(task.plan.mode, result.output);
  if (parsed.status === 'no_metrics') return { status: 'failed', failure: { code: 'no_metrics', evidence: parsed.reason, source: 'bench' } };
  return { status: 'ok', metrics: parsed.metrics, correctness: null };
}

function finish(ctx: TrialContext, task: TaskRun | TaskBeforeDecisions, variant: PlannedVariant, trial: PlannedTrial, rec: TrialRecorder, ending: Exclude<Ending, { status: 'cancelled' }>): TrialResult {
  const { plan, decisions } = task;
  rec.closePhase();
  const finishedAt = new Date();
  const durationS = rec.elapsedS();
  const metrics = ending.status === 'ok' ? ending.metrics : {};
  const correctness = ending.correctness ?? null;
  const record: TrialRecord = {
    id: rec.id,
    trialKey: trial.key,
    runId: ctx.runId,
    variantId: variant.record.id,
    taskCommit: variant.record.taskCommit,
    trialIndex: trial.trialIndex,
    position: trial.position,
    orderSeed: trial.orderSeed,
    configKey: plan.configKey,
    oomFallbackMaxModelLen: decisions.oomFallbackMaxModelLen,
    probeOutputs: rec.probeOutputs,
    mode: plan.mode,
    status: ending.status,
    failure: ending.status === 'failed' ? { ...ending.failure, evidence: redactSecrets(ending.failure.evidence) } : null,
    metrics,
    deviations: [...decisions.deviations],
    correctness,
    engine: ctx.engine.kind,
    host: ctx.host,
    dataSource: 'isobench',
    model: plan.perf?.model ?? plan.task.models[0] ?? null,
    command: rec.command ?? notRunCommand(plan),
    workloadHash: rec.workloadHash,
    startedAt: rec.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS,
  };
  const primary = primaryMetric(plan.mode, metrics, plan.primary.metric);
  const outcome: TrialOutcome = {
    trialKey: trial.key,
    taskCommit: record.taskCommit,
    variantId: record.variantId,
    trialIndex: trial.trialIndex,
    status: ending.status,
    failure: record.failure,
    metrics,
    primary,
    deviations: [...decisions.deviations],
    correctness,
    phaseS: rec.phaseS,
    durationS,
  };
  return { record, samples: rec.samples.map((s) => ({ ...s, trialId: rec.id })), logs: rec.logs, outcome };
}

/** The stored command of a trial that never built its workload: the task's (the point's, with its label, in a sweep). */
function notRunCommand(plan: TaskPlan): string | null {
  if (plan.sweep) return redactSecrets(`${plan.perf?.command ?? plan.task.perf_command ?? ''}  # isobench: not run; ${sweepPointText(plan.sweep)}`);
  return plan.task.perf_command ? redactSecrets(plan.task.perf_command) : null;
}

/** What a trial that fails before it starts needs of its task: the plan and the decisions (no workload). */
export type TaskBeforeDecisions = Pick<TaskRun, 'plan' | 'decisions'>;

/** A trial that fails before it starts (invalid task, failed preparation): the failure is repeated into the record. */
export function failedTrial(ctx: TrialContext, task: TaskBeforeDecisions, variant: PlannedVariant, trial: PlannedTrial, failure: Failure, log: string, logKind: LogRecord['kind']): TrialResult {
  const rec = new TrialRecorder(ctx, variant, trial);
  rec.log(logKind, log);
  return finish(ctx, task, variant, trial, rec, { status: 'failed', failure });
}

/**
 * Runs one trial of a prepared variant: server up, ready, probe, warm-up, measure, server down (serving), or the
 * engine's own script (standalone). `reference`: the baseline's probe outputs known so far (null: none yet; a
 * baseline trial then checks against its own). Returns null when the run was cancelled (a cancelled trial is not
 * recorded, so a re-run measures it).
 */
export async function runTrial(runCtx: TrialContext, task: TaskRun, variant: PlannedVariant, prepared: PreparedVariant, trial: PlannedTrial, reference: readonly string[] | null): Promise<TrialResult | null> {
  return withScopedSignal(runCtx, async (ctx) => {
    const rec = new TrialRecorder(ctx, variant, trial);
    let ending: Ending;
    try {
      ending = task.plan.mode === 'serving' ? await servingBody(ctx, task, variant, prepared, rec, reference) : await standaloneBody(ctx, task, prepared, rec);
    } catch (err) {
      if (err instanceof TrialCancelled || ctx.signal.aborted) ending = { status: 'cancelled' };
      else ending = { status: 'failed', failure: thrownFailure(err, 'isobench') };
    }
    if (ending.status === 'cancelled' || ctx.signal.aborted) return null;
    return finish(ctx, task, variant, trial, rec, ending);
  });
}

/** Runs `fn` with a signal of its own that follows the run's: listeners left on it go away with it. */
async function withScopedSignal<T>(runCtx: TrialContext, fn: (ctx: TrialContext) => Promise<T>): Promise<T> {
  const scoped = new AbortController();
  const forward = () => scoped.abort(runCtx.signal.reason);
  if (runCtx.signal.aborted) forward();
  else runCtx.signal.addEventListener('abort', forward, { once: true });
  try {
    return await fn({ ...runCtx, signal: scoped.signal });
  } finally {
    runCtx.signal.removeEventListener('abort', forward);
  }
}
