import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { DEFAULT_BOOTSTRAP_SEED, DEFAULT_TIE_THRESHOLD, type PrimaryMetricOverrides } from '../analysis/index.js';
import { usageError } from '../core/index.js';
import type { DatasetRow, TaskTrials } from '../dataset/index.js';
import { addOptionsAction, opt, type OptionTable } from './options.js';

/** Every option of `isobench report`. */
const REPORT_OPTIONS = {
  store: opt.text('--store <location>', 'store to report on: SQLite file or postgres:// URL (default isobench.sqlite)'),
  dataset: opt.text('--dataset <file>', 'a dataset in ISO-Bench schema v5 (.parquet, .csv, .jsonl) instead of a store'),
  out: opt.text('--out <dir>', 'directory for report.md and report.html', { required: 'the directory for report.md and report.html' }),
  tieThreshold: opt.num('--tie-threshold <pct>', 'half-width of the tie band in percent', { min: 0, example: '2', default: DEFAULT_TIE_THRESHOLD }),
  primaryMetric: opt.text('--primary-metric <spec>', 'primary metric per mode, e.g. serving=ttft_mean,latency=latency_avg'),
  seed: opt.nonNegInt('--seed <n>', 'bootstrap seed', { default: DEFAULT_BOOTSTRAP_SEED }),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { report: REPORT_OPTIONS };

/** `isobench report`: Markdown + self-contained HTML report from a dataset file (or a store). */
export function register(program: Command): void {
  const cmd = program
    .command('report')
    .description('Write report.md and report.html (self-contained, charts as inline SVG) from a dataset file or a store');
  addOptionsAction(cmd, REPORT_OPTIONS, async (opts) => {
    if (opts.store !== undefined && opts.dataset !== undefined) throw usageError('--dataset', 'give either --store or --dataset, not both');
    const [{ parsePrimaryMetricSpec }, { buildReport }] = await Promise.all([import('../analysis/index.js'), import('../report/index.js')]);
    const primaryMetrics: PrimaryMetricOverrides = opts.primaryMetric === undefined ? {} : parsePrimaryMetricSpec(opts.primaryMetric);
    const settings = { tieThreshold: opts.tieThreshold, seed: opts.seed, primaryMetrics };
    const { rows, source, trials } = await loadRows(opts.dataset, opts.store, settings);
    const report = await buildReport(rows, { ...settings, source }, trials);
    await mkdir(opts.out, { recursive: true });
    const md = path.join(opts.out, 'report.md');
    const html = path.join(opts.out, 'report.html');
    await writeFile(md, report.markdown);
    await writeFile(html, report.html);
    process.stdout.write(`${rows.length} rows from ${source}\nwrote ${md}\nwrote ${html}\n`);
  });
}

/**
 * Rows from a dataset file, or built from the store with this report's metric, tie threshold and seed, with the
 * trials and request samples behind them (a dataset file has neither: trials null).
 */
async function loadRows(
  dataset: string | undefined,
  location: string | undefined,
  settings: { tieThreshold: number; seed: number; primaryMetrics: PrimaryMetricOverrides },
): Promise<{ rows: DatasetRow[]; source: string; trials: TaskTrials[] | null }> {
  const [{ buildDatasetRows, buildTaskTrials, readDataset }, { openStore }] = await Promise.all([import('../dataset/index.js'), import('../store/index.js')]);
  if (dataset !== undefined) return { rows: await readDataset(dataset), source: path.basename(dataset), trials: null };
  const store = await openStore(location, { create: false });
  try {
    const rows = await buildDatasetRows(store, {
      primaryMetrics: settings.primaryMetrics,
      compare: { tieThreshold: settings.tieThreshold },
      includeRaw: false,
    });
    return { rows, source: `store ${store.location}`, trials: await buildTaskTrials(store) };
  } finally {
    await store.close();
  }
}
