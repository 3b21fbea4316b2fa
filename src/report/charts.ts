import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { COMPARISONS, type ReportModel } from './model.js';

/** A Vega-Lite spec with its data inlined. */
export type ChartSpec = TopLevelSpec;

/** Improvements are drawn within ±LIMIT: a few rows of the published data reach -1600%, which would flatten the rest. */
const LIMIT = 100;
const clamp = (x: number): number => Math.max(-LIMIT, Math.min(LIMIT, x));

const CONFIG = {
  font: 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6', labelLimit: 320 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom', labelLimit: 400, columns: 3 },
} as const;

function tieBand(t: number) {
  return { mark: { type: 'rect', color: '#d9d9d9', opacity: 0.5 }, encoding: { x: { datum: -t, type: 'quantitative' }, x2: { datum: t } } } as const;
}

/** The per-task chart draws at most this many tasks (the ones with the largest |agent vs human|) to stay legible. */
export const PER_TASK_CHART_MAX = 80;

/** Dot plot: one line per task, one dot per agent, x = agent vs human improvement. */
export function perTaskChart(model: ReportModel): ChartSpec {
  const all = model.rows.flatMap((r) => {
    const c = r.comparisons.agent_vs_human;
    return c.status === 'ok' ? [{ task: r.short, agent: r.agent, improvement: clamp(c.improvementPct), metric: r.metric }] : [];
  });
  const extent = new Map<string, number>();
  for (const v of all) extent.set(v.task, Math.max(extent.get(v.task) ?? 0, Math.abs(v.improvement)));
  const kept = new Set([...extent.entries()].sort((a, b) => b[1] - a[1]).slice(0, PER_TASK_CHART_MAX).map(([t]) => t));
  const values = all.filter((v) => kept.has(v.task));
  const tasks = kept.size;
  const x = { field: 'improvement', type: 'quantitative', title: 'agent vs human improvement (%)', scale: { domain: [-LIMIT, LIMIT] } } as const;
  return {
    config: CONFIG,
    width: 760,
    height: Math.max(60, tasks * 14),
    data: { values },
    layer: [
      tieBand(model.options.tieThreshold),
      { mark: { type: 'rule', color: '#999' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
      {
        mark: { type: 'point', filled: true, size: 55, opacity: 0.85 },
        encoding: {
          x,
          y: { field: 'task', type: 'nominal', title: 'task', sort: 'ascending', axis: { labelFontSize: 10, labelLimit: 400 } },
          color: { field: 'agent', type: 'nominal', title: 'agent' },
          shape: { field: 'agent', type: 'nominal', title: 'agent' },
        },
      },
    ],
  } as ChartSpec;
}

/** Stacked histograms of the improvements, one panel per comparison. */
export function distributionChart(model: ReportModel): ChartSpec {
  const values = model.rows.flatMap((r) =>
    COMPARISONS.flatMap((c) => {
      const cmp = r.comparisons[c.key];
      return cmp.status === 'ok' ? [{ comparison: c.label, agent: r.agent, improvement: clamp(cmp.improvementPct) }] : [];
    }),
  );
  return {
    config: CONFIG,
    data: { values },
    facet: { column: { field: 'comparison', type: 'nominal', title: null, sort: COMPARISONS.map((c) => c.label) } },
    spec: {
      width: 240,
      height: 180,
      mark: { type: 'bar', binSpacing: 0 },
      encoding: {
        x: { field: 'improvement', type: 'quantitative', bin: { extent: [-LIMIT, LIMIT], step: 5 }, title: 'improvement (%)' },
        y: { aggregate: 'count', type: 'quantitative', title: 'rows' },
        color: { field: 'agent', type: 'nominal', title: 'agent' },
      },
    },
  };
}

/** Mean improvement per agent and comparison with its bootstrap 95% CI across tasks. */
export function ciChart(model: ReportModel): ChartSpec {
  const values = model.agentSummaries.flatMap((s) =>
    COMPARISONS.flatMap((c) => {
      const sum = s.improvements[c.key].summary;
      if (sum.status !== 'ok') return [];
      return [{ agent: s.agent, comparison: c.label, mean: clamp(sum.mean), lo: clamp(sum.ciLow ?? sum.mean), hi: clamp(sum.ciHigh ?? sum.mean), n: sum.n }];
    }),
  );
  const x = { type: 'quantitative', scale: { domain: [-LIMIT, LIMIT] }, title: 'mean improvement (%), 95% CI' } as const;
  const y = { field: 'agent', type: 'nominal', title: null, axis: { labelLimit: 400 } } as const;
  const yOffset = { field: 'comparison', type: 'nominal', sort: COMPARISONS.map((c) => c.label) } as const;
  const color = { field: 'comparison', type: 'nominal', title: 'comparison', sort: COMPARISONS.map((c) => c.label) } as const;
  return {
    config: CONFIG,
    width: 760,
    height: Math.max(80, model.agentSummaries.length * 66),
    data: { values },
    layer: [
      tieBand(model.options.tieThreshold),
      { mark: { type: 'rule', color: '#999' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' }, y, yOffset, color } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { ...x, field: 'mean' }, y, yOffset, color } },
    ],
  } as ChartSpec;
}

/** Per-task agent vs human improvement with its 95% CI (rows that have one: multi-trial store data). */
export function perTaskCiChart(model: ReportModel): ChartSpec | null {
  const all = model.rows.flatMap((r) => {
    const c = r.comparisons.agent_vs_human;
    if (c.status !== 'ok' || c.ciLow === null || c.ciHigh === null) return [];
    return [{ task: r.short, agent: r.agent, improvement: clamp(c.improvementPct), lo: clamp(c.ciLow), hi: clamp(c.ciHigh), verdict: c.verdict }];
  });
  if (all.length === 0) return null;
  const tasks = [...new Set(all.map((v) => v.task))].slice(0, PER_TASK_CHART_MAX);
  const kept = new Set(tasks);
  const values = all.filter((v) => kept.has(v.task));
  const x = { type: 'quantitative', title: 'agent vs human improvement (%), 95% CI' } as const;
  const y = { field: 'task', type: 'nominal', title: 'task', axis: { labelLimit: 400 } } as const;
  const yOffset = { field: 'agent', type: 'nominal' } as const;
  const color = { field: 'agent', type: 'nominal', title: 'agent' } as const;
  return {
    config: CONFIG,
    width: 760,
    height: Math.max(60, tasks.length * Math.max(14, model.agents.length * 8)),
    data: { values },
    layer: [
      tieBand(model.options.tieThreshold),
      { mark: { type: 'rule', color: '#999' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' }, y, yOffset, color } },
      { mark: { type: 'point', filled: true, size: 40 }, encoding: { x: { ...x, field: 'improvement' }, y, yOffset, color } },
    ],
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
    facet: { column: { field: 'comparison', type: 'nominal', title: null, sort: COMPARISONS.map((c) => c.label) } },
    spec: {
      width: 260,
      height: Math.max(60, model.agents.length * 26),
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'agent', type: 'nominal', title: null, axis: { labelLimit: 400 } },
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
