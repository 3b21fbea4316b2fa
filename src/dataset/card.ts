import { stringify } from 'yaml';
import { EXTENSION_COLUMNS, V5_COLUMNS, V5_METRICS, V5_VARIANTS, type ColumnSpec, type ColumnType, type DatasetRow } from './schema.js';
import { DATASET_FILES } from './io.js';

export interface CardOptions {
  /** Hub dataset name shown in the title, e.g. `org/isobench-vllm`. */
  title?: string;
  license?: string;
  tags?: readonly string[];
  /** Lines of provenance (e.g. the source priority used); shown under "How it was built". */
  notes?: readonly string[];
}

const HF_FEATURE: Record<ColumnType, Record<string, string>> = {
  VARCHAR: { dtype: 'string' },
  'VARCHAR[]': { sequence: 'string' },
  BOOLEAN: { dtype: 'bool' },
  DOUBLE: { dtype: 'float64' },
  INTEGER: { dtype: 'int32' },
};

/** The YAML front matter of the card, generated from the columns written. */
export function cardFrontMatter(rows: readonly DatasetRow[], columns: readonly ColumnSpec[], opts: CardOptions = {}): string {
  const meta = {
    license: opts.license ?? 'apache-2.0',
    tags: [...(opts.tags ?? ['benchmark', 'llm-inference', 'vllm', 'performance', 'iso-bench'])],
    pretty_name: opts.title ?? 'isobench dataset (ISO-Bench schema v5)',
    configs: [{ config_name: 'default', data_files: [{ split: 'train', path: DATASET_FILES.parquet }] }],
    dataset_info: {
      features: columns.map((c) => ({ name: c.name, ...HF_FEATURE[c.type] })),
      splits: [{ name: 'train', num_examples: rows.length }],
    },
  };
  return `---\n${stringify(meta, { lineWidth: 0 })}---\n`;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function countBy(rows: readonly DatasetRow[], key: (r: DatasetRow) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

const table = (head: readonly string[], body: readonly (readonly (string | number)[])[]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function hasMetrics(r: DatasetRow, variant: string): boolean {
  return V5_METRICS.some((m) => typeof r[`${variant}_${m}`] === 'number');
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The card's account of what a row's configuration is, with the counts of these rows. */
function configSection(rows: readonly DatasetRow[]): string[] {
  const configs = new Set(rows.flatMap((r) => (str(r.config_key) !== null && r.config_key !== 'import' ? [`${str(r.commit_hash) ?? ''}|${str(r.config_key) ?? ''}`] : [])));
  const tasks = new Set([...configs].map((k) => k.split('|')[0]));
  const imported = rows.filter((r) => r.config_key === 'import').length;
  const mismatches = rows.reduce((n, r) => n + Object.keys(r).filter((k) => k.endsWith('_comparison_failure') && str(r[k])?.startsWith('workload_mismatch') === true).length, 0);
  return [
    '## Configuration identity',
    '',
    'All trials of a row measured one configuration. `config_key` is the hash of everything that changes what is measured:',
    'the trial procedure version, the perf command (environment, model, server and client arguments, standalone script),',
    "the engine's settings (engine kind, server preset, config file contents), the tokenizer, the warm-up requests, the",
    'OOM-fallback setting and random prompts standing in for a missing dataset file;',
    '`config` spells out the run settings recorded with the run and the deviations of its trials (OOM fallback applied,',
    'dataset substitutions, perf command fixes). Trials of different configurations are never pooled: a task measured',
    'under two configurations has a row for each. Within a row the workload is verified: `workload_hash` is the hash of',
    'the exact requests (prompts, lengths, sampling, seed, tokenizer) that every trial shares; when the two sides of a',
    'comparison ran different workloads, the comparison fails (`<comparison>_comparison_failure` = `workload_mismatch: `',
    'with each hash and where it ran) and its improvements, CI and verdict are null. Imported records of the legacy',
    'pipelines form one configuration (`config_key` = `import`), merged per variant by source priority as the original did.',
    '',
    `${plural(configs.size, 'configuration')} measured by isobench over ${plural(tasks.size, 'task')}; ${plural(imported, 'row')} from imported records; ${plural(mismatches, 'comparison')} failed on a workload mismatch.`,
    '',
  ];
}

/** The Markdown body of the card: counts, coverage and known gaps computed from the rows. */
export function cardBody(rows: readonly DatasetRow[], columns: readonly ColumnSpec[], opts: CardOptions = {}): string {
  const tasks = new Set(rows.map((r) => str(r.commit_hash) ?? '?'));
  const out: string[] = [];
  out.push(`# ${opts.title ?? 'isobench dataset (ISO-Bench schema v5)'}`, '');
  out.push(
    'Each row is one (task, configuration, agent): a commit of the engine (human = the commit, baseline = its parent) and one',
    "coding agent's patch applied to the parent, measured under the same configuration and workload. Generated by `isobench dataset build`;",
    'never edited by hand.',
    '',
  );
  out.push('## Counts', '', `${rows.length} rows, ${tasks.size} tasks.`, '');
  out.push(table(['agent', 'agent model', 'rows'], countBy(rows, (r) => `${str(r.agent_name) ?? '(none)'} | ${str(r.agent_model) ?? '(none)'}`).map(([k, n]) => [...k.split(' | '), n])), '');
  out.push(table(['benchmark_mode', 'rows'], countBy(rows, (r) => str(r.benchmark_mode) ?? '(null)')), '');
  if (columns.some((c) => c.name === 'config_key')) out.push(...configSection(rows));
  out.push('## Coverage', '', 'Rows where each variant has at least one metric:', '');
  out.push(table(['variant', 'rows with metrics', 'rows without'], V5_VARIANTS.map((v) => {
    const n = rows.filter((r) => hasMetrics(r, v)).length;
    return [v, n, rows.length - n];
  })), '');
  out.push('## Known gaps', '');
  const gaps = columns
    .filter((c) => c.type !== 'DOUBLE' && V5_COLUMNS.includes(c))
    .map((c) => [c.name, rows.filter((r) => r[c.name] === null || r[c.name] === undefined).length] as const)
    .filter(([, n]) => n > 0);
  if (gaps.length === 0) out.push('No null descriptive column.', '');
  else out.push('Null cells per descriptive column (metric columns are null where the metric does not exist for the mode or the variant failed):', '', table(['column', 'null rows'], gaps), '');
  const failures = columns.filter((c) => c.name.endsWith('_failure_code'));
  if (failures.length > 0) {
    const body = failures.flatMap((c) => countBy(rows.filter((r) => str(r[c.name]) !== null), (r) => str(r[c.name]) ?? '').map(([code, n]) => [c.name.replace('_failure_code', ''), code, n]));
    if (body.length > 0) out.push('Failed variants by failure code:', '', table(['variant', 'failure code', 'rows'], body), '');
  }
  out.push('## Columns', '', `The first ${V5_COLUMNS.length} columns are ISO-Bench schema v5 with its exact names, order and types.`);
  out.push('Improvement columns are percentages with "positive = better": latency `(ref - x) / ref * 100`, throughput `(x - ref) / ref * 100`; ref = baseline, or human for `agent_vs_human_*`.', '');
  if (columns.some((c) => c.name === 'estimator')) {
    out.push(
      '## Value convention',
      '',
      'One convention per row. Rows built from an isobench store (`estimator = paired_geomean_ratio_t`): every metric value',
      '(`baseline_ttft_mean`, ...) is the **geometric mean over the variant\'s ok trials** of the chosen data source; the v5',
      'improvement columns apply the formula above to those geometric means. The extension improvement',
      '(`*_primary`) is the geometric mean of the per-round ratios x / ref over the rounds in which both variants have an ok',
      'trial (`*_primary_n`); with every round complete it equals the v5 improvement of the same metric. Its interval',
      '(`*_primary_ci_low/high`) is the Student t 95% interval of the mean per-round log-ratio, and the verdict is better /',
      'worse when that interval lies entirely outside the ±2% tie band, tie when inside it, inconclusive otherwise, and',
      '`insufficient` below 2 paired rounds (no interval exists). Rows imported from the published v5 data keep their',
      'single published values (`estimator` null).',
      '',
    );
  }
  const ext = EXTENSION_COLUMNS.filter((e) => columns.some((c) => c.name === e.name));
  if (ext.length > 0) {
    out.push('Extension columns (after the v5 columns):', '', table(['column', 'type', 'meaning'], ext.map((e) => [e.name, e.type, e.description])), '');
  }
  if (opts.notes && opts.notes.length > 0) out.push('## How it was built', '', ...opts.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

/** The whole README.md of the dataset. */
export function renderCard(rows: readonly DatasetRow[], columns: readonly ColumnSpec[], opts: CardOptions = {}): string {
  return `${cardFrontMatter(rows, columns, opts)}\n${cardBody(rows, columns, opts)}`;
}
