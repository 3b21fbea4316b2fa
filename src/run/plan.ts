import { createHash } from 'node:crypto';
import { seededRandom } from '../analysis/index.js';
import { aaVariantId, variantId, type Failure } from '../core/index.js';
import { PRESETS, translateServerArgs, type VariantSpec } from '../engine/index.js';
import type { VariantRecord } from '../store/index.js';
import type { Task, VariantKind } from '../task/index.js';
import type { AgentSource } from './agents.js';
import { readFileSync } from 'node:fs';
import { expandSweep, type SweepExpansion } from '../vllm/index.js';
export { sweepPointOfCommand, sweepPointText } from '../vllm/index.js';
import { perfInfoOf, perfInfoOfPoint } from './perf.js';
import { taskPrimaryMetric } from './primary.js';
import { findDatasetFile, workloadPlanOf } from './serving.js';
import type { PerfInfo, PlannedTrial, PlannedVariant, RunSettings, TaskPlan } from './types.js';

/** Bumped when the trial procedure changes in a way that makes old trials incomparable. */
const PROCEDURE_VERSION = 1;

/** `${variantId}#${configKey}#${trialIndex}`: the resume key of one trial. */
export function trialKey(variant: string, configKey: string, trialIndex: number): string {
  return `${variant}#${configKey}#${trialIndex}`;
}

/** The store lease a run takes for a planned task configuration (one run per store configuration): `commit#configKey`. */
export function leaseKey(plan: Pick<TaskPlan, 'task' | 'configKey'>): string {
  return `${plan.task.commit}#${plan.configKey}`;
}

/** Hash (16 hex) of what makes trials comparable: the workload, server arguments, engine settings and options. */
export function configKeyOf(perf: PerfInfo | null, settings: RunSettings, task: Task, substitutions: readonly string[] = []): string {
  const tokenizer = tokenizerOf(task, perf, settings);
  const material = {
    v: PROCEDURE_VERSION,
    mode: perf?.mode ?? null,
    command: perf ? { env: perf.env, model: perf.model, server: perf.serverArgs, client: perf.clientArgs, script: perf.scriptArgv } : (task.perf_command ?? null),
    engine: settings.engineSettingsKey,
    warmups: settings.warmups,
    oomFallback: settings.oomFallbackMaxModelLen,
    // What stands in for a missing dataset file (--missing-dataset random) measures another workload; absent otherwise,
    // so the keys of every other task stay as they were.
    ...(substitutions.length > 0 ? { substitutions } : {}),
    // A different tokenizer counts other prompts: trials with another one are not the same configuration.
    ...(tokenizer === undefined ? {} : { tokenizer }),
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 16);
}

/** The tokenizer a task's workload is counted with: the task's own, else `run --tokenizer`, else the perf command's. */
export function tokenizerOf(task: Task, perf: PerfInfo | null, settings: RunSettings): string | undefined {
  const fromCommand = perf?.client.tokenizer;
  return task.tokenizer ?? settings.tokenizer ?? (typeof fromCommand === 'string' ? fromCommand : undefined);
}

function baseSpec(task: Task, kind: VariantKind, id: string): VariantSpec {
  return { id, task, kind, engineCommit: kind === 'human' ? task.commit : task.parent };
}

function record(task: Task, kind: VariantKind, id: string, agent?: { name: string; model: string; sha: string; text: string; bytes: Uint8Array }): VariantRecord {
  return {
    id,
    taskCommit: task.commit,
    kind,
    agentName: agent?.name ?? null,
    agentModel: agent?.model ?? null,
    patchSha256: agent?.sha ?? null,
    patchText: agent?.text ?? null,
    patchBytes: agent?.bytes ?? null,
  };
}

/** The variants of one task: baseline (and its A/A copy with `aa`), human, then agents in `--agent` order. */
export function planVariants(task: Task, agents: readonly AgentSource[], kinds: readonly VariantKind[], aa = false): PlannedVariant[] {
  const out: PlannedVariant[] = [];
  for (const kind of ['baseline', 'human'] as const) {
    if (!kinds.includes(kind)) continue;
    const id = variantId(task.commit, kind);
    out.push({ record: record(task, kind, id), spec: baseSpec(task, kind, id), label: kind });
    if (kind === 'baseline' && aa) {
      const copy = aaVariantId(task.commit);
      out.push({ record: record(task, 'baseline', copy), spec: baseSpec(task, 'baseline', copy), label: 'baseline′' });
    }
  }
  if (!kinds.includes('agent')) return out;
  for (const agent of agents) {
    const patch = agent.patchFor(task.commit);
    if (!patch) continue;
    const id = variantId(task.commit, 'agent', { name: agent.name, model: agent.model, patchSha256: patch.sha256 });
    const spec: VariantSpec = {
      ...baseSpec(task, 'agent', id),
      agent: { name: agent.name, model: agent.model, patchText: patch.text, patchBytes: patch.bytes, patchSha256: patch.sha256 },
    };
    out.push({ record: record(task, 'agent', id, { name: agent.name, model: agent.model, sha: patch.sha256, text: patch.text, bytes: patch.bytes }), spec, label: agent.name });
  }
  return out;
}

/** A 31-bit seed for one task's order, from the run's order seed and the task (so tasks get different orders). */
export function taskOrderSeed(orderSeed: number, commit: string): number {
  return createHash('sha256').update(`${orderSeed >>> 0}:${commit}`).digest().readUInt32BE(0) >>> 1;
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/**
 * The order of the variants in each round, seeded: a random permutation of the k variants, and in every block of k
 * consecutive rounds its k cyclic rotations in a random order. Over each complete block every variant runs once in
 * every position (balanced), and which variant runs where in a round cannot line up with a periodic disturbance.
 * `firstVariant` (the baseline) opens round 1, so its probe outputs are the reference before any other variant's
 * probe runs; the block stays balanced (its rotations are only reordered).
 */
export function roundOrders(k: number, rounds: number, seed: number, firstVariant?: number): number[][] {
  const random = seededRandom(seed);
  const base = shuffle(Array.from({ length: k }, (_, i) => i), random);
  const out: number[][] = [];
  while (out.length < rounds) {
    const rotations = shuffle(Array.from({ length: k }, (_, i) => i), random);
    if (out.length === 0 && firstVariant !== undefined) {
      const opening = rotations.findIndex((r) => base[r % k] === firstVariant);
      if (opening > 0) rotations.unshift(...rotations.splice(opening, 1));
    }
    for (const r of rotations) {
      if (out.length < rounds) out.push(base.map((_, i) => base[(i + r) % k] ?? 0));
    }
  }
  return out;
}

/** Trial slots round by round (round = trial index), the variants of each round in the order of `roundOrders`. */
export function interleaveTrials(variants: readonly PlannedVariant[], configKey: string, trials: number, orderSeed = 1): PlannedTrial[] {
  const out: PlannedTrial[] = [];
  const baseline = variants.findIndex((v) => v.record.kind === 'baseline');
  const orders = roundOrders(variants.length, trials, orderSeed, baseline < 0 ? undefined : baseline);
  orders.forEach((order, r) => {
    order.forEach((vi, position) => {
      const v = variants[vi];
      if (v) out.push({ key: trialKey(v.record.id, configKey, r + 1), variantId: v.record.id, trialIndex: r + 1, position: position + 1, orderSeed });
    });
  });
  return out;
}

function preFailureOf(task: Task, perf: PerfInfo | Failure, settings: RunSettings): Failure | null {
  if ('code' in perf) return perf;
  if (perf.mode === 'unknown') {
    return { code: 'unsupported_mode', evidence: `${perf.problem ?? 'the perf command names no known benchmark'}: ${perf.command}`, source: 'perf_command' };
  }
  const preset = settings.serverPreset;
  if (preset !== undefined && preset !== 'vllm') {
    const server = PRESETS[preset].server;
    if (perf.mode !== 'serving') {
      return { code: 'unsupported_mode', evidence: `the perf command runs vLLM's ${perf.mode} script, which does not run on ${server} (preset ${preset}): ${perf.command}`, source: 'perf_command' };
    }
    const t = translateServerArgs(preset, perf.serverArgs);
    if (t.refused.length > 0) {
      return { code: 'task_invalid', evidence: `server flag(s) refused for ${server} (preset ${preset}), not passed: ${t.refused.join('; ')}`, source: 'perf_command' };
    }
  }
  if (settings.gpuCount !== null && perf.gpusNeeded > settings.gpuCount) {
    return {
      code: 'gpus_insufficient',
      evidence: `the perf command needs ${perf.gpusNeeded} GPUs (tensor x pipeline parallel size), this host has ${settings.gpuCount}`,
      source: 'perf_command',
    };
  }
  void task;
  return null;
}

/**
 * The sweep a task's perf command asks for (`vllm bench sweep serve`, or several load values), its parameter files
 * looked up like dataset files (--dataset-dir by path, then by name, then as given).
 */
export function sweepOf(task: Task, datasetDir: string | null): SweepExpansion {
  return expandSweep(task.perf_command ?? '', (path) => {
    const found = findDatasetFile('params', path, datasetDir);
    if (found.file === null) return { looked: found.looked };
    try {
      return { text: readFileSync(found.file, 'utf8'), file: found.file };
    } catch (err) {
      return { looked: [`${found.file} (${(err as Error).message})`] };
    }
  });
}

/** Turns the selected tasks into plans; tasks that cannot run still get trials that record why. A sweep is one plan per point. */
export function planRun(tasks: readonly Task[], agents: readonly AgentSource[], settings: RunSettings): TaskPlan[] {
  const selected = settings.only.length === 0 ? tasks : tasks.filter((t) => settings.only.some((p) => t.commit.startsWith(p.toLowerCase())));
  return selected.flatMap((task) => {
    // This machine's --dataset-dir wins over where the catalog says its files are.
    const datasetDir = settings.datasetDir ?? task.dataset_dir ?? null;
    const sweep = sweepOf(task, datasetDir);
    if (sweep.status === 'single') return [planOne(task, perfInfoOf(task), null, agents, settings, datasetDir)];
    if (sweep.status === 'refused') {
      const failure: Failure = { code: sweep.code, evidence: `the perf command asks for a sweep isobench cannot run as asked: ${sweep.reason}`, source: 'perf_command' };
      return [planOne(task, failure, null, agents, settings, datasetDir)];
    }
    return sweep.points.map((point, i) => planOne(task, perfInfoOfPoint(task, point), { index: i + 1, count: sweep.points.length, label: point.label, params: point.params, form: sweep.form, notes: sweep.notes }, agents, settings, datasetDir));
  });
}

function planOne(task: Task, perfOrFailure: PerfInfo | Failure, sweep: TaskPlan['sweep'], agents: readonly AgentSource[], settings: RunSettings, datasetDir: string | null): TaskPlan {
  const perf = 'code' in perfOrFailure ? null : perfOrFailure;
  const mode = perf && perf.mode !== 'unknown' ? perf.mode : null;
  const workload = perf && mode === 'serving' ? workloadPlanOf(perf, { datasetDir, missingDataset: settings.missingDataset }) : null;
  const configKey = configKeyOf(perf, settings, task, workload && !('code' in workload) ? workload.deviations : []);
  const variants = planVariants(task, agents, settings.variants, settings.aa ?? false);
  const preFailure = preFailureOf(task, perfOrFailure, settings) ?? (workload && 'code' in workload ? workload : null);
  return {
    task,
    perf,
    mode,
    configKey,
    variants,
    // Every point has its own order of the variants in each round (its own comparison).
    trials: interleaveTrials(variants, configKey, settings.trials, taskOrderSeed(settings.orderSeed ?? 1, sweep === null ? task.commit : `${task.commit}#${sweep.index}`)),
    preFailure,
    workload: workload && !('code' in workload) ? workload : null,
    primary: taskPrimaryMetric(mode, perf, settings.primaryMetrics, task.primary_metric),
    sweep,
  };
}
