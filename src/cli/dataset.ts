import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { z } from 'zod';
import { checkDataset, readDataset, type CheckReport } from '../dataset/index.js';
import { parseOptions } from './options.js';

const CheckOptions = z.object({ json: z.boolean().default(false) });

/** `isobench dataset build|check|push`. */
export function register(program: Command): void {
  const dataset = program.command('dataset').description('Build, check and publish datasets in ISO-Bench schema v5 (+ isobench extensions)');
  dataset
    .command('check')
    .description('Lint a dataset of this schema (Parquet, CSV or JSONL): labels, provenance, improvement formulas, modes, units, duplicates, baselines')
    .argument('<file>', 'a .parquet, .csv or .jsonl file')
    .option('--json', 'print the report as JSON')
    .action(async (file, raw) => {
      const opts = parseOptions(CheckOptions, raw);
      const report = checkDataset(await readDataset(file));
      process.stdout.write(opts.json ? `${JSON.stringify({ file, ...report }, null, 2)}\n` : formatCheckReport(file, report));
      if (report.findings.some((f) => f.severity === 'error')) process.exitCode = 1;
    });
}

/** The check report as text for a terminal. */
export function formatCheckReport(file: string, report: CheckReport): string {
  const out = [`${file}: ${report.rows} rows, ${report.checkableImprovementCells} improvement cells checkable against the formula`];
  if (report.findings.length === 0) out.push(pc.green('no problem found'));
  for (const f of report.findings) {
    const sev = f.severity === 'error' ? pc.red('error  ') : pc.yellow('warning');
    out.push(`${sev} ${pc.bold(f.code)}: ${f.count} ${f.unit}: ${f.message}`);
    for (const e of f.examples) {
      out.push(pc.dim(`          row ${e.row} ${(e.commit ?? '-').slice(0, 8)} ${e.agent ?? '-'}${e.column ? ` ${e.column}` : ''}: ${e.detail}`));
    }
  }
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  out.push(`${errors} error kinds, ${report.findings.length - errors} warning kinds`);
  return `${out.join('\n')}\n`;
}
