import { v5BenchmarkMode } from '../core/index.js';
import { parsePerfCommand } from '../vllm/index.js';
import { checkDataset, normalizeLabel } from './check.js';
import { V5_COLUMNS, V5_METRICS, V5_VARIANTS, type CellValue, type DatasetRow, type V5Metric, type V5Variant } from './schema.js';

/** Why a cell of the published dataset differs from the rebuilt one. */
export type DifferenceReason =
  | 'published_formula' // the published improvement does not follow its own metrics
  | 'published_improvement_missing' // published left it null though both of its metrics exist
  | 'published_improvement_without_metric'
  | 'follows_metric_difference' // published improvement is right for its metrics; the metrics differ (see those cells)
  | 'published_omits_measurement' // the corpus has the measurement; published left the cell null
  | 'published_mixes_sources' // published took this value from another source than the variant's other metrics
  | 'source_priority' // both values are in the corpus; isobench takes the source of higher priority
  | 'published_units_mixed' // published throughput is in req/s next to tok/s values
  | 'value_not_in_corpus' // published value appears in no imported measurement of this variant
  | 'published_short_hash'
  | 'published_export_date' // benchmark_date is the export date, not the measurement's
  | 'published_label_inconsistent'
  | 'published_omits_value' // commit metadata the corpus states, left empty
  | 'published_mode_contradicts_command'
  | 'mode_from_measurement' // isobench takes the mode the measurement ran in
  | 'model_of_measurement' // isobench reports the model the chosen measurement ran
  | 'raw_of_chosen_trial' // isobench keeps the raw log of the trial whose metrics it reports
  | 'provenance_granularity' // isobench names the source ('merged' when variants differ; per variant in extensions)
  | 'not_carried' // test scripts and paths on the original machines are not measurements
  | 'rerun_row_metadata' // published rerun rows hold the rerun's description and fixed command, not the commit's
  | 'other';

/** One measurement of one variant available in the store, as v5 values. */
export interface Measurement {
  source: string;
  file: string;
  values: Partial<Record<V5Metric, number>>;
  /** req/s, to recognise a published req/s value in the tok/s `throughput` column. */
  requestThroughput?: number;
}

/** Measurements of a (commit, variant) in the store, for tracing where a published value came from. */
export type MeasurementLookup = (commit: string, variant: V5Variant) => readonly Measurement[];

export interface CellDifference {
  commit: string;
  column: string;
  published: CellValue;
  ours: CellValue;
  reason: DifferenceReason;
  /** Where a traced value came from, e.g. `separate_agent:results/separate_agent/x_human_result.json`. */
  detail?: string;
}

export interface PublishedComparison {
  rowsCompared: number;
  publishedOnly: string[];
  oursOnly: string[];
  cellsCompared: number;
  cellsEqual: number;
  differences: CellDifference[];
  byReason: Partial<Record<DifferenceReason, number>>;
}

const TOL = 0.005;
const same = (a: CellValue | undefined, b: CellValue | undefined): boolean => {
  const x = a ?? null;
  const y = b ?? null;
  if (typeof x === 'number' && typeof y === 'number') return Math.abs(x - y) <= Math.max(1e-9, 1e-9 * Math.abs(x));
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => v === y[i]);
  return x === y;
};
const near = (a: number, b: number): boolean => Math.abs(a - b) <= TOL + 1e-6 * Math.abs(a);

/**
 * Compares rows rebuilt by isobench with a published dataset, row by row on the commit (first 8 characters) and
 * normalized agent label, and gives each differing cell a reason.
 */
export function compareWithPublished(published: readonly DatasetRow[], ours: readonly DatasetRow[], lookup: MeasurementLookup): PublishedComparison {
  const agentOf = (r: DatasetRow): string => normalizeLabel(String(r.agent_name ?? ''));
  const key = (r: DatasetRow): string => `${String(r.commit_hash)}|${agentOf(r)}`;
  // A short published hash matches the one rebuilt row whose full hash starts with it.
  const find = (p: DatasetRow): DatasetRow | undefined => {
    const hits = ours.filter((o) => agentOf(o) === agentOf(p) && String(o.commit_hash).startsWith(String(p.commit_hash)));
    return hits.length === 1 ? hits[0] : undefined;
  };
  const matched = new Set<DatasetRow>();
  const out: PublishedComparison = { rowsCompared: 0, publishedOnly: [], oursOnly: [], cellsCompared: 0, cellsEqual: 0, differences: [], byReason: {} };
  for (const p of published) {
    const o = find(p);
    if (!o) {
      out.publishedOnly.push(key(p));
      continue;
    }
    matched.add(o);
    out.rowsCompared++;
    const lint = lintCells(p);
    for (const c of V5_COLUMNS) {
      out.cellsCompared++;
      if (same(p[c.name], o[c.name])) {
        out.cellsEqual++;
        continue;
      }
      const d = explain(c.name, p, o, lint, lookup);
      out.differences.push(d);
      out.byReason[d.reason] = (out.byReason[d.reason] ?? 0) + 1;
    }
  }
  out.oursOnly = ours.filter((o) => !matched.has(o)).map(key);
  return out;
}

/** The improvement cells of one published row that its own lint flags, by column. */
function lintCells(row: DatasetRow): Map<string, DifferenceReason> {
  const m = new Map<string, DifferenceReason>();
  const codes: Partial<Record<string, DifferenceReason>> = {
    improvement_mismatch: 'published_formula',
    improvement_missing: 'published_improvement_missing',
    improvement_without_metric: 'published_improvement_without_metric',
  };
  // One row at a time so that every cell is listed (examples are capped per finding).
  for (const f of checkDataset([row]).findings) {
    const reason = codes[f.code];
    if (!reason) continue;
    for (const e of f.examples) if (e.column) m.set(e.column, reason);
  }
  return m;
}

const METRIC_COL = new RegExp(`^(baseline|human|agent)_(${V5_METRICS.join('|')})$`);

function explain(column: string, p: DatasetRow, o: DatasetRow, lint: Map<string, DifferenceReason>, lookup: MeasurementLookup): CellDifference {
  const base = { commit: String(o.commit_hash), column, published: p[column] ?? null, ours: o[column] ?? null };
  const with_ = (reason: DifferenceReason, detail?: string): CellDifference => ({ ...base, reason, ...(detail === undefined ? {} : { detail }) });
  const lintReason = lint.get(column);
  if (lintReason) return with_(lintReason);
  if (/_(improvement|vs_human)_/.test(column)) return with_('follows_metric_difference');
  const metric = METRIC_COL.exec(column);
  if (metric) return explainMetric(base.commit, metric[1] as V5Variant, metric[2] as V5Metric, p, o, lookup, with_);
  return explainDescriptive(column, p, o, with_);
}

function explainMetric(
  commit: string,
  variant: V5Variant,
  metric: V5Metric,
  p: DatasetRow,
  o: DatasetRow,
  lookup: MeasurementLookup,
  with_: (reason: DifferenceReason, detail?: string) => CellDifference,
): CellDifference {
  const pub = p[`${variant}_${metric}`];
  const ours = o[`${variant}_${metric}`];
  const chosen = o[`${variant}_data_source`];
  if (typeof pub !== 'number') return with_('published_omits_measurement', typeof chosen === 'string' ? chosen : undefined);
  if (metric === 'throughput') {
    const others = V5_VARIANTS.map((v) => p[`${v}_throughput`]).filter((x): x is number => typeof x === 'number' && x > 0);
    if (others.length > 1 && Math.max(...others) / Math.min(...others) > 10) return with_('published_units_mixed');
  }
  const found = lookup(commit, variant);
  if (metric === 'throughput' && found.some((m) => m.requestThroughput !== undefined && near(m.requestThroughput, pub))) return with_('published_units_mixed');
  const hit = found.find((m) => {
    const v = m.values[metric];
    return v !== undefined && near(v, pub);
  });
  if (!hit) return with_('value_not_in_corpus');
  const detail = `${hit.source}:${hit.file}`;
  if (hit.source === chosen) return with_('source_priority', detail);
  // The published row took this value from one file and other metrics of the same variant from ours.
  const agreeing = V5_METRICS.some((m) => m !== metric && typeof o[`${variant}_${m}`] === 'number' && same(p[`${variant}_${m}`], o[`${variant}_${m}`]));
  return with_(typeof ours !== 'number' || agreeing ? 'published_mixes_sources' : 'source_priority', detail);
}

function explainDescriptive(column: string, p: DatasetRow, o: DatasetRow, with_: (reason: DifferenceReason, detail?: string) => CellDifference): CellDifference {
  const pub = p[column];
  const empty = (v: CellValue | undefined): boolean => v === null || v === undefined || (Array.isArray(v) && v.length === 0) || v === '';
  const source = typeof p.data_source === 'string' ? p.data_source : '';
  if (/rerun|benchmark_run/.test(source) && ['commit_subject', 'perf_command', 'files_changed'].includes(column)) return with_('rerun_row_metadata');
  switch (column) {
    case 'commit_hash':
      return with_(typeof pub === 'string' && pub.length < 40 ? 'published_short_hash' : 'other');
    case 'benchmark_date':
      return with_('published_export_date');
    case 'repo':
    case 'agent_name':
    case 'agent_model':
      return with_(typeof pub === 'string' && (column !== 'repo' || !pub.includes('/')) ? 'published_label_inconsistent' : 'other');
    case 'pr_url':
      return with_(typeof pub === 'string' && !/^https?:/.test(pub) ? 'published_label_inconsistent' : empty(pub) ? 'published_omits_value' : 'other');
    case 'models':
    case 'files_changed':
    case 'parent_commit':
    case 'commit_subject':
    case 'perf_command':
    case 'gpu_config':
      if (empty(pub) && !empty(o[column])) return with_('published_omits_value');
      return with_(empty(o[column]) ? 'value_not_in_corpus' : 'other');
    case 'benchmark_mode':
      return with_(modeContradicts(p) ? 'published_mode_contradicts_command' : 'mode_from_measurement');
    case 'model':
      return with_('model_of_measurement');
    case 'baseline_raw':
    case 'human_raw':
    case 'agent_raw':
      return with_('raw_of_chosen_trial');
    case 'data_source':
      return with_('provenance_granularity');
    case 'test_script':
    case 'patch_path':
      return with_('not_carried');
    default:
      return with_('other');
  }
}

function modeContradicts(p: DatasetRow): boolean {
  const cmd = p.perf_command;
  const label = p.benchmark_mode;
  if (typeof cmd !== 'string' || typeof label !== 'string') return false;
  const parsed = parsePerfCommand(cmd);
  if (parsed.status !== 'ok' || parsed.mode === 'unknown') return false;
  return v5BenchmarkMode(parsed.mode) !== label;
}
