import { DEFAULT_TIE_THRESHOLD, ESTIMATOR } from '../../analysis/index.js';
import type { CurveMetric, ResultComparison, ResultRow, TaskSummary } from '../../run/index.js';
import { metricValue, short } from './format.js';
import { SLO_ATTAINMENT_GOAL } from '../../core/index.js';

function pad(cells: string[][]): string {
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

/** `+10.2% [+4.1, +16.0] better n=5`, or `n=1: no verdict` where the interval needs more paired rounds. */
export function comparisonText(c: ResultComparison | null): string {
  if (!c) return '';
  if (c.verdict === 'insufficient' || c.ciLow === null || c.ciHigh === null) return `n=${c.n}: no verdict`;
  return `${signed(c.improvementPct)}% [${signed(c.ciLow)}, ${signed(c.ciHigh)}] ${c.verdict} n=${c.n}`;
}

/** The line above the table that says what its percentages are. */
export function estimatorLine(tieThreshold = DEFAULT_TIE_THRESHOLD): string {
  return `vs baseline / vs human: ${ESTIMATOR.short}, tie band ±${tieThreshold}%, positive = better; geomean = geometric mean over ok trials`;
}

const signedPct = (x: number) => `${signed(x)}%`;

/** The lines under the table per task: primary metric and why, secondary verdicts (Holm), position effect, noise floor, stop. */
export function taskLines(rows: readonly ResultRow[], tasks: readonly TaskSummary[]): string[] {
  const out: string[] = [];
  for (const t of tasks) {
    const parts = [`primary ${t.primaryMetric} (${t.primaryWhy})`];
    const pos = t.positionEffectPct;
    if (pos.length > 1) parts.push(`position effect ${pos.map((p, i) => `${i + 1}:${signedPct(p)}`).join(' ')}`);
    if (t.noiseFloor) {
      const f = t.noiseFloor;
      const interval = f.aaCiLow === null || f.aaCiHigh === null ? '' : ` [${signed(f.aaCiLow)}, ${signed(f.aaCiHigh)}]`;
      parts.push(`A/A baseline′ vs baseline ${signedPct(f.aaImprovementPct)}${interval} n=${f.n}, smallest detectable effect ${f.minDetectablePct === null ? '-' : `${f.minDetectablePct.toFixed(1)}%`}`);
      if (f.message) parts.push(f.message);
    }
    if (t.stop) parts.push(`stopped after ${t.stop.rounds} rounds (${t.stop.reason}); ${t.gpuSeconds.toFixed(1)} GPU-s of ${(t.gpuSecondsAtMax ?? 0).toFixed(1)} at the maximum; vs baseline: the estimate at the stop, its 95% interval stage-wise (aware of the stopping rule), the verdict the boundary's`);
    const secondary = rows
      .filter((r) => r.taskCommit === t.taskCommit && (r.sweep === null ? null : `${r.sweep.index}/${r.sweep.count}: ${r.sweep.label}`) === t.sweepPoint)
      .flatMap((r) => {
        const decided = r.secondary.filter((c) => c.verdict === 'better' || c.verdict === 'worse');
        return decided.length === 0 ? [] : [`${r.label} ${decided.map((c) => `${c.metric} ${signedPct(c.improvementPct)} ${c.verdict}`).join(', ')}`];
      });
    if (secondary.length > 0) parts.push(`secondary metrics (Holm-corrected): ${secondary.join('; ')}`);
    out.push(`${short(t.taskCommit)}${t.sweepPoint === null ? '' : ` @${t.sweepPoint}`}  ${parts.join('; ')}`);
  }
  return out;
}

/** The results table: per task and variant, trials ok/failed, primary metric geometric mean, paired improvements. */
export function formatResults(rows: readonly ResultRow[], tasks: readonly TaskSummary[] = []): string {
  const cells: string[][] = [['task', 'variant', 'ok', 'failed', 'metric', 'geomean', 'vs baseline', 'vs human', 'notes']];
  for (const r of rows) {
    const notes = [
      ...r.failures.map((f) => `${f.code}×${f.count}`),
      ...(r.oomFallbackMaxModelLen !== null ? ['oom fallback'] : []),
      ...(r.datasetSubstitutions.length > 0 ? ['dataset substituted'] : []),
      ...(r.agreement !== null && r.agreement < 1 ? [`probe ${(r.agreement * 100).toFixed(0)}%`] : []),
      ...(r.unchecked > 0 ? [`probe unchecked×${r.unchecked}`] : []),
      ...r.comparisonFailures.map((c) => `${c.failure.code} vs ${c.against}`),
    ].join(', ');
    cells.push([r.sweep ? `${short(r.taskCommit)} @${r.sweep.index}/${r.sweep.count}` : short(r.taskCommit), r.label, String(r.ok), String(r.failed), r.metric ?? '', r.value === null ? '' : metricValue(r.value), comparisonText(r.vsBaseline), comparisonText(r.vsHuman), notes]);
  }
  // A comparison that was not made says why in full (the evidence names both workload hashes).
  const why = rows.flatMap((r) => r.comparisonFailures.map((c) => `${short(r.taskCommit)} ${r.label} vs ${c.against}: ${c.failure.code}: ${c.failure.evidence}`));
  // A substituted dataset says in full what was measured instead (once per task).
  const substituted = new Map<string, string>();
  for (const r of rows) for (const d of r.datasetSubstitutions) substituted.set(r.taskCommit, `${short(r.taskCommit)} deviation: ${d}`);
  const lines = taskLines(rows, tasks);
  const sweeps = sweepCurves(rows).flatMap((s) => ['', ...sweepLines(s)]);
  return [estimatorLine(), pad(cells), ...why, ...substituted.values(), ...(lines.length > 0 ? ['', ...lines] : []), ...sweeps].join('\n');
}

const ms = (x: number | null): string => (x === null ? '-' : x.toFixed(x < 10 ? 2 : 1));

/** A sweep's curves: per point and variant, output throughput and TTFT/TPOT p50/p99 (geometric means over ok trials), the verdict of the point. */
export function sweepLines(s: SweepCurves): string[] {
  const slo = s.slo !== null;
  const cells: string[][] = [['point', 'variant', 'ok', 'output tok/s', 'TTFT p50', 'TTFT p99', 'TPOT p50', 'TPOT p99', ...(slo ? ['meet SLO'] : []), `${s.metric ?? 'primary'} vs baseline`]];
  const count = Math.max(0, ...s.variants.flatMap((v) => v.points.map((p) => p.index)));
  for (let i = 1; i <= count; i++) {
    for (const v of s.variants) {
      const p = v.points.find((x) => x.index === i);
      if (!p) continue;
      const c = p.curve;
      const marks = [v.knee === i ? 'knee' : null, v.maxMeetingSlo === i ? 'max meeting SLO' : null].filter((m) => m !== null).join(', ');
      const meet = p.slo?.fraction == null ? '-' : `${(p.slo.fraction * 100).toFixed(1)}%`;
      cells.push([`${i}/${s.points}: ${p.label}${marks === '' ? '' : ` (${marks})`}`, v.label, `${p.ok}/${p.ok + p.failed}`, c.output_throughput === null ? '-' : c.output_throughput.toFixed(1), ms(c.ttft_median), ms(c.ttft_p99), ms(c.tpot_median), ms(c.tpot_p99), ...(slo ? [meet] : []), comparisonText(p.vsBaseline)]);
    }
  }
  const sloNote = slo ? `; SLO ${s.slo ?? ''} (ms): meet SLO = requests meeting every SLO (vLLM's per-request goodput test), a point meets it at >= ${SLO_ATTAINMENT_GOAL * 100}%` : '';
  return [`${short(s.taskCommit)} sweep, ${s.points} points: latency (ms) vs output throughput per point, geometric means over ok trials; knee = Kneedle on p99 TTFT vs output tok/s, per variant${sloNote}`, pad(cells)];
}

/** A task's sweep: per variant, its points in order (the curve) and the knee of p99 TTFT vs output throughput. */
export interface SweepCurves {
  taskCommit: string;
  points: number;
  metric: string | null;
  /** The points' --goodput SLO (`ttft:500`, ms), the first point's that has one; null without. */
  slo: string | null;
  variants: {
    label: string;
    variantId: string;
    points: { index: number; label: string; ok: number; failed: number; value: number | null; vsBaseline: ResultComparison | null; curve: Record<CurveMetric, number | null>; slo: ResultRow['slo'] }[];
    /** Index (1-based) of the knee point (Kneedle, as `bench sweep`); null below 3 measured points or on a flat curve. */
    knee: number | null;
    /** Index (1-based) of the highest output tok/s point that meets the SLO; null without an SLO or when none does. */
    maxMeetingSlo: number | null;
  }[];
}

/** The sweeps of a results table, from its rows (one per point and variant): the `sweeps` of run's JSON results. */
export function sweepCurves(rows: readonly ResultRow[]): SweepCurves[] {
  const out: SweepCurves[] = [];
  for (const r of rows) {
    if (!r.sweep || !r.curve) continue;
    let task = out.find((t) => t.taskCommit === r.taskCommit);
    if (!task) out.push((task = { taskCommit: r.taskCommit, points: r.sweep.count, metric: r.metric, slo: null, variants: [] }));
    task.slo ??= r.slo?.text ?? null;
    let v = task.variants.find((x) => x.variantId === r.variantId);
    if (!v) task.variants.push((v = { label: r.label, variantId: r.variantId, points: [], knee: null, maxMeetingSlo: null }));
    if (r.sweep.knee) v.knee = r.sweep.index;
    v.points.push({ index: r.sweep.index, label: r.sweep.label, ok: r.ok, failed: r.failed, value: r.value, vsBaseline: r.vsBaseline, curve: r.curve, slo: r.slo });
  }
  for (const t of out) {
    for (const v of t.variants) {
      v.points.sort((a, b) => a.index - b.index);
      const met = v.points.filter((p) => p.slo?.met === true);
      v.maxMeetingSlo = met.reduce<(typeof met)[number] | null>((best, p) => (best === null || (p.curve.output_throughput ?? 0) > (best.curve.output_throughput ?? 0) ? p : best), null)?.index ?? null;
    }
  }
  return out;
}

