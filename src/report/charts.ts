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
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' },
} as const;

function tieBand(t: number) {
  return { mark: { type: 'rect', color: '#d9d9d9', opacity: 0.5 }, encoding: { x: { datum: -t, type: 'quantitative' }, x2: { datum: t } } } as const;
}

/** Dot plot: one line per task, one dot per agent, x = agent vs human improvement. */
export function perTaskChart(model: ReportModel): ChartSpec {
  const values = model.rows.flatMap((r) => {
    const c = r.comparisons.agent_vs_human;
    return c.status === 'ok' ? [{ task: r.short, agent: r.agent, improvement: clamp(c.improvementPct), metric: r.metric }] : [];
  });
  const tasks = new Set(values.map((v) => v.task)).size;
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
          y: { field: 'task', type: 'nominal', title: 'task', sort: 'ascending', axis: { labelFontSize: 10 } },
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
  const y = { field: 'agent', type: 'nominal', title: null } as const;
  const yOffset = { field: 'comparison', type: 'nominal', sort: COMPARISONS.map((c) => c.label) } as const;
  const color = { field: 'comparison', type: 'nominal', title: 'comparison', sort: COMPARISONS.map((c) => c.label) } as const;
  return {
    config: CONFIG,
    width: 760,
    height: { step: 54 },
    data: { values },
    layer: [
      tieBand(model.options.tieThreshold),
      { mark: { type: 'rule', color: '#999' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' }, y, yOffset, color } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { ...x, field: 'mean' }, y, yOffset, color } },
    ],
  } as ChartSpec;
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
