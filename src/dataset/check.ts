import { V5_COMPARISONS, V5_IMPROVEMENT_METRICS, V5_METRICS, V5_VARIANTS, type DatasetRow, type V5Metric } from './schema.js';
import { improvementColumn, numberCell, v5Improvement } from './formula.js';

/** Percentage points an improvement cell may differ from the formula (rounding of stored metrics). */
export const IMPROVEMENT_TOLERANCE = 0.05;
/** Ratio between two variants' throughputs above which they cannot be in the same unit (req/s vs tok/s). */
export const THROUGHPUT_UNIT_RATIO = 10;
const EXAMPLES = 5;

export type FindingCode =
  | 'agent_label_variants'
  | 'data_source_not_provenance'
  | 'data_source_mixed_meaning'
  | 'improvement_mismatch'
  | 'improvement_without_metric'
  | 'improvement_missing'
  | 'metric_wrong_mode'
  | 'benchmark_mode_missing'
  | 'benchmark_mode_invalid'
  | 'throughput_units_mixed'
  | 'short_commit_hash'
  | 'duplicate_row'
  | 'missing_baseline';

export interface FindingExample {
  /** 0-based row index in the file. */
  row: number;
  commit: string | null;
  agent: string | null;
  column?: string;
  detail: string;
}

export interface Finding {
  code: FindingCode;
  severity: 'error' | 'warning';
  /** How many rows (or cells, see `unit`) have the problem. */
  count: number;
  unit: 'rows' | 'cells';
  message: string;
  examples: FindingExample[];
}

export interface CheckReport {
  rows: number;
  /** Improvement cells whose two inputs and stored value all exist (the ones the formula can be checked on). */
  checkableImprovementCells: number;
  findings: Finding[];
}

const text = (row: DatasetRow, col: string): string | null => {
  const v = row[col];
  return typeof v === 'string' && v !== '' ? v : null;
};

/** Collects occurrences of one finding code, keeping counts and the first few examples. */
class FindingBuilder {
  count = 0;
  readonly examples: FindingExample[] = [];
  private readonly rowsSeen = new Set<number>();
  constructor(readonly unit: 'rows' | 'cells') {}
  add(index: number, row: DatasetRow, detail: string, column?: string): void {
    if (this.unit === 'rows' && this.rowsSeen.has(index)) return;
    this.rowsSeen.add(index);
    this.count++;
    if (this.examples.length < EXAMPLES) {
      this.examples.push({ row: index, commit: text(row, 'commit_hash'), agent: text(row, 'agent_name'), ...(column === undefined ? {} : { column }), detail });
    }
  }
}

/** The metrics each v5 mode can have; anything else in a row of that mode is a sign of a mislabelled row. */
const MODE_METRICS: Record<string, ReadonlySet<V5Metric>> = {
  serving: new Set(['ttft_mean', 'ttft_median', 'ttft_p99', 'tpot_mean', 'tpot_median', 'tpot_p99', 'itl_mean', 'itl_median', 'itl_p99', 'throughput']),
  standalone: new Set(['latency_avg', 'throughput']),
  prefix_caching: new Set(['latency_avg', 'throughput']),
};

/** Same spelling family: `claude-code`, `claude_code`, `Claude Code`. */
export function normalizeLabel(label: string): string {
  return label.toLowerCase().replace(/[\s_-]+/g, '-');
}

/** Lints rows of a v5 dataset: every problem with a count and examples; the rows are not modified. */
export function checkDataset(rows: readonly DatasetRow[]): CheckReport {
  const b = new Map<FindingCode, FindingBuilder>();
  const get = (code: FindingCode, unit: 'rows' | 'cells' = 'rows'): FindingBuilder => {
    let f = b.get(code);
    if (!f) b.set(code, (f = new FindingBuilder(unit)));
    return f;
  };
  let checkable = 0;
  rows.forEach((row, i) => {
    checkable += checkImprovements(row, i, get);
    checkRowShape(row, i, get);
  });
  checkAcrossRows(rows, get);
  return { rows: rows.length, checkableImprovementCells: checkable, findings: toFindings(b, rows) };
}

type Get = (code: FindingCode, unit?: 'rows' | 'cells') => FindingBuilder;

function checkImprovements(row: DatasetRow, i: number, get: Get): number {
  let checkable = 0;
  for (const cmp of V5_COMPARISONS) {
    // An isobench row that records why the comparison was not made (workload_mismatch) has its improvements null on purpose.
    if (text(row, `${cmp.prefix}_comparison_failure`) !== null) continue;
    for (const m of V5_IMPROVEMENT_METRICS) {
      const col = improvementColumn(cmp, m);
      const stored = numberCell(row, col);
      const ref = numberCell(row, `${cmp.ref}_${m}`);
      const x = numberCell(row, `${cmp.x}_${m}`);
      if (ref === null || x === null) {
        if (stored !== null) get('improvement_without_metric', 'cells').add(i, row, `stores ${fmt(stored)} but ${ref === null ? `${cmp.ref}_${m}` : `${cmp.x}_${m}`} is null`, col);
        continue;
      }
      const expected = v5Improvement(m, ref, x);
      if (stored === null) {
        if (expected !== null) get('improvement_missing', 'cells').add(i, row, `null, formula gives ${fmt(expected)}`, col);
        continue;
      }
      if (expected === null) continue;
      checkable++;
      if (Math.abs(stored - expected) > IMPROVEMENT_TOLERANCE) {
        get('improvement_mismatch', 'cells').add(i, row, `stores ${fmt(stored)}, formula gives ${fmt(expected)} (ref ${ref}, x ${x})`, col);
      }
    }
  }
  return checkable;
}

const fmt = (n: number): string => (Math.abs(n) >= 100 ? n.toFixed(1) : n.toFixed(3));

function checkRowShape(row: DatasetRow, i: number, get: Get): void {
  const commit = text(row, 'commit_hash');
  if (commit !== null && !/^[0-9a-f]{40}$/.test(commit)) get('short_commit_hash').add(i, row, `commit_hash "${commit}" is not a 40-character hash`, 'commit_hash');
  const source = text(row, 'data_source');
  if (source !== null && /[:\s]|fail|error|crash/i.test(source)) get('data_source_not_provenance').add(i, row, `data_source "${source}"`, 'data_source');
  else if (source !== null && /\d{4}-\d{2}-\d{2}|codex|trae|claude|gpt|sonnet/i.test(source)) get('data_source_mixed_meaning').add(i, row, `data_source "${source}" encodes an agent or a date, not where it was measured`, 'data_source');
  checkMode(row, i, get);
  checkThroughputUnits(row, i, get);
  const hasBaseline = V5_METRICS.some((m) => numberCell(row, `baseline_${m}`) !== null);
  const hasOther = V5_METRICS.some((m) => numberCell(row, `human_${m}`) !== null || numberCell(row, `agent_${m}`) !== null);
  if (!hasBaseline) get('missing_baseline').add(i, row, hasOther ? 'no baseline metric, but human/agent metrics exist' : 'no baseline metric (and none for human/agent)');
}

function checkMode(row: DatasetRow, i: number, get: Get): void {
  const mode = text(row, 'benchmark_mode');
  if (mode === null) {
    get('benchmark_mode_missing').add(i, row, 'benchmark_mode is null', 'benchmark_mode');
    return;
  }
  const allowed = MODE_METRICS[mode];
  if (!allowed) {
    get('benchmark_mode_invalid').add(i, row, `benchmark_mode "${mode}" is not serving, standalone or prefix_caching`, 'benchmark_mode');
    return;
  }
  const wrong = V5_VARIANTS.flatMap((v) => V5_METRICS.filter((m) => !allowed.has(m) && numberCell(row, `${v}_${m}`) !== null).map((m) => `${v}_${m}`));
  if (wrong.length > 0) get('metric_wrong_mode').add(i, row, `${mode} row has ${wrong.join(', ')}`, wrong[0]);
}

function checkThroughputUnits(row: DatasetRow, i: number, get: Get): void {
  const values = V5_VARIANTS.map((v) => [v, numberCell(row, `${v}_throughput`)] as const).filter((e): e is readonly [typeof e[0], number] => e[1] !== null && e[1] > 0);
  if (values.length < 2) return;
  const nums = values.map((e) => e[1]);
  if (Math.max(...nums) / Math.min(...nums) > THROUGHPUT_UNIT_RATIO) {
    get('throughput_units_mixed').add(i, row, values.map(([v, n]) => `${v} ${n}`).join(', '), 'agent_throughput');
  }
}

function checkAcrossRows(rows: readonly DatasetRow[], get: Get): void {
  const spellings = new Map<string, Map<string, number>>();
  const seen = new Map<string, number>();
  rows.forEach((row, i) => {
    const agent = text(row, 'agent_name');
    if (agent !== null) {
      const family = spellings.get(normalizeLabel(agent)) ?? new Map<string, number>();
      family.set(agent, (family.get(agent) ?? 0) + 1);
      spellings.set(normalizeLabel(agent), family);
    }
    const commit = text(row, 'commit_hash') ?? '';
    // isobench rows of one task and agent under different configurations (config_key) are different measurements.
    const key = `${commit}|${normalizeLabel(agent ?? '')}|${text(row, 'agent_model') ?? ''}|${text(row, 'config_key') ?? ''}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else get('duplicate_row').add(i, row, `same (commit, agent, agent_model${text(row, 'config_key') === null ? '' : ', config_key'}) as row ${first}`);
  });
  rows.forEach((row, i) => {
    const agent = text(row, 'agent_name');
    const family = agent === null ? undefined : spellings.get(normalizeLabel(agent));
    if (!family || family.size < 2) return;
    const majority = [...family.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    if (agent !== majority) {
      const spelled = [...family.entries()].map(([s, n]) => `"${s}" ×${n}`).join(' vs ');
      get('agent_label_variants').add(i, row, `agent_name "${agent}" (agent_model "${text(row, 'agent_model') ?? ''}") is spelled ${spelled}`, 'agent_name');
    }
  });
}

const MESSAGES: Record<FindingCode, [Finding['severity'], string]> = {
  agent_label_variants: ['error', 'one agent under several spellings of agent_name (rows with the minority spelling)'],
  data_source_not_provenance: ['error', 'data_source holds text that is not provenance (an error message)'],
  data_source_mixed_meaning: ['warning', 'data_source mixes location, agent and date'],
  improvement_mismatch: ['error', `improvement cells that disagree with the formula by more than ${IMPROVEMENT_TOLERANCE} pt`],
  improvement_without_metric: ['error', 'improvement cells set while one of their metrics is null'],
  improvement_missing: ['warning', 'improvement cells null although both metrics exist'],
  metric_wrong_mode: ['error', "metrics that do not belong to the row's benchmark_mode"],
  benchmark_mode_missing: ['warning', 'rows without benchmark_mode'],
  benchmark_mode_invalid: ['error', 'benchmark_mode values outside serving/standalone/prefix_caching'],
  throughput_units_mixed: ['error', `throughputs of one row differing by more than ${THROUGHPUT_UNIT_RATIO}x (req/s vs tok/s)`],
  short_commit_hash: ['error', 'commit_hash is not a full 40-character hash'],
  duplicate_row: ['error', 'duplicate (commit, agent, agent_model) rows (and config_key, where rows have one)'],
  missing_baseline: ['warning', 'rows without any baseline metric'],
};

function toFindings(b: Map<FindingCode, FindingBuilder>, _rows: readonly DatasetRow[]): Finding[] {
  const order = Object.keys(MESSAGES) as FindingCode[];
  return order.flatMap((code) => {
    const f = b.get(code);
    if (!f || f.count === 0) return [];
    const [severity, message] = MESSAGES[code];
    return [{ code, severity, count: f.count, unit: f.unit, message, examples: f.examples }];
  });
}
