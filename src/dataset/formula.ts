import { improvementPercent } from '../core/index.js';
import { V5_COMPARISONS, type DatasetRow, type V5Comparison, type V5ImprovementMetric } from './schema.js';

/** The canonical metric key (core/metrics.ts) whose direction a v5 metric column follows. */
const CANONICAL: Record<V5ImprovementMetric, string> = {
  ttft_mean: 'ttft_mean',
  tpot_mean: 'tpot_mean',
  itl_mean: 'itl_mean',
  ttft_median: 'ttft_median',
  ttft_p99: 'ttft_p99',
  latency_avg: 'latency_avg',
  throughput: 'throughput',
};

/** Improvement in percent of `x` over `ref` for a v5 metric by the DESIGN.md formula, null when undefined. */
export function v5Improvement(metric: V5ImprovementMetric, ref: number, x: number): number | null {
  return improvementPercent(CANONICAL[metric], ref, x);
}

/** The v5 column that holds a comparison's improvement of a metric, e.g. `agent_vs_human_ttft_mean`. */
export function improvementColumn(cmp: V5Comparison, metric: V5ImprovementMetric): string {
  return `${cmp.prefix}_${metric}`;
}

/** A number cell, or null for anything else (null, missing, NaN). */
export function numberCell(row: DatasetRow, column: string): number | null {
  const v = row[column];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Sets every improvement column of a row from its metric columns (null where an input is missing). */
export function fillImprovements(row: DatasetRow, metrics: readonly V5ImprovementMetric[]): void {
  for (const cmp of V5_COMPARISONS) {
    for (const m of metrics) {
      const ref = numberCell(row, `${cmp.ref}_${m}`);
      const x = numberCell(row, `${cmp.x}_${m}`);
      row[improvementColumn(cmp, m)] = ref === null || x === null ? null : v5Improvement(m, ref, x);
    }
  }
}
