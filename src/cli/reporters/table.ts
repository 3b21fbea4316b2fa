import type { ResultRow } from '../../run/index.js';
import { metricValue, short } from './format.js';

function pad(cells: string[][]): string {
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** The results table: per task and variant, trials ok/failed, primary metric median, improvement vs baseline. */
export function formatResults(rows: readonly ResultRow[]): string {
  const cells: string[][] = [['task', 'variant', 'ok', 'failed', 'metric', 'median', 'vs baseline', 'vs human', 'notes']];
  const pct = (c: ResultRow['vsBaseline']) => (c ? `${c.improvementPct >= 0 ? '+' : ''}${c.improvementPct.toFixed(1)}% ${c.verdict}` : '');
  for (const r of rows) {
    const notes = [
      ...r.failures.map((f) => `${f.code}×${f.count}`),
      ...r.deviations.filter((d) => d.includes('oom fallback')).map(() => 'oom fallback'),
      ...(r.agreement !== null && r.agreement < 1 ? [`probe ${(r.agreement * 100).toFixed(0)}%`] : []),
      ...(r.unchecked > 0 ? [`probe unchecked×${r.unchecked}`] : []),
    ].join(', ');
    cells.push([short(r.taskCommit), r.label, String(r.ok), String(r.failed), r.metric ?? '', r.median === null ? '' : metricValue(r.median), pct(r.vsBaseline), pct(r.vsHuman), notes]);
  }
  return pad(cells);
}
