import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { METRICS } from '../core/index.js';
import { parseBenchmarkOutput, type OutputParse } from '../vllm/index.js';
import { addOptions, opt, readOptions, type OptionTable } from './options.js';
import { readTextInput } from './read-input.js';
import { writeResult } from './output.js';

const PARSE_OPTIONS = { json: opt.bool('--json', 'print the result as JSON') } satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { parse: PARSE_OPTIONS };

/** Exit code when the text holds no benchmark result. */
export const EXIT_NO_METRICS = 3;

/** `isobench parse <file|->`: the metrics a vLLM benchmark script printed. */
export function register(program: Command): void {
  const cmd = program
    .command('parse')
    .description('Extract metrics (ms, tok/s, req/s) from the output of a vLLM benchmark script or its saved JSON; exit 3 when there are none')
    .argument('<file>', 'a log or result file, or - for standard input');
  addOptions(cmd, PARSE_OPTIONS);
  cmd.action(async (file, raw) => {
    const opts = readOptions(PARSE_OPTIONS, raw);
    const result = parseBenchmarkOutput(await readTextInput(file));
    writeResult(opts.json, result, () => formatParse(file, result));
    if (result.status === 'no_metrics') process.exitCode = EXIT_NO_METRICS;
  });
}

function formatParse(file: string, r: OutputParse): string {
  if (r.status === 'no_metrics') return `${file}: ${pc.yellow('no metrics')}: ${r.reason}\n`;
  const out = [`${file}: ${pc.bold(r.format)} result at line ${r.line}`];
  const width = Math.max(...Object.keys(r.metrics).map((k) => k.length));
  for (const [key, value] of Object.entries(r.metrics)) {
    const desc = METRICS[key]?.description ?? '';
    out.push(`  ${key.padEnd(width)}  ${String(Number(value.toFixed(4))).padStart(12)} ${(r.units[key] ?? '').padEnd(6)} ${pc.dim(desc)}`);
  }
  for (const n of r.notes) out.push(`  ${pc.yellow('note')} ${n}`);
  return `${out.join('\n')}\n`;
}
