import type { DatasetRow, TaskTrials } from '../dataset/index.js';
import { redactSecrets } from '../core/index.js';
import { buildSections } from './document.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { analyzeRows, type ReportModel, type ReportOptions } from './model.js';

export { analyzeRows, resolveOptions, totals, COMPARISONS, SIDES } from './model.js';
export type { MetricLine, MetricRole, RoundRatio, TaskDetail, VariantDetail } from './trials.js';
export type { AgentSummary, ComparisonKey, DataGaps, RowNoiseFloor, RowStop, StopTotals, ReportModel, ReportOptions, RowAnalysis, Side } from './model.js';

/** A built report: Markdown, self-contained HTML, and the model both were drawn from. */
export interface Report {
  markdown: string;
  html: string;
  model: ReportModel;
}

/**
 * Builds the report from dataset rows and, when the rows were built from a store, the trials behind them (per-task
 * tables, per-trial points, per-request distributions); only from the data (every number is computed here, none is
 * hand-written).
 */
export async function buildReport(rows: readonly DatasetRow[], opts: ReportOptions = {}, trials: readonly TaskTrials[] | null = null): Promise<Report> {
  const model = analyzeRows(rows, opts, trials);
  const sections = buildSections(model);
  const title = model.options.title;
  const subtitle = `${rows.length} rows from ${model.options.source} · tie threshold ±${model.options.tieThreshold}% · seed ${model.options.seed} · generated ${model.options.generatedAt}`;
  // Rows can carry raw logs and commands: nothing leaves without passing through the redactor.
  return {
    markdown: redactSecrets(renderMarkdown(title, subtitle, sections)),
    html: redactSecrets(await renderHtml(title, subtitle, sections)),
    model,
  };
}
