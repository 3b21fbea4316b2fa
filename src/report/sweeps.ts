import { kneeIndex } from '../core/index.js';
import { numberCell, type DatasetRow } from '../dataset/index.js';
import type { RowAnalysis, Side } from './model.js';

/** The sweep metrics drawn against output throughput (the v5 columns a serving row has per variant). */
export const SWEEP_METRICS = ['ttft_median', 'ttft_p99', 'tpot_median', 'tpot_p99'] as const;
export type SweepMetric = (typeof SWEEP_METRICS)[number];

/** One load level of a variant: its output tok/s and latencies (geometric means over its trials at that point). */
export interface SweepCurvePoint {
  /** The point as the row names it (`2/3: max_concurrency=16`). */
  point: string;
  /** Its position in the sweep (1-based, from `sweep_point`). */
  index: number;
  throughput: number;
  values: Record<SweepMetric, number | null>;
  /** The SLO columns of the row for this variant (`<side>_slo_attainment`, `_goodput`, `_slo_met`); null without. */
  sloAttainment: number | null;
  goodput: number | null;
  sloMet: boolean | null;
}

export interface SweepCurve {
  variant: string;
  points: SweepCurvePoint[];
  /** Index into `points` of the knee of p99 TTFT vs output tok/s (core kneeIndex, as bench sweep); null below 3 points. */
  knee: number | null;
  /** Index into `points` of the highest output tok/s point that meets the SLO (`slo_met`); null without SLO or when none does. */
  maxMeetingSlo: number | null;
}

/** The curves of one sweep task: one per variant over the task's points. */
export interface TaskSweep {
  commit: string;
  short: string;
  subject: string;
  /** The rows' `slo` (`ttft:500 tpot:50`, ms; `varies by point: ...` when the points' differ); null when no point's command set --goodput. */
  slo: string | null;
  curves: SweepCurve[];
}

const pointIndex = (p: string): number => Number(/^(\d+)\//.exec(p)?.[1] ?? Number.NaN);

function curvePoint(row: DatasetRow, side: Side, point: string): SweepCurvePoint | null {
  const throughput = numberCell(row, `${side}_throughput`);
  if (throughput === null || !(throughput > 0)) return null;
  const values = Object.fromEntries(SWEEP_METRICS.map((m) => [m, numberCell(row, `${side}_${m}`)])) as Record<SweepMetric, number | null>;
  const met = row[`${side}_slo_met`];
  return {
    point,
    index: pointIndex(point),
    throughput,
    values,
    sloAttainment: numberCell(row, `${side}_slo_attainment`),
    goodput: numberCell(row, `${side}_goodput`),
    sloMet: typeof met === 'boolean' ? met : null,
  };
}

function curve(variant: string, points: SweepCurvePoint[]): SweepCurve {
  const sorted = [...points].sort((a, b) => a.index - b.index);
  const usable = sorted.filter((p) => p.values.ttft_p99 !== null);
  const k = kneeIndex(usable.map((p) => ({ x: p.throughput, y: p.values.ttft_p99 ?? 0 })));
  let best: number | null = null;
  sorted.forEach((p, i) => {
    if (p.sloMet === true && (best === null || p.throughput > sorted[best]!.throughput)) best = i;
  });
  return { variant, points: sorted, knee: k === null ? null : sorted.indexOf(usable[k]!), maxMeetingSlo: best };
}

/**
 * Latency vs throughput curves of the tasks measured as sweeps (rows with `sweep_point`, one per point): baseline and
 * human from each point's rows, each agent from its own rows.
 */
export function sweepCurves(rows: readonly DatasetRow[], analysed: readonly RowAnalysis[]): TaskSweep[] {
  const byCommit = new Map<string, { row: DatasetRow; a: RowAnalysis }[]>();
  analysed.forEach((a, i) => {
    const row = rows[i];
    if (a.sweepPoint === null || row === undefined) return;
    byCommit.set(a.commit, [...(byCommit.get(a.commit) ?? []), { row, a }]);
  });
  const out: TaskSweep[] = [];
  for (const [commit, list] of byCommit) {
    const curves: SweepCurve[] = [];
    for (const side of ['baseline', 'human'] as const) {
      const points = new Map<string, SweepCurvePoint>();
      for (const { row, a } of list) {
        const p = a.sweepPoint !== null && !points.has(a.sweepPoint) ? curvePoint(row, side, a.sweepPoint) : null;
        if (p) points.set(p.point, p);
      }
      if (points.size > 0) curves.push(curve(side, [...points.values()]));
    }
    for (const agent of [...new Set(list.filter((e) => e.a.hasAgent).map((e) => e.a.agent))].sort()) {
      const points = list.filter((e) => e.a.agent === agent && e.row.has_agent_patch !== false).flatMap((e) => {
        const p = curvePoint(e.row, 'agent', e.a.sweepPoint ?? '');
        return p ? [p] : [];
      });
      if (points.length > 0) curves.push(curve(agent, points));
    }
    const slos = [...new Set(list.map((e) => e.row.slo).filter((x): x is string => typeof x === 'string'))];
    const slo = slos.length === 0 ? null : slos.length === 1 ? slos[0]! : `varies by point: ${slos.join(' / ')}`;
    if (curves.length > 0) out.push({ commit, short: list[0]!.a.short, subject: list[0]!.a.subject, slo, curves });
  }
  return out;
}
