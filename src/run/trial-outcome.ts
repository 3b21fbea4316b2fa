import { IsobenchError, errorMessage, type Failure, type MetricSet } from '../core/index.js';
import type { BenchmarkMode } from '../task/index.js';
import { classifyFailure, parseBenchmarkOutput } from '../vllm/index.js';

/**
 * The failure of an exception thrown while preparing or running a trial: an engine fault (`E_ENGINE`: Docker
 * unreachable, a registry, the disk) is named from its message, `docker_error` or `infra_error` when no signature
 * knows it; no tokenizer for the workload is `tokenizer_unavailable`; a value or dataset file of the task that cannot
 * be used is `task_invalid`; anything else thrown is a defect of isobench itself (`internal_error`).
 */
export function thrownFailure(err: unknown, source: string): Failure {
  const evidence = errorMessage(err);
  if (err instanceof IsobenchError && err.code === 'E_TOKENIZER_UNAVAILABLE') return { code: 'tokenizer_unavailable', evidence, source: 'workload' };
  // The task's own values or dataset file cannot be used as given (a prompt length too small, a file that is not JSON).
  if (err instanceof IsobenchError && (err.code === 'E_USAGE' || err.code === 'E_INPUT')) return { code: 'task_invalid', evidence, source: 'workload' };
  if (!(err instanceof IsobenchError) || err.code !== 'E_ENGINE') return { code: 'internal_error', evidence, source };
  const classified = classifyFailure({ error: evidence });
  if (classified.code !== 'unclassified' && classified.code !== 'internal_error') return { ...classified, source };
  return { code: /docker/i.test(evidence) ? 'docker_error' : 'infra_error', evidence: classified.evidence, source };
}

/** The failure a server or benchmark log shows (src/vllm's classifier); null for an empty log. */
export function classifyLog(text: string, source: 'server' | 'bench'): Failure | null {
  if (text.trim() === '') return null;
  return classifyFailure(source === 'server' ? { server: text } : { bench: text });
}

/** Metrics of a standalone script's output, or why there are none. */
export function parseStandaloneOutput(mode: BenchmarkMode, output: string): { status: 'ok'; metrics: MetricSet } | { status: 'no_metrics'; reason: string } {
  const parsed = parseBenchmarkOutput(output);
  if (parsed.status !== 'ok') return { status: 'no_metrics', reason: parsed.reason };
  if (Object.keys(parsed.metrics).length === 0) return { status: 'no_metrics', reason: `a ${parsed.format} result without values (mode ${mode})` };
  return { status: 'ok', metrics: parsed.metrics };
}
