import { redactSecrets, type Failure } from '../core/index.js';
import type { Task } from '../task/index.js';
import { parsePerfCommand, refusedServingFlags } from '../vllm/index.js';
import type { PerfInfo } from './types.js';

const STANDALONE_SCRIPT = {
  latency: 'benchmarks/benchmark_latency.py',
  throughput: 'benchmarks/benchmark_throughput.py',
  prefix_caching: 'benchmarks/benchmark_prefix_caching.py',
} as const;

/** The task's perf command as run/ needs it, or the `task_invalid` failure that stops the task. */
export function perfInfoOf(task: Task): PerfInfo | Failure {
  const text = task.perf_command?.trim() ?? '';
  if (text === '') return { code: 'task_invalid', evidence: 'the task has no perf command', source: 'perf_command' };
  const parsed = parsePerfCommand(text);
  if (parsed.status === 'error') return { code: 'task_invalid', evidence: `${parsed.message}: ${redactSecrets(text)}`, source: 'perf_command' };
  if (parsed.invalid.length > 0) return { code: 'task_invalid', evidence: `${parsed.invalid.join('; ')}: ${redactSecrets(text)}`, source: 'perf_command' };
  const refused = refusedServingFlags(parsed);
  if (refused.length > 0) {
    return { code: 'unsupported_flag', evidence: `isobench cannot send what the script would: ${refused.join('; ')}: ${redactSecrets(text)}`, source: 'perf_command' };
  }
  const model = parsed.model ?? task.models[0] ?? null;
  const scriptPath = parsed.mode === 'serving' || parsed.mode === 'unknown' ? null : (parsed.scriptPath ?? STANDALONE_SCRIPT[parsed.mode]);
  return {
    mode: parsed.mode,
    script: parsed.script,
    problem: parsed.mode === 'unknown' ? parsed.modeReason : null,
    env: parsed.env,
    model,
    serverArgs: parsed.serverArgs,
    clientArgs: parsed.clientArgs,
    client: parsed.client,
    scriptArgv: scriptPath === null ? [] : [scriptPath, ...parsed.scriptArgs],
    gpusNeeded: parsed.server.gpus,
    fixes: parsed.fixes,
    command: redactSecrets(parsed.command),
  };
}
