/**
 * The failure taxonomy of DESIGN.md. Codes are stable: extend, never rename.
 * Every trial ends `ok` or with exactly one of these and the log line that proves it.
 */
export const FAILURE_CODES = [
  'task_invalid',
  'unsupported_mode',
  'unsupported_flag',
  'dataset_missing',
  'gpus_insufficient',
  'image_missing',
  'build_failed',
  'wheel_not_found',
  'patch_empty',
  'patch_apply_failed',
  'patch_needs_build',
  'server_start_timeout',
  'server_crashed',
  'server_oom',
  'model_unsupported',
  'model_unavailable',
  'port_bind_bug',
  'dependency_error',
  'bench_failed',
  'bench_timeout',
  'no_metrics',
  'requests_failed',
  'correctness_mismatch',
  'probe_unavailable',
  // Not a trial's ending: a comparison whose trials ran different workloads (their workload hashes differ).
  'workload_mismatch',
  'cancelled',
  'disk_full',
  'image_pull_failed',
  'docker_error',
  'infra_error',
  'tokenizer_unavailable',
  'unclassified',
  'internal_error',
] as const;

export type FailureCode = (typeof FAILURE_CODES)[number];

/** A failure with its evidence: the log line that proves it and where it was found. */
export interface Failure {
  code: FailureCode;
  /** The line (or short excerpt) that proves the code, secrets redacted. */
  evidence: string;
  /** 1-based line number of the evidence in the log it came from, when there is one. */
  line?: number;
  /** Which log the evidence came from, e.g. `server`, `bench`, `patch`. */
  source?: string;
}

export function isFailureCode(value: string): value is FailureCode {
  return (FAILURE_CODES as readonly string[]).includes(value);
}

/** The trials of one side of a comparison, as far as their workload goes: the hashes they recorded (null: none built). */
export interface WorkloadSide {
  label: string;
  hashes: readonly (string | null)[];
}

/**
 * `workload_mismatch` when the trials of the compared sides did not all run one workload (their recorded workload
 * hashes differ), with every hash and where it ran as evidence; null when they agree or none recorded a hash.
 */
export function workloadMismatch(sides: readonly WorkloadSide[]): Failure | null {
  const where = new Map<string, Map<string, number>>();
  for (const side of sides) {
    for (const h of side.hashes) {
      if (h === null) continue;
      const counts = where.get(h) ?? new Map<string, number>();
      counts.set(side.label, (counts.get(side.label) ?? 0) + 1);
      where.set(h, counts);
    }
  }
  if (where.size < 2) return null;
  const parts = [...where.entries()].map(([h, counts]) => `${h} (${[...counts.entries()].map(([label, n]) => `${label} ×${n}`).join(', ')})`);
  return { code: 'workload_mismatch', evidence: `the trials ran different workloads: ${parts.join(' vs ')}`, source: 'workload' };
}
