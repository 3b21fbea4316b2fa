import type { TaskPlan } from '../run/index.js';
import { gpuCount } from '../core/index.js';

/** What a task needs of a host: a GPU count, and a GPU type when the task names one (real engines only). */
export interface GpuNeed {
  /** Upper case, e.g. `H100`; null: any type. */
  type: string | null;
  count: number;
}

/** The most GPUs a worker matches jobs for (the job selection enumerates counts up to it). */
export const MAX_GPUS_PER_WORKER = 16;

/** `H100:2` → H100, `2xA100` → A100, `h100` → H100; null when the config names no type. */
export function gpuTypeOfConfig(config: string | undefined): string | null {
  const text = config?.trim() ?? '';
  const m = /^(?:\d+\s*x\s*)?([A-Za-z][A-Za-z0-9-]*?)(?::\d+)?$/i.exec(text);
  return m?.[1] ? m[1].toUpperCase() : null;
}

/** The model token of an `nvidia-smi` GPU name: `NVIDIA H100 80GB HBM3` → H100, `Tesla V100-SXM2-16GB` → V100. */
export function gpuTypeOfName(name: string): string | null {
  for (const word of name.split(/[\s-]+/)) {
    if (/^(NVIDIA|TESLA|GEFORCE|QUADRO|RTX)$/i.test(word)) continue;
    if (/^[A-Z]+\d+[A-Z]*$/i.test(word)) return word.toUpperCase();
  }
  return null;
}

/**
 * The GPUs a task's job asks for: the larger of `gpu_config`'s count and what its perf command needs
 * (tensor × pipeline parallel). The sim engine runs anywhere, so its jobs name no GPU type.
 */
export function gpuNeedOf(plan: Pick<TaskPlan, 'task' | 'perf'>, engineKind: string): GpuNeed {
  const count = Math.max(gpuCount(plan.task.gpu_config) ?? 0, plan.perf?.gpusNeeded ?? 0);
  return { type: engineKind === 'sim' ? null : gpuTypeOfConfig(plan.task.gpu_config), count };
}

/**
 * The graphile-worker task identifier of a job: engine kind, engine settings hash, GPU type and count. A worker
 * registers exactly the identifiers it can serve, so PostgreSQL only hands it jobs whose needs it meets.
 */
export function taskIdentifier(engineKind: string, engineKey: string, need: GpuNeed): string {
  return `isobench/${engineKind}/${engineKey}/${need.type ?? 'any'}x${need.count}`;
}

/** Every identifier a worker with `gpus` GPUs (null: unchecked) of `type` (null: unknown) serves. */
export function identifiersFor(engineKind: string, engineKey: string, gpus: number | null, type: string | null): string[] {
  const most = Math.min(gpus ?? MAX_GPUS_PER_WORKER, MAX_GPUS_PER_WORKER);
  const out: string[] = [];
  for (let count = 0; count <= most; count++) {
    out.push(taskIdentifier(engineKind, engineKey, { type: null, count }));
    if (type !== null) out.push(taskIdentifier(engineKind, engineKey, { type, count }));
  }
  return out;
}
