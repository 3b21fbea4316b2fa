import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { DEFAULT_TIE_THRESHOLD } from '../analysis/index.js';
import { DEFAULT_SOURCE_PRIORITY } from '../core/index.js';
import type { CheckReport } from '../dataset/index.js';
import { addOptions, opt, readOptions, type OptionTable } from './options.js';
import { writeResult } from './output.js';

const CHECK_OPTIONS = { json: opt.bool('--json', 'print the report as JSON') } satisfies OptionTable;
const BUILD_OPTIONS = {
  out: opt.text('--out <dir>', 'output directory (data/train-00000-of-00001.parquet, data/train.jsonl, README.md)', { required: 'the output directory, e.g. --out dataset' }),
  store: opt.text('--store <file.sqlite|postgres://...>', 'store to build from (default: isobench.sqlite here)'),
  sourcePriority: opt.list('--source-priority <list>', 'data sources by preference, comma-separated', { default: DEFAULT_SOURCE_PRIORITY, noEmptyItems: true }),
  primaryMetric: opt.text('--primary-metric <spec>', 'primary metric per mode for the CI/verdict columns, e.g. serving=ttft_mean,latency=latency_avg'),
  tieThreshold: opt.num('--tie-threshold <pct>', 'half-width of the tie band of verdicts in percent', { min: 0, example: '2', default: DEFAULT_TIE_THRESHOLD }),
  raw: opt.bool('--no-raw', 'leave the *_raw columns empty (no log reads)'),
  title: opt.text('--title <text>', 'title of the dataset card'),
  license: opt.text('--license <id>', 'license in the card (default apache-2.0)'),
} satisfies OptionTable;
const PUSH_OPTIONS = {
  repo: opt.text('--repo <org/name>', 'Hub dataset repository', { required: 'the Hub dataset repo, e.g. --repo my-org/isobench-vllm' }),
  dryRun: opt.bool('--dry-run', 'list what would be uploaded, upload nothing'),
  private: opt.bool('--private', 'create the repository private when it does not exist'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { 'dataset build': BUILD_OPTIONS, 'dataset push': PUSH_OPTIONS, 'dataset check': CHECK_OPTIONS };

/** `isobench dataset build|check|push`. */
export function register(program: Command): void {
  const dataset = program.command('dataset').description('Build, check and publish datasets in ISO-Bench schema v5 (+ isobench extensions)');
  const build = dataset
    .command('build')
    .description('Build the dataset (v5 columns + extensions) from the store: Parquet, JSONL and a generated card');
  addOptions(build, BUILD_OPTIONS);
  build.action(async (raw) => {
    const opts = readOptions(BUILD_OPTIONS, raw);
    const sourcePriority = opts.sourcePriority;
    const [{ parsePrimaryMetricSpec }, { buildDatasetRows, writeDataset }, { openStore }] = await Promise.all([import('../analysis/index.js'), import('../dataset/index.js'), import('../store/index.js')]);
    const primaryMetrics = opts.primaryMetric === undefined ? {} : parsePrimaryMetricSpec(opts.primaryMetric);
    const store = await openStore(opts.store);
    try {
      const started = Date.now();
      const rows = await buildDatasetRows(store, {
        sourcePriority,
        primaryMetrics,
        includeRaw: opts.raw,
        compare: { tieThreshold: opts.tieThreshold },
      });
      const written = await writeDataset(rows, opts.out, {
        ...(opts.title === undefined ? {} : { title: opts.title }),
        ...(opts.license === undefined ? {} : { license: opts.license }),
        notes: [
          `Built by \`isobench dataset build\` from ${store.location}.`,
          `Source priority (one source per variant, never mixed): ${sourcePriority.join(' > ')}; sources not listed come after.`,
          'Metrics per variant are the median over the ok trials of the chosen source; improvements follow the formulas above.',
        ],
      }, 'all');
      process.stdout.write(`wrote ${written.rows} rows x ${written.columns} columns to ${written.dir} (${written.files.join(', ')}) in ${Date.now() - started} ms\n`);
    } finally {
      await store.close();
    }
  });
  const push = dataset
    .command('push')
    .description('Upload a built dataset directory to the Hugging Face Hub (token from HF_TOKEN, never printed)')
    .argument('<dir>', 'a directory written by `dataset build`');
  addOptions(push, PUSH_OPTIONS);
  push.action(async (dir, raw) => {
    const opts = readOptions(PUSH_OPTIONS, raw);
    const { pushDataset } = await import('../dataset/index.js');
    const result = await pushDataset(dir, { repo: opts.repo, dryRun: opts.dryRun, private: opts.private });
    const verb = result.status === 'dry_run' ? 'would upload' : 'uploaded';
    const lines = [`${verb} ${result.files.length} files to https://huggingface.co/datasets/${result.repo}`, ...result.files.map((f) => `  ${f.path} (${f.bytes} bytes)`)];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
  const check = dataset
    .command('check')
    .description('Lint a dataset of this schema (Parquet, CSV or JSONL): labels, provenance, improvement formulas, modes, units, duplicates, baselines')
    .argument('<file>', 'a .parquet, .csv or .jsonl file');
  addOptions(check, CHECK_OPTIONS);
  check.action(async (file, raw) => {
    const opts = readOptions(CHECK_OPTIONS, raw);
    const { checkDataset, readDataset } = await import('../dataset/index.js');
    const report = checkDataset(await readDataset(file));
    writeResult(opts.json, { file, ...report }, () => formatCheckReport(file, report));
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
