import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { z } from 'zod';
import type { PrimaryMetricOverrides } from '../analysis/index.js';
import type { DatasetRow, TaskTrials } from '../dataset/index.js';
import { opt, parseOptions } from './options.js';

const ReportOptionsSchema = z
  .object({
    store: z.string().min(1).optional(),
    dataset: z.string().min(1).optional(),
    out: z.string().min(1, '--out is required'),
    tieThreshold: opt.num('--tie-threshold', { min: 0, example: '2' }).default(2),
    primaryMetric: z.string().optional(),
    seed: opt.nonNegInt('--seed').default(1),
  })
  .refine((o) => !(o.store !== undefined && o.dataset !== undefined), { message: 'give either --store or --dataset, not both', path: ['dataset'] });

/** `isobench report`: Markdown + self-contained HTML report from a dataset file (or a store). */
export function register(program: Command): void {
  program
    .command('report')
    .description('Write report.md and report.html (self-contained, charts as inline SVG) from a dataset file or a store')
    .option('--store <location>', 'store to report on: SQLite file or postgres:// URL (default isobench.sqlite)')
    .option('--dataset <file>', 'a dataset in ISO-Bench schema v5 (.parquet, .csv, .jsonl) instead of a store')
    .requiredOption('--out <dir>', 'directory for report.md and report.html')
    .option('--tie-threshold <pct>', 'half-width of the tie band in percent', '2')
    .option('--primary-metric <spec>', 'primary metric per mode, e.g. serving=ttft_mean,latency=latency_avg')
    .option('--seed <n>', 'bootstrap seed', '1')
    .action(async (raw) => {
      const opts = parseOptions(ReportOptionsSchema, raw);
      const [{ parsePrimaryMetricSpec }, { buildReport }] = await Promise.all([import('../analysis/index.js'), import('../report/index.js')]);
      const primaryMetrics: PrimaryMetricOverrides = opts.primaryMetric === undefined ? {} : parsePrimaryMetricSpec(opts.primaryMetric);
      const settings = { tieThreshold: opts.tieThreshold, seed: opts.seed, primaryMetrics };
      const { rows, source, trials } = await loadRows(opts.dataset, opts.store, settings);
      const report = await buildReport(rows, { tieThreshold: opts.tieThreshold, seed: opts.seed, primaryMetrics, source }, trials);
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
