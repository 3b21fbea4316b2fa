import { kneeIndex as kneeOf, requestMeetsSlo, SLO_ATTAINMENT_GOAL } from '../core/index.js';
/**
 * `isobench bench sweep`: one serving benchmark per load point (request rate and/or concurrency), summarized as a
 * latency-vs-throughput curve with its knee and the highest load that meets the SLOs (docs/loadgen.md, Sweep).
 */
import type { GoodputMetric, ServeBenchResult } from './types.js';

/** One load point of a sweep. */
export interface SweepPoint {
  requestRate: number;
  maxConcurrency: number | null;
}

/** What a sweep keeps of each point's benchmark. */
export interface SweepRow extends SweepPoint {
  completed: number;
  failed: number;
  duration: number;
  request_throughput: number;
  output_throughput: number;
  request_goodput: number | null;
  median_ttft_ms: number;
  p99_ttft_ms: number;
  median_tpot_ms: number;
  p99_tpot_ms: number;
  median_e2el_ms: number;
  p99_e2el_ms: number;
  /** Fraction of the point's requests (failed ones count as not good) meeting every SLO of --goodput, vLLM's per-request test; null without SLOs. */
  slo_attainment: number | null;
  /** slo_attainment >= SLO_ATTAINMENT_GOAL (0.9); null without SLOs. */
  meetsSlo: boolean | null;
}

export interface SweepSummary {
  rows: SweepRow[];
  /** Index of the knee in `rows` ordered by output throughput (null with fewer than 3 points). */
  knee: number | null;
  /** Index of the highest-throughput point that meets the SLOs (meetsSlo; null without SLOs or when none does). */
  maxMeetingSlo: number | null;
  slo: Partial<Record<GoodputMetric, number>> | null;
}

/** The points of `--request-rates` x `--concurrencies` (either may be absent: one value of the other's default). */
export function sweepPoints(rates: readonly number[] | null, concurrencies: readonly (number | null)[] | null, rate: number, concurrency: number | null): SweepPoint[] {
  const out: SweepPoint[] = [];
  for (const c of concurrencies ?? [concurrency]) for (const r of rates ?? [rate]) out.push({ requestRate: r, maxConcurrency: c });
  return out;
}

/** The row of one point's result (statistics over its successful requests, percentiles by linear interpolation). */
export function sweepRow(point: SweepPoint, r: ServeBenchResult, slo: SweepSummary['slo']): SweepRow {
  const { totals: t, metrics: m } = r.measurement;
  const row: SweepRow = {
    ...point,
    completed: t.completed,
    failed: t.failed,
    duration: t.durationS,
    request_throughput: t.requestThroughput,
    output_throughput: t.outputThroughput,
    request_goodput: t.requestGoodput,
    median_ttft_ms: m.ttft.median,
    p99_ttft_ms: m.ttft.percentiles.get(99) ?? NaN,
    median_tpot_ms: m.tpot.median,
    p99_tpot_ms: m.tpot.percentiles.get(99) ?? NaN,
    median_e2el_ms: m.e2el.median,
    p99_e2el_ms: m.e2el.percentiles.get(99) ?? NaN,
    slo_attainment: null,
    meetsSlo: null,
  };
  if (slo && r.samples.length > 0) {
    row.slo_attainment = r.samples.filter((x) => requestMeetsSlo(x, slo)).length / r.samples.length;
    row.meetsSlo = row.slo_attainment >= SLO_ATTAINMENT_GOAL;
  } else if (slo) row.meetsSlo = false;
  return row;
}

/** The knee of the p99 TTFT vs output throughput curve (core kneeIndex, Kneedle); null with fewer than 3 points or a flat curve. */
export function kneeIndex(rows: readonly Pick<SweepRow, 'output_throughput' | 'p99_ttft_ms'>[]): number | null {
  return kneeOf(rows.map((r) => ({ x: r.output_throughput, y: r.p99_ttft_ms })));
}

export function summarizeSweep(rows: SweepRow[], slo: SweepSummary['slo']): SweepSummary {
  let maxMeetingSlo: number | null = null;
  rows.forEach((r, i) => {
    if (r.meetsSlo === true && (maxMeetingSlo === null || r.output_throughput > rows[maxMeetingSlo]!.output_throughput)) maxMeetingSlo = i;
  });
  return { rows, knee: kneeIndex(rows), maxMeetingSlo, slo };
}

const CSV_COLUMNS: (keyof SweepRow)[] = ['requestRate', 'maxConcurrency', 'completed', 'failed', 'duration', 'request_throughput', 'output_throughput', 'request_goodput', 'median_ttft_ms', 'p99_ttft_ms', 'median_tpot_ms', 'p99_tpot_ms', 'median_e2el_ms', 'p99_e2el_ms', 'slo_attainment', 'meetsSlo'];

export function sweepCsv(s: SweepSummary): string {
  const cell = (v: SweepRow[keyof SweepRow]): string => (v === null || v === undefined ? '' : v === Infinity ? 'inf' : typeof v === 'number' ? String(Number(v.toFixed(6))) : String(v));
  const head = [...CSV_COLUMNS, 'knee', 'max_meeting_slo'].join(',');
  return `${[head, ...s.rows.map((r, i) => [...CSV_COLUMNS.map((c) => cell(r[c])), String(s.knee === i), String(s.maxMeetingSlo === i)].join(','))].join('\n')}\n`;
}

export function sweepJson(s: SweepSummary): unknown {
  const num = (v: number | null): number | string | null => (v === Infinity ? 'inf' : v);
  return {
    slo_ms: s.slo,
    knee: s.knee,
    max_meeting_slo: s.maxMeetingSlo,
    points: s.rows.map((r) => ({ ...r, requestRate: num(r.requestRate) })),
  };
}

/** A point's label: `rate 4` / `c16` / `rate 4 c16`. */
export function pointLabel(p: SweepPoint): string {
  const rate = p.requestRate === Infinity ? 'inf' : String(p.requestRate);
  return p.maxConcurrency === null ? `rate ${rate}` : p.requestRate === Infinity ? `c${p.maxConcurrency}` : `rate ${rate} c${p.maxConcurrency}`;
}

/** The sweep as a self-contained HTML page: two SVG charts (TTFT, TPOT p50/p99 vs output tok/s), knee and SLO marked. */
export function sweepHtml(s: SweepSummary, title: string): string {
  const esc = (t: string): string => t.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const chart = (metric: 'ttft' | 'tpot'): string => {
    const W = 640;
    const H = 320;
    const m = { l: 64, r: 16, t: 24, b: 44 };
    const pts = s.rows.map((r, i) => ({ i, x: r.output_throughput, p50: r[`median_${metric}_ms`], p99: r[`p99_${metric}_ms`] })).sort((a, b) => a.x - b.x);
    const ys = pts.flatMap((p) => [p.p50, p.p99]).filter((y) => Number.isFinite(y));
    const xMax = Math.max(1, ...pts.map((p) => p.x)) * 1.05;
    const yMax = Math.max(1, ...ys) * 1.1;
    const sx = (x: number): number => m.l + (x / xMax) * (W - m.l - m.r);
    const sy = (y: number): number => H - m.b - (y / yMax) * (H - m.t - m.b);
    const line = (key: 'p50' | 'p99', color: string, dash: string): string =>
      `<polyline fill="none" stroke="${color}" stroke-width="2" ${dash} points="${pts.filter((p) => Number.isFinite(p[key])).map((p) => `${sx(p.x).toFixed(1)},${sy(p[key]).toFixed(1)}`).join(' ')}"/>` +
      pts.filter((p) => Number.isFinite(p[key])).map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p[key]).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(pointLabel(s.rows[p.i]!))}: ${key} ${p[key].toFixed(1)} ms at ${p.x.toFixed(1)} tok/s</title></circle>`).join('');
    const ticks = (max: number, n = 5): number[] => Array.from({ length: n + 1 }, (_, k) => (max * k) / n);
    const grid =
      ticks(yMax).map((y) => `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#ddd"/><text x="${m.l - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(y < 10 ? 1 : 0)}</text>`).join('') +
      ticks(xMax).map((x) => `<text x="${sx(x).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${x.toFixed(0)}</text>`).join('');
    const mark = (idx: number | null, label: string, color: string): string => {
      if (idx === null) return '';
      const r = s.rows[idx]!;
      const x = sx(r.output_throughput);
      return `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="${color}" stroke-dasharray="4 3"/><text x="${(x + 4).toFixed(1)}" y="${m.t + 12}" fill="${color}">${esc(label)} (${esc(pointLabel(r))})</text>`;
    };
    const slo = s.slo?.[metric];
    const sloLine = slo === undefined || slo > yMax ? '' : `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(slo).toFixed(1)}" y2="${sy(slo).toFixed(1)}" stroke="#b00" stroke-dasharray="2 2"/><text x="${W - m.r}" y="${(sy(slo) - 4).toFixed(1)}" text-anchor="end" fill="#b00">SLO ${slo} ms</text>`;
    return `<figure><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${metric.toUpperCase()} vs output throughput">${grid}
<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>
${line('p50', '#1f77b4', '')}${line('p99', '#d62728', 'stroke-dasharray="6 3"')}${mark(s.knee, 'knee', '#555')}${mark(s.maxMeetingSlo, 'max meeting SLO', '#2a7')}${sloLine}
<text x="${(W + m.l) / 2}" y="${H - 6}" text-anchor="middle">output throughput (tok/s)</text><text transform="translate(14 ${(H - m.b + m.t) / 2}) rotate(-90)" text-anchor="middle">${metric.toUpperCase()} (ms)</text></svg>
<figcaption>${metric.toUpperCase()} median (solid) and p99 (dashed) per load point, over its successful requests.</figcaption></figure>`;
  };
  const rows = s.rows
    .map((r, i) => `<tr><td>${esc(pointLabel(r))}${s.knee === i ? ' (knee)' : ''}${s.maxMeetingSlo === i ? ' (max meeting SLO)' : ''}</td><td>${r.completed}/${r.completed + r.failed}</td><td>${r.request_throughput.toFixed(2)}</td><td>${r.output_throughput.toFixed(1)}</td><td>${r.median_ttft_ms.toFixed(1)}</td><td>${r.p99_ttft_ms.toFixed(1)}</td><td>${r.median_tpot_ms.toFixed(2)}</td><td>${r.p99_tpot_ms.toFixed(2)}</td><td>${r.request_goodput === null ? '-' : r.request_goodput.toFixed(2)}</td><td>${r.slo_attainment === null ? '-' : `${(r.slo_attainment * 100).toFixed(1)}%`}</td><td>${r.meetsSlo === null ? '-' : r.meetsSlo ? 'yes' : 'no'}</td></tr>`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:1100px;padding:0 1rem;color:#222}svg{width:100%;height:auto;max-width:760px;font-size:12px}figure{margin:1rem 0}table{border-collapse:collapse;font-size:14px;overflow-x:auto;display:block}td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>
<h1>${esc(title)}</h1>
<p>One benchmark per load point. Knee: the point farthest below the chord of p99 TTFT vs output throughput (both scaled to [0, 1]; Kneedle). ${s.slo ? `SLO (ms): ${esc(Object.entries(s.slo).map(([k, v]) => `${k} ${v}`).join(', '))}; a point meets it when at least ${SLO_ATTAINMENT_GOAL * 100}% of its requests meet every SLO (vLLM's per-request goodput test).` : 'No SLO given (--goodput).'}</p>
${chart('ttft')}${chart('tpot')}
<table><thead><tr><th>point</th><th>ok</th><th>req/s</th><th>output tok/s</th><th>TTFT p50</th><th>TTFT p99</th><th>TPOT p50</th><th>TPOT p99</th><th>goodput req/s</th><th>requests meeting SLO</th><th>meets SLO</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}
