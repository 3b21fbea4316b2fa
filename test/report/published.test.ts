import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../src/dataset/index.js';
import { buildReport, type Report } from '../../src/report/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PUBLISHED = path.resolve(
  repoRoot,
  '../shared/corpus/iso-bench/archive/results/2026-01/omniperf_results_3way_claude_code/hf_export/updated_dataset.parquet',
);

/**
 * The per-agent comparison computed straight from the Parquet with SQL, independently of src/: the primary metric
 * is the mode's candidate measured for the most variants (earlier wins ties), an agent without a patch counts as
 * not measured, throughputs more than 10x apart are not comparable, and agent vs human is judged with a ±2% band.
 */
const PER_AGENT_SQL = `
WITH r AS (
  SELECT *,
    (baseline_ttft_mean IS NOT NULL)::INT + (human_ttft_mean IS NOT NULL)::INT + (agent_ttft_mean IS NOT NULL)::INT AS ct,
    (baseline_throughput IS NOT NULL)::INT + (human_throughput IS NOT NULL)::INT + (agent_throughput IS NOT NULL)::INT AS cx,
    (baseline_latency_avg IS NOT NULL)::INT + (human_latency_avg IS NOT NULL)::INT + (agent_latency_avg IS NOT NULL)::INT AS cl
  FROM read_parquet(?)
), m AS (
  SELECT *, CASE
    WHEN benchmark_mode = 'serving' THEN (CASE WHEN cx > ct THEN 'x' ELSE 't' END)
    WHEN benchmark_mode = 'standalone' THEN (CASE WHEN cl > cx THEN 'l' ELSE 'x' END)
    WHEN benchmark_mode = 'prefix_caching' THEN 'x'
    ELSE (CASE WHEN ct >= cx AND ct >= cl THEN 't' WHEN cx >= cl THEN 'x' ELSE 'l' END)
  END AS metric FROM r
), v AS (
  SELECT agent_name || ' / ' || agent_model AS agent, has_agent_patch, data_source, metric,
    CASE metric WHEN 't' THEN human_ttft_mean WHEN 'x' THEN human_throughput ELSE human_latency_avg END AS h,
    CASE WHEN has_agent_patch = false THEN NULL ELSE
      CASE metric WHEN 't' THEN agent_ttft_mean WHEN 'x' THEN agent_throughput ELSE agent_latency_avg END END AS a
  FROM m
), s AS (
  SELECT *, CASE
    WHEN has_agent_patch = false THEN 'patch_failure'
    WHEN data_source ILIKE '%FAILED:%crash%' THEN 'crash'
    WHEN a IS NULL AND data_source ILIKE '%FAILED:%' THEN 'agent_failed'
    WHEN a IS NULL THEN 'missing_agent_metrics'
    WHEN h IS NULL THEN 'missing_human_metrics'
    WHEN metric = 'x' AND greatest(a, h) / least(a, h) > 10 THEN 'not_comparable'
    ELSE 'valid' END AS status,
    CASE WHEN metric = 'x' THEN (a - h) / h * 100 ELSE (h - a) / h * 100 END AS pct
  FROM v
)
SELECT agent, count(*)::INT AS rows,
  count(*) FILTER (WHERE status = 'valid')::INT AS valid,
  count(*) FILTER (WHERE status = 'patch_failure')::INT AS patch_failure,
  count(*) FILTER (WHERE status = 'crash')::INT AS crash,
  count(*) FILTER (WHERE status = 'missing_agent_metrics')::INT AS missing_agent,
  count(*) FILTER (WHERE status = 'missing_human_metrics')::INT AS missing_human,
  count(*) FILTER (WHERE status = 'valid' AND pct > 2)::INT AS better,
  count(*) FILTER (WHERE status = 'valid' AND pct < -2)::INT AS worse,
  count(*) FILTER (WHERE status = 'valid' AND pct BETWEEN -2 AND 2)::INT AS tie
FROM s GROUP BY agent ORDER BY agent`;

interface AgentCounts {
  agent: string;
  rows: number;
  valid: number;
  patch_failure: number;
  crash: number;
  missing_agent: number;
  missing_human: number;
  better: number;
  worse: number;
  tie: number;
}

async function perAgentFromSql(): Promise<AgentCounts[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(PER_AGENT_SQL, [PUBLISHED]);
    return reader.getRowObjectsJson() as unknown as AgentCounts[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('report on the published ISO-Bench dataset', () => {
  let report: Report;
  let expected: AgentCounts[];

  beforeAll(async () => {
    const rows = await readDataset(PUBLISHED);
    report = await buildReport(rows, { source: 'updated_dataset.parquet', generatedAt: '2026-01-01T00:00:00Z' });
    expected = await perAgentFromSql();
  });

  it('has the per-agent comparison that follows from the data (computed independently with SQL)', () => {
    const fromReport = report.model.agentSummaries.map((s) => {
      const cmps = report.model.rows.filter((r) => r.agent === s.agent).map((r) => r.comparisons.agent_vs_human);
      const verdicts = cmps.flatMap((c) => (c.status === 'ok' ? [c.verdict] : []));
      return {
        agent: s.agent,
        rows: s.rows,
        valid: s.statuses.valid,
        patch_failure: s.statuses.patch_failure,
        crash: s.statuses.crash,
        missing_agent: s.statuses.missing_agent_metrics,
        missing_human: s.statuses.missing_human_metrics,
        better: verdicts.filter((v) => v === 'better').length,
        worse: verdicts.filter((v) => v === 'worse').length,
        tie: verdicts.filter((v) => v === 'tie').length,
        insufficient: verdicts.filter((v) => v === 'insufficient').length,
      };
    });
    // One value per variant is one round: no interval, so no better/worse/tie, every valid row "insufficient". (Before the
    // paired estimator the point estimate was labelled, e.g. claude-code 11 better / 17 tie / 10 worse from single values.)
    expect(fromReport).toEqual(expected.map((e) => ({ ...e, better: 0, worse: 0, tie: 0, insufficient: e.valid })));
  });

  it('pins the key numbers', () => {
    const by = Object.fromEntries(expected.map((e) => [e.agent, e]));
    expect(report.model.rows).toHaveLength(361);
    expect(report.model.commits).toHaveLength(99);
    // Five labels: claude_code and claude-code are one agent spelled two ways, reported as written and flagged.
    expect(report.model.agents).toEqual(['claude-code / sonnet-4.5', 'claude_code / claude-sonnet-4-20250514', 'codex / gpt-5', 'trae / gpt-5', 'trae / sonnet-4.5']);
    expect(by['codex / gpt-5']).toMatchObject({ rows: 96, valid: 30, patch_failure: 63, crash: 1 });
    expect(by['trae / gpt-5']).toMatchObject({ rows: 73, valid: 16, patch_failure: 55, crash: 1 });
    expect(by['trae / sonnet-4.5']).toMatchObject({ rows: 96, valid: 32, patch_failure: 62 });
    // What the published single values say by the point estimate (the report no longer turns these into verdicts).
    expect(by['claude-code / sonnet-4.5']).toMatchObject({ rows: 92, valid: 38, patch_failure: 0, better: 11, tie: 17, worse: 10 });
    expect(report.model.allSingleTrial).toBe(true);
    expect(report.model.check.findings.map((f) => f.code)).toContain('agent_label_variants');
  });

  it('writes the per-agent table and the single-measurement note into the Markdown', () => {
    expect(report.markdown).toContain('| codex / gpt-5 | 96 | 30 (31.3%) | 63 (65.6%) | 0 | 0 | 0 | 0 | 30 |');
    expect(report.markdown).toContain('single measurement per variant');
    // Human vs baseline once per task: 49 of the 99 tasks have both on their primary metric, none with a verdict.
    expect(report.markdown).toContain('| All tasks, once each | 49 | 0 (0.0%) | 0 (0.0%) | 0 (0.0%) | 0 (0.0%) | 50 | 49 |');
    for (const title of ['Executive summary', '3-way completeness', 'Per-agent comparison', 'Failures by code', 'Data quality', 'Data gaps', 'Per-task table']) {
      expect(report.markdown).toContain(`## ${title}`);
    }
  });

  it('is one self-contained HTML page with inline SVG charts', () => {
    const html = report.html;
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg/g)?.length).toBe(4);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html).toContain('agent_label_variants');
  });
});
