import { redactSecrets, type Failure } from '../core/index.js';
import type { Task } from '../task/index.js';
import { parsePerfCommand, refusedServingFlags, shellQuote, type ParsedPerfCommand, type SweepCommandPoint } from '../vllm/index.js';
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
  return perfInfoOfParsed(task, parsed, text);
}

/**
 * One point of a sweep as a perf command of its own: the point's `vllm bench serve` command (client side) with the
 * server of its `--serve-cmd` (`vllm bench sweep serve`), or the load-list command with the point's values.
 */
export function perfInfoOfPoint(task: Task, point: SweepCommandPoint): PerfInfo | Failure {
  const bench = parsePerfCommand(point.bench);
  if (bench.status === 'error') return { code: 'task_invalid', evidence: `${bench.message}: ${redactSecrets(point.bench)}`, source: 'perf_command' };
  if (point.serve === null) return perfInfoOfParsed(task, bench, point.bench);
  const serve = parsePerfCommand(point.serve);
  if (serve.status === 'error') return { code: 'task_invalid', evidence: `--serve-cmd: ${serve.message}: ${redactSecrets(point.serve)}`, source: 'perf_command' };
  if (serve.script !== 'vllm_serve' && serve.script !== 'api_server') {
    return { code: 'unsupported_mode', evidence: `--serve-cmd does not start vLLM's server (vllm serve): ${redactSecrets(point.serve)}`, source: 'perf_command' };
  }
  if (bench.mode !== 'serving' || bench.script === 'vllm_serve' || bench.script === 'api_server') {
    return { code: 'unsupported_mode', evidence: `--bench-cmd is not vllm bench serve: ${redactSecrets(point.bench)}`, source: 'perf_command' };
  }
  // The server is what --serve-cmd starts (vLLM's sweep passes nothing of the bench command to it).
  const model = serve.model ?? bench.model;
  const merged: ParsedPerfCommand = {
    ...bench,
    command: `vllm bench sweep serve --serve-cmd ${shellQuote(point.serve)} --bench-cmd ${shellQuote(point.bench)}`,
    env: { ...serve.env, ...bench.env },
    serverArgs: serve.serverArgs,
    server: serve.server,
    ...(model === undefined ? {} : { model }),
    fixes: [...serve.fixes.map((f) => `--serve-cmd: ${f}`), ...bench.fixes.map((f) => `--bench-cmd: ${f}`)],
    invalid: [...serve.invalid.map((f) => `--serve-cmd: ${f}`), ...bench.invalid.map((f) => `--bench-cmd: ${f}`)],
  };
  return perfInfoOfParsed(task, merged, merged.command);
}

function perfInfoOfParsed(task: Task, parsed: ParsedPerfCommand, text: string): PerfInfo | Failure {
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
