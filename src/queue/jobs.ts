import { createHash } from 'node:crypto';
import type { RunSettings, TaskPlan } from '../run/index.js';

/** Bumped when the payload's shape changes; a worker refuses payloads of another version (it hands them back). */
export const PAYLOAD_VERSION = 1;

/** Attempts of a job before graphile-worker gives up on it (kill -9, SIGTERM hand-backs and errors all count). */
export const MAX_ATTEMPTS = 5;

/** What a job carries: one task's plan (every variant and trial of it) and the run's settings. */
export interface JobPayload {
  v: typeof PAYLOAD_VERSION;
  runId: string;
  plan: TaskPlan;
  settings: RunSettings;
}

/**
 * The job key of a task's plan: the same task, configuration, variants and trial slots give the same key, so
 * enqueueing it again while it is queued or running adds nothing.
 */
export function jobKeyOf(plan: TaskPlan): string {
  // Sorted: the order of the slots is drawn per run (--order-seed), the set of trials is what identifies the task's work.
  const material = JSON.stringify({ config: plan.configKey, trials: plan.trials.map((t) => t.key).sort() });
  return `${plan.task.commit.slice(0, 12)}:${createHash('sha256').update(material).digest('hex').slice(0, 16)}`;
}

/**
 * The payload as JSON text. JSON has no Infinity (an unlimited `--request-rate` is one) and no bytes (agent patches
 * are applied from their exact bytes): non-finite numbers are written as `{"$num": "Infinity"}`, byte arrays as
 * `{"$bytes": "<base64>"}`, and `readPayload` turns them back.
 */
export function encodePayload(payload: JobPayload): string {
  return JSON.stringify(payload, function (this: Record<string, unknown>, key: string, value: unknown) {
    // `this[key]` is the value before Buffer's toJSON turned it into { type: 'Buffer', data: [...] }.
    const raw = this[key];
    if (raw instanceof Uint8Array) return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    return typeof value === 'number' && !Number.isFinite(value) ? { $num: String(value) } : value;
  });
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined && typeof only[1] === 'string') {
    if (only[0] === '$num') return Number(only[1]);
    if (only[0] === '$bytes') return Buffer.from(only[1], 'base64');
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, revive(v)]));
}

/** Reads a job's payload (as graphile-worker parsed it); null when it is not one this version of isobench wrote. */
export function readPayload(raw: unknown): JobPayload | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const p = revive(raw) as Partial<JobPayload>;
  if (p.v !== PAYLOAD_VERSION || typeof p.runId !== 'string' || typeof p.plan !== 'object' || typeof p.settings !== 'object') return null;
  return p as JobPayload;
}
