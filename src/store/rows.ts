import { gunzipSync, gzipSync } from 'node:zlib';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import { redactDeep, redactSecrets, type Failure } from '../core/index.js';
import type { BenchmarkMode, Task, VariantKind } from '../task/index.js';
import type { LogsTable, RunsTable, TaskStopsTable, TrialsTable, VariantsTable } from './schema.js';
import type { LogKind, LogRecord, RunRecord, RunStatus, TaskStopReason, TaskStopRecord, TrialRecord, VariantBuildRecord, VariantRecord } from './types.js';

/** Conversions between records and rows. Text that came from outside is redacted on the way in. */

export const LOG_ENCODING = 'gzip';

export type TrialRow = Omit<Selectable<TrialsTable>, 'seq'>;

export function trialToRow(t: TrialRecord): TrialRow {
  const failure: Failure | null = t.failure === null ? null : { ...t.failure, evidence: redactSecrets(t.failure.evidence) };
  return {
    id: t.id,
    trial_key: t.trialKey,
    run_id: t.runId,
    variant_id: t.variantId,
    task_commit: t.taskCommit,
    trial_index: t.trialIndex,
    position: t.position ?? null,
    order_seed: t.orderSeed ?? null,
    config_key: t.configKey ?? null,
    oom_fallback_max_model_len: t.oomFallbackMaxModelLen ?? null,
    // Greedy outputs of fixed prompts, but text from a server all the same: redacted like every other text.
    probe_outputs_json: t.probeOutputs == null ? null : JSON.stringify(t.probeOutputs.map((o) => (o === null ? null : redactSecrets(o)))),
    mode: t.mode,
    status: t.status,
    failure_code: failure?.code ?? null,
    failure_json: failure === null ? null : JSON.stringify(failure),
    metrics_json: JSON.stringify(t.metrics),
    deviations_json: JSON.stringify(t.deviations.map(redactSecrets)),
    correctness_json: t.correctness === null ? null : JSON.stringify(t.correctness),
    engine: t.engine,
    host: t.host,
    data_source: t.dataSource,
    model: t.model,
    command: t.command === null ? null : redactSecrets(t.command),
    workload_hash: t.workloadHash,
    started_at: t.startedAt,
    finished_at: t.finishedAt,
    duration_s: t.durationS,
  };
}

export function rowToTrial(r: TrialRow): TrialRecord {
  return {
    id: r.id,
    trialKey: r.trial_key,
    runId: r.run_id,
    variantId: r.variant_id,
    taskCommit: r.task_commit,
    trialIndex: r.trial_index,
    mode: r.mode as BenchmarkMode | null,
    status: r.status as TrialRecord['status'],
    failure: r.failure_json === null ? null : (JSON.parse(r.failure_json) as Failure),
    metrics: JSON.parse(r.metrics_json) as Record<string, number>,
    deviations: JSON.parse(r.deviations_json) as string[],
    correctness: r.correctness_json === null ? null : (JSON.parse(r.correctness_json) as TrialRecord['correctness']),
    engine: r.engine,
    host: r.host,
    dataSource: r.data_source,
    model: r.model,
    command: r.command,
    workloadHash: r.workload_hash,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationS: r.duration_s,
    ...(r.position === null ? {} : { position: Number(r.position) }),
    ...(r.order_seed === null ? {} : { orderSeed: Number(r.order_seed) }),
    ...(r.config_key === null ? {} : { configKey: r.config_key }),
    ...(r.oom_fallback_max_model_len === null ? {} : { oomFallbackMaxModelLen: Number(r.oom_fallback_max_model_len) }),
    ...(r.probe_outputs_json === null ? {} : { probeOutputs: parseProbeOutputs(r.probe_outputs_json) }),
  };
}

const ProbeOutputs = z.array(z.string().nullable());

/**
 * Probe outputs as stored (`trials.probe_outputs_json`, and the probe log of schema 5 and before): a JSON array of
 * string|null. Anything else (damaged text) is null: such a probe is never a reference.
 */
export function parseProbeOutputs(json: string): (string | null)[] | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  const parsed = ProbeOutputs.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export function variantToRow(v: VariantRecord): Selectable<VariantsTable> {
  return {
    id: v.id,
    task_commit: v.taskCommit,
    kind: v.kind,
    agent_name: v.agentName,
    agent_model: v.agentModel,
    patch_sha256: v.patchSha256,
    // The patch is kept byte for byte: redacting it would change what gets applied and its hash.
    patch_text: v.patchText,
    patch_bytes: v.patchBytes ?? null,
    build_json: v.build == null ? null : JSON.stringify(v.build),
  };
}

export function rowToVariant(r: Selectable<VariantsTable>): VariantRecord {
  return {
    id: r.id,
    taskCommit: r.task_commit,
    kind: r.kind as VariantKind,
    agentName: r.agent_name,
    agentModel: r.agent_model,
    patchSha256: r.patch_sha256,
    patchText: r.patch_text,
    ...(r.patch_bytes === null ? {} : { patchBytes: Buffer.from(r.patch_bytes) }),
    ...(r.build_json === null ? {} : { build: JSON.parse(r.build_json) as VariantBuildRecord }),
  };
}

export function runToRow(r: RunRecord): Selectable<RunsTable> {
  return {
    id: r.id,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    status: r.status,
    engine: r.engine,
    host: r.host,
    config_json: JSON.stringify(redactDeep(r.config) ?? null),
    pid: r.pid ?? null,
  };
}

export function rowToRun(r: Selectable<RunsTable>): RunRecord {
  return {
    id: r.id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status as RunStatus,
    engine: r.engine,
    host: r.host,
    config: JSON.parse(r.config_json) as unknown,
    ...(r.pid === null ? {} : { pid: Number(r.pid) }),
  };
}

/** The task as stored: its perf command and every other string redacted (the catalog file keeps the original). */
export function taskToJson(task: Task): string {
  return JSON.stringify(redactDeep(task));
}

export function logToRow(trialId: string, seq: number, log: LogRecord): Selectable<LogsTable> {
  const text = Buffer.from(redactSecrets(log.text), 'utf8');
  return { trial_id: trialId, seq, kind: log.kind, encoding: LOG_ENCODING, size: text.length, data: gzipSync(text) };
}

export function rowToLog(r: Selectable<LogsTable>): LogRecord {
  return { trialId: r.trial_id, kind: r.kind as LogKind, text: rowToLogBytes(r).toString('utf8') };
}

/** A stored log's bytes, uncompressed (gzip checks its CRC: damaged data throws). */
export function rowToLogBytes(r: Pick<Selectable<LogsTable>, 'encoding' | 'data'>): Buffer {
  if (r.encoding !== LOG_ENCODING) throw new Error(`unknown log encoding ${r.encoding}`);
  return gunzipSync(r.data);
}

export function taskStopToRow(s: TaskStopRecord): Selectable<TaskStopsTable> {
  return {
    task_commit: s.taskCommit,
    config_key: s.configKey,
    run_id: s.runId,
    primary_metric: s.primaryMetric,
    reason: s.reason,
    rounds: s.rounds,
    max_rounds: s.maxRounds,
    min_rounds: s.minRounds ?? null,
    looks: s.looks,
    alpha_spent: s.alphaSpent,
    gpu_seconds: s.gpuSeconds,
    gpu_seconds_at_max: s.gpuSecondsAtMax,
    decided_at: s.decidedAt,
  };
}

export function rowToTaskStop(r: Selectable<TaskStopsTable>): TaskStopRecord {
  return {
    taskCommit: r.task_commit,
    configKey: r.config_key,
    runId: r.run_id,
    primaryMetric: r.primary_metric,
    reason: r.reason as TaskStopReason,
    rounds: Number(r.rounds),
    maxRounds: Number(r.max_rounds),
    minRounds: r.min_rounds === null || r.min_rounds === undefined ? null : Number(r.min_rounds),
    looks: Number(r.looks),
    alphaSpent: Number(r.alpha_spent),
    gpuSeconds: Number(r.gpu_seconds),
    gpuSecondsAtMax: Number(r.gpu_seconds_at_max),
    decidedAt: r.decided_at,
  };
}
