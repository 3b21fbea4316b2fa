import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { metricInfo } from '../core/index.js';
import { REQUEST_METRICS, type RequestMetric } from '../dataset/index.js';
import { COMPARISONS, type ReportModel } from './model.js';
import { SWEEP_METRICS, type TaskSweep } from './sweeps.js';
import type { TaskDetail } from './trials.js';

/** A Vega-Lite spec with its data inlined. */
export type ChartSpec = TopLevelSpec;

/** Width of a chart's plotting area: with its axis labels and legend the SVG stays within an 800 px window's column. */
export const PLOT_WIDTH = 500;

const CONFIG = {
  font: 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6', labelLimit: 200 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom', labelLimit: 260, columns: 2 },
  header: { labelFontSize: 12, titleFontSize: 12 },
} as const;

/**
 * The speed-up of an improvement (> 1 = better): x / ref for a metric where higher is better, ref / x where lower is
 * better. The log of it is the estimator's signed log-ratio, so a log axis of speed-ups is symmetric (2× and 0.5× are
 * the same distance from 1×) and nothing needs clipping. Null where no ratio exists (an unjudged metric, x <= 0).
 */
export function speedup(metric: string, improvementPct: number): number | null {
  const better = metricInfo(metric)?.better;
  const r = better === 'higher' ? 1 + improvementPct / 100 : better === 'lower' ? 1 / (1 - improvementPct / 100) : Number.NaN;
  return Number.isFinite(r) && r > 0 ? r : null;
}

/** The tie band (±t % improvement) as speed-ups, over the metrics drawn (lower- and higher-is-better bands differ slightly). */
function tieBandLimits(metrics: Iterable<string>, t: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of new Set(metrics)) {
    for (const pct of [-t, t]) {
      const r = speedup(m, pct);
      if (r !== null) {
        lo = Math.min(lo, r);
        hi = Math.max(hi, r);
      }
    }
  }
  return Number.isFinite(lo) ? [lo, hi] : [1 - t / 100, 1 + t / 100];
}

/** A log domain around every value, 1× and the tie band, with a little room on both sides. */
function ratioDomain(values: readonly number[], band: [number, number]): [number, number] {
  const lo = Math.min(band[0], ...values);
  const hi = Math.max(band[1], ...values);
  const pad = Math.max(1.02, (hi / lo) ** 0.04);
  return [lo / pad, hi * pad];
}

const DECADES = [-3, -2, -1, 0, 1, 2, 3].flatMap((e) => [1, 2, 5].map((k) => k * 10 ** e));
/** Tick sets from coarse to fine: the coarsest with at least three ticks inside the domain is used. */
const TICK_SETS = [
  DECADES,
  [...DECADES, 0.25, 0.33, 0.4, 0.67, 0.8, 1.25, 1.5, 2.5, 3, 4],
  [0.5, 0.67, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2],
  [0.9, 0.95, 0.97, 0.98, 0.99, 1, 1.01, 1.02, 1.03, 1.05, 1.1],
  [0.99, 0.995, 0.998, 1, 1.002, 1.005, 1.01],
];

/** Round factors inside a log domain (at most 9): `0.5×, 1×, 2×` rather than the scale's uneven defaults. */
export function ratioTicks(domain: [number, number]): number[] {
  const inside = (set: number[]) => [...new Set(set.map((v) => Number(v.toPrecision(6))))].filter((v) => v >= domain[0] && v <= domain[1]).sort((a, b) => a - b);
  const set = TICK_SETS.map(inside).find((t) => t.length >= 3) ?? inside(TICK_SETS.at(-1)!);
  const step = Math.ceil(set.length / 9);
  return set.filter((_, i) => i % step === 0);
}

/** The x channel of a speed-up: log scale, labels as factors (`0.5×`, `1×`, `2×`). */
function ratioAxis(field: string, title: string, domain: [number, number]) {
  return {
    field,
    type: 'quantitative',
    title,
    scale: { type: 'log', domain, nice: false },
    axis: { values: ratioTicks(domain), labelExpr: "format(datum.value, '.3~g') + '×'", labelFlush: true, labelOverlap: true },
  } as const;
}

function tieBand(band: [number, number]) {
  return { mark: { type: 'rect', color: '#d9d9d9', opacity: 0.5 }, encoding: { x: { datum: band[0], type: 'quantitative' }, x2: { datum: band[1] } } } as const;
}
const unitRule = { mark: { type: 'rule', color: '#999' }, encoding: { x: { datum: 1, type: 'quantitative' } } } as const;

/** The per-task chart draws at most this many tasks (the ones with the largest |agent vs human|) to stay legible. */
export const PER_TASK_CHART_MAX = 80;

/** Dot plot: one line per task, one dot per agent, x = agent vs human speed-up (log). */
export function perTaskChart(model: ReportModel): ChartSpec {
  const all = model.rows.flatMap((r) => {
    const c = r.comparisons.agent_vs_human;
    const x = c.status === 'ok' ? speedup(c.metric, c.improvementPct) : null;
    return x === null ? [] : [{ task: r.short, agent: r.agent, speedup: x, metric: c.metric }];
  });
  const extent = new Map<string, number>();
  for (const v of all) extent.set(v.task, Math.max(extent.get(v.task) ?? 0, Math.abs(Math.log(v.speedup))));
  const kept = new Set([...extent.entries()].sort((a, b) => b[1] - a[1]).slice(0, PER_TASK_CHART_MAX).map(([t]) => t));
  const values = all.filter((v) => kept.has(v.task));
  const band = tieBandLimits(values.map((v) => v.metric), model.options.tieThreshold);
  return {
    config: CONFIG,
    width: PLOT_WIDTH,
    height: Math.max(60, kept.size * 14),
    data: { values },
    layer: [
      tieBand(band),
      unitRule,
      {
        mark: { type: 'point', filled: true, size: 55, opacity: 0.85 },
        encoding: {
          x: ratioAxis('speedup', 'agent vs human speed-up (×, log scale; > 1 = better)', ratioDomain(values.map((v) => v.speedup), band)),
          y: { field: 'task', type: 'nominal', title: 'task', sort: 'ascending', axis: { labelFontSize: 10 } },
          color: { field: 'agent', type: 'nominal', title: 'agent' },
          shape: { field: 'agent', type: 'nominal', title: 'agent' },
        },
      },
    ],
  };
}

/** Every comparable row's speed-up, one strip per comparison (a tick per row): the whole range, no bins. */
export function distributionChart(model: ReportModel): ChartSpec {
  const values = model.rows.flatMap((r) =>
    COMPARISONS.flatMap((c) => {
      const cmp = r.comparisons[c.key];
      const x = cmp.status === 'ok' ? speedup(cmp.metric, cmp.improvementPct) : null;
      return x === null ? [] : [{ comparison: c.label, agent: r.agent, speedup: x, metric: cmp.metric }];
    }),
  );
  const band = tieBandLimits(values.map((v) => v.metric), model.options.tieThreshold);
  return {
    config: CONFIG,
    width: PLOT_WIDTH,
    height: 3 * 44,
    data: { values },
    layer: [
      tieBand(band),
      unitRule,
      {
        mark: { type: 'tick', opacity: 0.6, thickness: 1.5 },
        encoding: {
          x: ratioAxis('speedup', 'speed-up (×, log scale; > 1 = better)', ratioDomain(values.map((v) => v.speedup), band)),
          y: { field: 'comparison', type: 'nominal', title: null, sort: COMPARISONS.map((c) => c.label) },
          yOffset: { field: 'agent', type: 'nominal' },
          color: { field: 'agent', type: 'nominal', title: 'agent' },
        },
      },
    ],
  };
}

/** Mean improvement per agent and comparison with its bootstrap 95% CI across tasks (a mean of percentages: linear axis fitted to the data). */
export function ciChart(model: ReportModel): ChartSpec {
  const values = model.agentSummaries.flatMap((s) =>
    COMPARISONS.flatMap((c) => {
      const sum = s.improvements[c.key].summary;
      if (sum.status !== 'ok') return [];
      return [{ agent: s.agent, comparison: c.label, mean: sum.mean, lo: sum.ciLow ?? sum.mean, hi: sum.ciHigh ?? sum.mean, n: sum.n }];
    }),
  );
  const t = model.options.tieThreshold;
  const lo = Math.min(-t, ...values.map((v) => v.lo));
  const hi = Math.max(t, ...values.map((v) => v.hi));
  const x = { type: 'quantitative', scale: { domain: [lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03], nice: false, zero: false }, title: 'mean improvement (%), 95% CI' } as const;
  const y = { field: 'agent', type: 'nominal', title: null } as const;
  const yOffset = { field: 'comparison', type: 'nominal', sort: COMPARISONS.map((c) => c.label) } as const;
  const color = { field: 'comparison', type: 'nominal', title: 'comparison', sort: COMPARISONS.map((c) => c.label) } as const;
  return {
    config: CONFIG,
    width: PLOT_WIDTH,
    height: Math.max(80, model.agentSummaries.length * 66),
    data: { values },
    layer: [
      { mark: { type: 'rect', color: '#d9d9d9', opacity: 0.5 }, encoding: { x: { datum: -t, type: 'quantitative' }, x2: { datum: t } } },
      { mark: { type: 'rule', color: '#999' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' }, y, yOffset, color } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { ...x, field: 'mean' }, y, yOffset, color } },
    ],
  } as ChartSpec;
}

/** Per-task agent vs human speed-up with its 95% CI (rows that have one: multi-trial store data). */
export function perTaskCiChart(model: ReportModel): ChartSpec | null {
  const all = model.rows.flatMap((r) => {
    const c = r.comparisons.agent_vs_human;
    if (c.status !== 'ok' || c.ciLow === null || c.ciHigh === null) return [];
    const [x, lo, hi] = [speedup(c.metric, c.improvementPct), speedup(c.metric, c.ciLow), speedup(c.metric, c.ciHigh)];
    return x === null || lo === null || hi === null ? [] : [{ task: r.short, agent: r.agent, speedup: x, lo, hi, verdict: c.verdict, metric: c.metric }];
  });
  if (all.length === 0) return null;
  const tasks = [...new Set(all.map((v) => v.task))].slice(0, PER_TASK_CHART_MAX);
  const kept = new Set(tasks);
  const values = all.filter((v) => kept.has(v.task));
  const band = tieBandLimits(values.map((v) => v.metric), model.options.tieThreshold);
  const domain = ratioDomain(values.flatMap((v) => [v.lo, v.hi]), band);
  const y = { field: 'task', type: 'nominal', title: 'task' } as const;
  const yOffset = { field: 'agent', type: 'nominal' } as const;
  const color = { field: 'agent', type: 'nominal', title: 'agent' } as const;
  return {
    config: CONFIG,
    width: PLOT_WIDTH,
    height: Math.max(60, tasks.length * Math.max(14, model.agents.length * 8)),
    data: { values },
    layer: [
      tieBand(band),
      unitRule,
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: ratioAxis('lo', 'agent vs human speed-up (×, log scale), 95% CI', domain), x2: { field: 'hi' }, y, yOffset, color } },
      { mark: { type: 'point', filled: true, size: 40 }, encoding: { x: ratioAxis('speedup', 'agent vs human speed-up (×, log scale), 95% CI', domain), y, yOffset, color } },
    ],
  };
}

/**
 * One task's trials against the baseline on the primary metric: a point per paired round (coloured by the variant's
 * position in that round), the comparison's interval as a bar and its estimate as a tick, per variant.
 */
export function trialChart(detail: TaskDetail, tieThreshold: number): ChartSpec | null {
  const metric = detail.primaryMetric;
  const rounds = detail.variants.flatMap((v) =>
    v.rounds.flatMap((r) => {
      const x = speedup(metric, r.improvementPct);
      return x === null ? [] : [{ variant: v.variant.label, speedup: x, round: r.round, position: r.position === null ? 'unrecorded' : `${r.position}` }];
    }),
  );
  if (rounds.length === 0) return null;
  const intervals = detail.variants.flatMap((v) => {
    const c = v.primary;
    if (c?.status !== 'ok') return [];
    const x = speedup(metric, c.improvementPct);
    const lo = c.ciLow === null ? null : speedup(metric, c.ciLow);
    const hi = c.ciHigh === null ? null : speedup(metric, c.ciHigh);
    return x === null ? [] : [{ variant: v.variant.label, speedup: x, lo: lo ?? x, hi: hi ?? x, verdict: c.verdict }];
  });
  const band = tieBandLimits([metric], tieThreshold);
  const domain = ratioDomain([...rounds.map((r) => r.speedup), ...intervals.flatMap((i) => [i.lo, i.hi])], band);
  const order = detail.variants.filter((v) => v.rounds.length > 0).map((v) => v.variant.label);
  const y = { field: 'variant', type: 'nominal', title: null, sort: order } as const;
  const title = `${metric}: speed-up vs baseline (×, log scale; > 1 = better)`;
  return {
    config: CONFIG,
    width: PLOT_WIDTH,
    height: Math.max(50, order.length * 34),
    layer: [
      tieBand(band),
      unitRule,
      {
        data: { values: intervals },
        mark: { type: 'rule', strokeWidth: 3, color: '#4a5568', opacity: 0.6 },
        encoding: { x: ratioAxis('lo', title, domain), x2: { field: 'hi' }, y },
      },
      { data: { values: intervals }, mark: { type: 'tick', thickness: 2, color: '#1d1d1f' }, encoding: { x: ratioAxis('speedup', title, domain), y } },
      {
        data: { values: rounds },
        mark: { type: 'point', filled: true, size: 45, opacity: 0.85 },
        encoding: { x: ratioAxis('speedup', title, domain), y, color: { field: 'position', type: 'ordinal', title: 'position in round' } },
      },
    ],
  };
}

const REQUEST_LABELS: Record<RequestMetric, string> = { ttft: 'TTFT (ms)', tpot: 'TPOT (ms)', itl: 'ITL (ms)', e2el: 'E2EL (ms)' };

/** Per-request ECDFs of TTFT, TPOT, ITL and E2EL per variant (log x: the tails stay visible), from the stored samples. */
export function ecdfChart(detail: TaskDetail): ChartSpec | null {
  const values = detail.variants.flatMap((v) =>
    REQUEST_METRICS.flatMap((m) => (v.variant.distributions?.[m].points ?? []).filter(([x]) => x > 0).map(([x, p]) => ({ variant: v.variant.label, metric: REQUEST_LABELS[m], x, p }))),
  );
  if (values.length === 0) return null;
  const order = detail.variants.map((v) => v.variant.label);
  return {
    ...metricPanels(values, REQUEST_METRICS.map((m) => REQUEST_LABELS[m]), 'x'),
    spec: {
      ...PANEL_SIZE,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: null, scale: { type: 'log', nice: false }, axis: { labelOverlap: 'greedy', tickCount: 5 } },
        y: { field: 'p', type: 'quantitative', title: 'fraction ≤ x', scale: { domain: [0, 1] } },
        color: { field: 'variant', type: 'nominal', title: 'variant', sort: order },
        order: { field: 'x', type: 'quantitative' },
      },
    },
  };
}

const PANEL_SIZE = { width: 250, height: 150 } as const;

/** The frame of a chart faceted by metric, two panels a row, each panel's `independent` scale its own. */
function metricPanels(values: object[], sort: string[], independent: 'x' | 'y') {
  return {
    config: CONFIG,
    data: { values },
    facet: { field: 'metric', type: 'nominal' as const, title: null, sort },
    columns: 2,
    resolve: { scale: independent === 'x' ? { x: 'independent' as const } : { y: 'independent' as const } },
  };
}

const SWEEP_LABELS: Record<(typeof SWEEP_METRICS)[number], string> = { ttft_median: 'TTFT p50 (ms)', ttft_p99: 'TTFT p99 (ms)', tpot_median: 'TPOT p50 (ms)', tpot_p99: 'TPOT p99 (ms)' };

/**
 * A sweep task's latency vs output throughput per variant, one panel per metric; the knee of each curve ringed, the
 * highest-throughput point meeting the SLO (when the rows have one) a square with "SLO" beside it.
 */
export function sweepChart(sweep: TaskSweep): ChartSpec {
  const values = sweep.curves.flatMap((c) =>
    c.points.flatMap((p, i) =>
      SWEEP_METRICS.flatMap((m) => {
        const y = p.values[m];
        return y === null ? [] : [{ variant: c.variant, metric: SWEEP_LABELS[m], throughput: p.throughput, y, index: p.index, point: p.point, knee: c.knee === i, sloMax: c.maxMeetingSlo === i }];
      }),
    ),
  );
  const color = { field: 'variant', type: 'nominal', title: 'variant', sort: sweep.curves.map((c) => c.variant) } as const;
  const x = { field: 'throughput', type: 'quantitative', title: 'output tok/s', scale: { zero: false } } as const;
  const y = { field: 'y', type: 'quantitative', title: null, scale: { zero: false } } as const;
  return {
    ...metricPanels(values, SWEEP_METRICS.map((m) => SWEEP_LABELS[m]), 'y'),
    spec: {
      ...PANEL_SIZE,
      layer: [
        { mark: { type: 'line', point: { filled: true, size: 30 } }, encoding: { x, y, color, order: { field: 'index', type: 'quantitative' } } },
        { transform: [{ filter: 'datum.knee' }], mark: { type: 'point', size: 160, strokeWidth: 2, filled: false }, encoding: { x, y, color } },
        { transform: [{ filter: 'datum.sloMax' }], mark: { type: 'point', shape: 'square', size: 260, strokeWidth: 2, filled: false }, encoding: { x, y, color } },
        { transform: [{ filter: 'datum.sloMax' }], mark: { type: 'text', text: 'SLO', fontSize: 11, align: 'left', dx: 10, dy: -8 }, encoding: { x, y, color } },
      ],
    },
  };
}

const VERDICT_ORDER = ['better', 'tie', 'worse', 'inconclusive', 'insufficient'];
const VERDICT_COLORS = ['#2e8b57', '#b0b0b0', '#d9534f', '#f0ad4e', '#dddddd'];

/** Stacked bars of verdict counts per agent, one panel per comparison. */
export function verdictChart(model: ReportModel): ChartSpec {
  const values = model.rows.flatMap((r) =>
    COMPARISONS.flatMap((c) => {
      const cmp = r.comparisons[c.key];
      return cmp.status === 'ok' ? [{ comparison: c.label, agent: r.agent, verdict: cmp.verdict, order: VERDICT_ORDER.indexOf(cmp.verdict) }] : [];
    }),
  );
  return {
    config: CONFIG,
    data: { values },
    facet: { row: { field: 'comparison', type: 'nominal', title: null, sort: COMPARISONS.map((c) => c.label), header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top' } } },
    spec: {
      width: PLOT_WIDTH - 100,
      height: Math.max(40, model.agents.length * 22),
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'agent', type: 'nominal', title: null },
        x: { aggregate: 'count', type: 'quantitative', title: 'comparable rows' },
        color: { field: 'verdict', type: 'nominal', title: 'verdict', scale: { domain: VERDICT_ORDER, range: VERDICT_COLORS }, legend: { orient: 'right', columns: 1 } },
        order: { field: 'order', type: 'quantitative' },
      },
    },
  };
}

/**
 * Renders a Vega-Lite spec to an SVG string in-process (no browser, no network). The XML namespace attributes are
 * dropped: inline SVG in HTML does not need them and the page then contains no URL at all.
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '');
  } finally {
    view.finalize();
  }
}
