import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { IsobenchError, redactEnv, redactSecrets } from '../core/index.js';
import type { ParsedPerfCommand } from '../vllm/index.js';
import { addOptions, opt, readOptions, type OptionTable } from './options.js';
import { writeResult } from './output.js';

const PERF_COMMAND_OPTIONS = { json: opt.bool('--json', 'print the parse as JSON') } satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { 'perf-command': PERF_COMMAND_OPTIONS };

/** `isobench perf-command "<command>"`: how isobench reads a benchmark command. */
export function register(program: Command): void {
  const cmd = program
    .command('perf-command')
    .description('Parse a vLLM benchmark command (without a shell): env, script, mode, server and client arguments, fixes')
    .argument('<command>', 'the command, quoted as one argument, e.g. "python benchmarks/benchmark_serving.py --model M"');
  addOptions(cmd, PERF_COMMAND_OPTIONS);
  cmd.action(async (command, raw) => {
    const opts = readOptions(PERF_COMMAND_OPTIONS, raw);
    const { parsePerfCommand, refusedServingFlags } = await import('../vllm/index.js');
    const parsed = parsePerfCommand(command);
    if (parsed.status === 'error') {
      throw new IsobenchError('E_INPUT', `cannot parse the command: ${parsed.message}`, { hint: 'quote the whole command once, e.g. isobench perf-command "python benchmarks/benchmark_serving.py --model M"' });
    }
    // The client flags `run` would refuse the task for (unsupported_flag), as `tasks check` lists them.
    const refused = refusedServingFlags(parsed).map(redactSecrets);
    const safe = { ...parsed, command: redactSecrets(parsed.command), env: redactEnv(parsed.env), refused };
    writeResult(opts.json, safe, () => formatPerfCommand(safe) + refused.map((r) => `${pc.red('refused')}  ${r}\n`).join(''));
    if (parsed.invalid.length > 0 || refused.length > 0) process.exitCode = 1;
  });
}

const words = (args: readonly string[]) => (args.length === 0 ? pc.dim('(none)') : args.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' '));

/** The parse as indented lines; `indent` lets `tasks check` reuse it under a task header. */
export function formatPerfCommand(p: ParsedPerfCommand, indent = ''): string {
  const out = [
    `${indent}mode:    ${pc.bold(p.mode)} ${pc.dim(`(${p.modeReason})`)}`,
    `${indent}script:  ${p.script}${p.scriptPath ? ` ${pc.dim(p.scriptPath)}` : ''}`,
    `${indent}model:   ${p.model ?? pc.dim('(none)')}`,
  ];
  const envText = Object.entries(p.env).map(([k, v]) => `${k}=${v}`);
  if (envText.length > 0) out.push(`${indent}env:     ${envText.join(' ')}`);
  out.push(`${indent}server:  ${words(p.serverArgs)}${p.server.gpus > 1 ? pc.dim(`  (${p.server.gpus} GPUs)`) : ''}`);
  out.push(`${indent}client:  ${words(p.clientArgs)}`);
  if (p.unknownArgs.length > 0) out.push(`${indent}unknown: ${words(p.unknownArgs)}`);
  for (const fix of p.fixes) out.push(`${indent}${pc.cyan('fix')}      ${fix}`);
  for (const w of p.warnings) out.push(`${indent}${pc.yellow('warning')}  ${w}`);
  for (const e of p.invalid) out.push(`${indent}${pc.red('invalid')}  ${e}`);
  return `${out.join('\n')}\n`;
}
