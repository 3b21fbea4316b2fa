import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import type { FailureInput } from '../vllm/index.js';
import { addOptions, opt, readOptions, type OptionTable } from './options.js';
import { readTextInput } from './read-input.js';

const CLASSIFY_OPTIONS = {
  bench: opt.text('--bench <file>', "the benchmark client's output, when it is a separate file"),
  error: opt.text('--error <message>', 'the error message the runner recorded'),
  json: opt.bool('--json', 'print the failure as JSON'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { classify: CLASSIFY_OPTIONS };

/** `isobench classify <file|->`: the failure code of a failed run and the line that proves it. */
export function register(program: Command): void {
  const cmd = program
    .command('classify')
    .description('Give a failed run\'s logs one failure code with the evidence line (most specific root cause wins)')
    .argument('<file>', 'the server log (or a combined log), or - for standard input');
  addOptions(cmd, CLASSIFY_OPTIONS);
  cmd.action(async (file, raw) => {
    const opts = readOptions(CLASSIFY_OPTIONS, raw);
    const { classifyFailure, failureMeaning } = await import('../vllm/index.js');
    const input: FailureInput = { server: await readTextInput(file) };
    if (opts.bench !== undefined) input.bench = await readTextInput(opts.bench);
    if (opts.error !== undefined) input.error = opts.error;
    const failure = classifyFailure(input);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(failure, null, 2)}\n`);
      return;
    }
    const meaning = failureMeaning(failure);
    const where = failure.line === undefined ? '' : ` ${pc.dim(`(${failure.source ?? 'log'} line ${failure.line})`)}`;
    process.stdout.write(`${pc.bold(failure.code)}: ${meaning}\n  ${failure.evidence}${where}\n`);
  });
}
