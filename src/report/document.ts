import {
  AGENT_STATUS_LABELS,
  COMPLETENESS_LABELS,
  ESTIMATOR,
  MIN_PAIRED_ROUNDS,
  tallyVerdicts,
  type AgentStatus,
  type Comparison,
  type CompletenessCategory,
  summarize,
  type Summary,
} from '../analysis/index.js';
import { metricInfo, SLO_ATTAINMENT_GOAL } from '../core/index.js';
import type { SweepCurve } from './sweeps.js';
import { ECDF_MAX_POINTS } from '../dataset/index.js';
import { COMPARISONS, groupByCommit, groupByTask, SIDES, taskKey, totals, type ComparisonKey, type ReportModel, type RowAnalysis, type RowStop, type StopTotals } from './model.js';
import { ciChart, distributionChart, ecdfChart, sweepChart, PER_TASK_CHART_MAX, perTaskChart, perTaskCiChart, trialChart, verdictChart, type ChartSpec } from './charts.js';
import type { LineInterval, TaskDetail, VariantDetail } from './trials.js';

/** A cell of a table: text, or text with a CSS class (verdict colouring in HTML). */
export type Cell = string | { text: string; cls: string };

/** The renderer-neutral content of a report: Markdown and HTML draw the same blocks. */
export type Block =
  | { kind: 'p'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; head: string[]; rows: Cell[][]; numeric?: boolean[] }
  | { kind: 'chart'; title: string; spec: ChartSpec; caption: string }
  | { kind: 'details'; summary: string; blocks: Block[]; open?: boolean }
  | { kind: 'h3'; text: string }
  /** Blocks kept together (a tile). */
  | { kind: 'group'; blocks: Block[] }
  /** Tiles laid out side by side where they fit (HTML); one after the other in Markdown. */
  | { kind: 'tiles'; blocks: Block[] };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

const COMPLETENESS_ORDER = Object.keys(COMPLETENESS_LABELS) as CompletenessCategory[];
const STATUS_ORDER = Object.keys(AGENT_STATUS_LABELS) as AgentStatus[];

/** `12 (34.5%)`. */
export function countPct(n: number, total: number): string {
  return total === 0 ? `${n}` : `${n} (${((n / total) * 100).toFixed(1)}%)`;
}

/** A signed percentage with one decimal, `+3.1%`. */
export function signedPct(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
}

/** A metric value with up to 4 significant decimals. */
export function value(x: number | null): string {
  if (x === null) return '-';
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function summaryText(s: Summary): string {
  if (s.status === 'empty') return '-';
  const ci = s.ciLow === null || s.ciHigh === null ? '' : ` [${signedPct(s.ciLow)}, ${signedPct(s.ciHigh)}]`;
  return `${signedPct(s.mean)}${ci}`;
}

/** A comparison as a short verdict cell: `+3.1% [+2.2%, +4.0%] better n=5`, `n=1: no verdict`, or why not comparable. */
export function comparisonCell(c: Comparison): Cell {
  if (c.status !== 'ok') return { text: c.reason.replace(/_/g, ' '), cls: 'na' };
  if (c.ciLow === null || c.ciHigh === null) return { text: `n=${c.n}: no verdict`, cls: c.verdict };
  return { text: `${signedPct(c.improvementPct)} [${signedPct(c.ciLow)}, ${signedPct(c.ciHigh)}] ${c.verdict} n=${c.n}`, cls: c.verdict };
}

/** Builds every section of the report from the model. */
export function buildSections(model: ReportModel): Section[] {
  return [
    executiveSummary(model),
    modesSection(model),
    completenessSection(model),
    outcomesSection(model),
    perAgentSection(model),
    failuresSection(model),
    qualitySection(model),
    gapsSection(model),
    perTaskSection(model),
    trialsSection(model),
    ...(model.sweeps.length > 0 ? [sweepsSection(model)] : []),
    methodSection(model),
  ];
}

function executiveSummary(model: ReportModel): Section {
  const t = totals(model);
  const n = model.rows.length;
  const withAgent = agentRowCount(model);
  const items = [
    `${n} rows (one per task and agent${withAgent < n ? `; ${n - withAgent} of tasks measured without agents` : ''}), ${model.commits.length} tasks (commits), ${model.agents.length} agent labels, modes: ${model.modes.map((m) => `${m.label} ${m.rows}`).join(', ')}.`,
    `Valid 3-way rows (baseline + human + agent on the primary metric): ${countPct(t.categories.valid_3way, withAgent)}; rows where the agent can be compared with the human: ${countPct(t.statuses.valid, withAgent)}.`,
  ];
  if (model.allSingleTrial) {
    items.push('Every comparison in these rows has fewer than 2 paired rounds (a single measurement per variant): no interval exists, so no comparison gets a better/worse/tie verdict ("n=1: no verdict").');
  }
  if (model.stopTotals !== null) items.push(stopTotalsText(model.stopTotals));
  const labelFinding = model.check.findings.find((f) => f.code === 'agent_label_variants');
  if (labelFinding) items.push(`Agent labels are reported as written; ${labelFinding.count} rows spell an agent differently from its other rows (e.g. ${labelFinding.examples[0]?.detail ?? ''}).`);
  const errors = model.check.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) items.push(`Data quality: ${errors.length} kinds of errors found by the dataset check (${errors.map((f) => `${f.code} ×${f.count}`).join(', ')}); see "Data quality".`);
  const head = ['Agent', 'Rows', 'Valid for comparison', 'Patch failure', 'Better', 'Tie', 'Worse', 'Inconclusive', 'No verdict (n < 2)', 'Median agent vs human'];
  const rows: Cell[][] = model.agentSummaries.map((s) => {
    const tally = tallyVerdicts(model.rows.filter((r) => r.agent === s.agent).map((r) => r.comparisons.agent_vs_human));
    const imp = s.improvements.agent_vs_human.summary;
    return [
      s.agent,
      `${s.rows}`,
      countPct(s.statuses.valid, s.rows),
      countPct(s.statuses.patch_failure, s.rows),
      { text: `${tally.better}`, cls: 'better' },
      { text: `${tally.tie}`, cls: 'tie' },
      { text: `${tally.worse}`, cls: 'worse' },
      { text: `${tally.inconclusive}`, cls: 'inconclusive' },
      `${tally.insufficient}`,
      imp.status === 'ok' ? signedPct(imp.median) : '-',
    ];
  });
  return {
    id: 'summary',
    title: 'Executive summary',
    blocks: [
      { kind: 'list', items },
      { kind: 'p', text: `Per agent: agent vs human verdicts on the primary metric (tie band ±${model.options.tieThreshold}%).` },
      { kind: 'table', head, rows, numeric: head.map((_, i) => i > 0) },
      { kind: 'chart', title: 'Verdicts per agent', spec: verdictChart(model), caption: 'Verdict counts of the comparable rows per agent and comparison.' },
    ],
  };
}

function modesSection(model: ReportModel): Section {
  const n = model.rows.length;
  const pct = (k: number) => (n === 0 ? '-' : `${((k / n) * 100).toFixed(0)}%`);
  return {
    id: 'modes',
    title: 'Benchmark modes and metric availability',
    blocks: [
      { kind: 'table', head: ['Mode', 'Rows', 'Tasks'], rows: model.modes.map((m) => [m.label, countPct(m.rows, n), `${m.commits}`]), numeric: [false, true, true] },
      { kind: 'p', text: 'Rows with a value per metric and variant (fill rate over all rows):' },
      {
        kind: 'table',
        head: ['Metric', 'Baseline', 'Human', 'Agent'],
        rows: model.metricFill.map((m) => [m.metric, ...SIDES.map((s) => `${m.counts[s]} (${pct(m.counts[s])})`)]),
        numeric: [false, true, true, true],
      },
      { kind: 'p', text: `Columns filled per row, by completeness category (of ${model.totalColumns} columns):` },
      {
        kind: 'table',
        head: ['Category', 'Rows', 'Avg columns filled', 'Fill rate'],
        rows: COMPLETENESS_ORDER.flatMap((c) => {
          const e = model.categoryColumnFill.find((x) => x.category === c);
          return e ? [[COMPLETENESS_LABELS[c], `${e.rows}`, e.avgFilled.toFixed(1), `${((e.avgFilled / Math.max(1, model.totalColumns)) * 100).toFixed(0)}%`]] : [];
        }),
        numeric: [false, true, true, true],
      },
      {
        kind: 'details',
        summary: `Fill rate of every column (${model.totalColumns})`,
        blocks: [{ kind: 'table', head: ['Column', 'Filled', 'Fill rate'], rows: model.columnFill.map((c) => [c.column, `${c.filled}`, pct(c.filled)]), numeric: [false, true, true] }],
      },
    ],
  };
}

/** Rows that belong to an agent (a task measured without agents has a row of its own that is no agent's). */
function agentRowCount(model: ReportModel): number {
  return model.rows.filter((r) => r.hasAgent).length;
}

function completenessSection(model: ReportModel): Section {
  const t = totals(model);
  const n = agentRowCount(model);
  return {
    id: 'completeness',
    title: '3-way completeness',
    blocks: [
      { kind: 'p', text: "Per row, which variants have a value for the row's primary metric (see Method). An agent row without a patch (has_agent_patch = false) counts as not measured." },
      {
        kind: 'table',
        head: ['Category', ...model.agents, 'Total'],
        rows: COMPLETENESS_ORDER.map((c) => [COMPLETENESS_LABELS[c], ...model.agentSummaries.map((s) => countPct(s.categories[c], s.rows)), countPct(t.categories[c], n)]),
        numeric: [false, ...model.agents.map(() => true), true],
      },
    ],
  };
}

function tallyRow(label: string, rows: readonly RowAnalysis[], key: ComparisonKey, model: ReportModel): Cell[] {
  const cmps = rows.map((r) => r.comparisons[key]);
  const t = tallyVerdicts(cmps);
  const comparable = cmps.length - t.notComparable;
  const sum = summarize(cmps.flatMap((c) => (c.status === 'ok' ? [c.improvementPct] : [])), { seed: model.options.seed });
  const median = sum.status === 'ok' ? signedPct(sum.median) : '-';
  return [
    label,
    `${comparable}`,
    { text: countPct(t.better, comparable), cls: 'better' },
    { text: countPct(t.tie, comparable), cls: 'tie' },
    { text: countPct(t.worse, comparable), cls: 'worse' },
    { text: countPct(t.inconclusive, comparable), cls: 'inconclusive' },
    `${t.notComparable}`,
    `${t.insufficient}`,
    median,
    summaryText(sum),
  ];
}

function outcomesSection(model: ReportModel): Section {
  const head = ['Agent', 'Comparable', 'Better', 'Tie', 'Worse', 'Inconclusive', 'Not comparable', 'Insufficient (n < 2)', 'Median', 'Mean [95% CI]'];
  const numeric = head.map((_, i) => i > 0);
  const blocks: Block[] = [
    {
      kind: 'p',
      text: `Verdicts with a tie band of ±${model.options.tieThreshold}%, positive = better. Human vs baseline is counted on every agent's row because each v5 row carries its own baseline and human measurements, and once per task in the last line (from the task's most complete row). "Median" is the median of the improvements; "Mean [95% CI]" is a seeded bootstrap CI of the mean across tasks.`,
    },
  ];
  for (const c of COMPARISONS) {
    blocks.push({ kind: 'p', text: `${c.label}:` });
    const rows = model.agents.map((a) => tallyRow(a, model.rows.filter((r) => r.agent === a), c.key, model));
    // Baseline and human are the same for every agent of a task: count each task once, from its most complete row.
    if (c.key === 'human_vs_baseline') rows.push(tallyRow('All tasks, once each', taskRows(model), c.key, model));
    blocks.push({ kind: 'table', head, rows, numeric });
  }
  blocks.push(
    { kind: 'chart', title: 'Agent vs human per task', spec: perTaskChart(model), caption: `Speed-up of each agent over the human commit per task, on the row's primary metric (human / agent for a latency, agent / human for a throughput; log scale, so 2× and 0.5× are equally far from 1×; nothing is clipped); grey band: tie (±${model.options.tieThreshold}%). At most ${PER_TASK_CHART_MAX} tasks are drawn (those with the largest absolute improvement); the per-task table lists all.` },
    { kind: 'chart', title: 'Distribution of speed-ups', spec: distributionChart(model), caption: 'Every comparable row as a tick, per comparison and agent, on the speed-up of its primary metric (log scale, the whole range drawn).' },
  );
  const ciSpec = perTaskCiChart(model);
  if (ciSpec) {
    blocks.push({
      kind: 'chart',
      title: 'Agent vs human per task with 95% CI',
      spec: ciSpec,
      caption: `Speed-up with the 95% interval of the paired agent vs human comparison per task (${ESTIMATOR.short}; log scale) (rows with at least two paired rounds; first ${PER_TASK_CHART_MAX} tasks). Verdict: better if the CI is entirely right of the grey tie band, worse if entirely left, tie if inside it, otherwise inconclusive.`,
    });
  }
  return { id: 'outcomes', title: 'Outcomes: human vs baseline, agent vs baseline, agent vs human', blocks };
}

function perAgentSection(model: ReportModel): Section {
  return {
    id: 'agents',
    title: 'Per-agent comparison',
    blocks: [
      { kind: 'p', text: "Status of each agent's rows (first match: patch failure, server crash, other agent failure, missing agent metrics, missing human metrics, not comparable because the units or the workloads differ, else valid for comparison)." },
      {
        kind: 'table',
        head: ['Status', ...model.agents],
        rows: [
          ['Rows', ...model.agentSummaries.map((s) => `${s.rows}`)],
          ...STATUS_ORDER.map((st) => [AGENT_STATUS_LABELS[st], ...model.agentSummaries.map((s) => countPct(s.statuses[st], s.rows))]),
        ],
        numeric: [false, ...model.agents.map(() => true)],
      },
      { kind: 'chart', title: 'Mean improvement per agent with 95% CI', spec: ciChart(model), caption: 'Mean improvement across tasks per agent and comparison, with a seeded bootstrap 95% CI of the mean (the spread across tasks, not trial noise).' },
    ],
  };
}

function failuresSection(model: ReportModel): Section {
  const blocks: Block[] = [
    {
      kind: 'p',
      text: 'Failure codes per variant from the failure columns, and comparisons that failed (`workload_mismatch`: the two sides ran different workloads, with both hashes); where a v5 row has none, they are inferred (marked "inferred"): has_agent_patch = false → patch_empty; a data_source with "FAILED: ... crashed" → server_crashed; no value and no failure recorded → no_metrics. Baseline and human failures are counted once per task.',
    },
  ];
  blocks.push(
    model.failures.length === 0
      ? { kind: 'p', text: 'No failures.' }
      : {
          kind: 'table',
          head: ['Code', 'Count', 'Examples'],
          rows: model.failures.map((g) => [g.code, `${g.count}`, g.examples.map((e) => `${e.where}: ${e.evidence}`).join('; ')]),
          numeric: [false, true, false],
        },
  );
  return { id: 'failures', title: 'Failures by code', blocks };
}

function qualitySection(model: ReportModel): Section {
  const f = model.check.findings;
  const blocks: Block[] = [
    { kind: 'p', text: `Findings of the dataset check (isobench dataset check) on these ${model.check.rows} rows. Labels are reported as they are in the data; spellings of one agent are flagged, not merged.` },
  ];
  blocks.push(
    f.length === 0
      ? { kind: 'p', text: 'No findings.' }
      : {
          kind: 'table',
          head: ['Severity', 'Finding', 'Count', 'What', 'Example'],
          rows: f.map((x) => [
            { text: x.severity, cls: x.severity === 'error' ? 'worse' : 'inconclusive' },
            x.code,
            `${x.count} ${x.unit}`,
            x.message,
            x.examples[0] ? `row ${x.examples[0].row} (${(x.examples[0].commit ?? '').slice(0, 8)} ${x.examples[0].agent ?? ''}): ${x.examples[0].detail}` : '',
          ]),
          numeric: [false, false, true, false, false],
        },
  );
  return { id: 'quality', title: 'Data quality', blocks };
}

const shorts = (commits: readonly string[]): string => (commits.length === 0 ? 'none' : commits.map((c) => c.slice(0, 8)).join(', '));

function gapsSection(model: ReportModel): Section {
  const g = model.dataGaps;
  const items = [
    `Tasks with no baseline value on the primary metric in any row (${g.noBaseline.length}): ${shorts(g.noBaseline)}.`,
    `Tasks with no human value (${g.noHuman.length}): ${shorts(g.noHuman)}.`,
    `Tasks where no agent has a value (${g.noAgent.length}): ${shorts(g.noAgent)}.`,
    `Tasks with rows whose benchmark_mode is missing or unknown (${g.modeMissing.length}): ${shorts(g.modeMissing)}.`,
    `Comparisons excluded because the two throughputs differ by more than 10x (req/s against tok/s) (${g.unitsMismatch.length}): ${g.unitsMismatch.map((u) => `${u.commit.slice(0, 8)} ${u.agent} (${u.detail})`).join('; ') || 'none'}.`,
    `Rows with has_agent_patch = false that still carry agent metrics, ignored (${g.agentValuesWithoutPatch.length}): ${g.agentValuesWithoutPatch.map((u) => `${u.commit.slice(0, 8)} ${u.agent}`).join('; ') || 'none'}.`,
    `Rows measured with a deviation from their perf command (a dataset file replaced by random prompts, the OOM fallback) (${g.deviations.length}): ${g.deviations.map((d) => `${d.commit.slice(0, 8)} ${d.agent}: ${d.deviation}`).join('; ') || 'none'}.`,
  ];
  return { id: 'gaps', title: 'Data gaps', blocks: [{ kind: 'list', items }] };
}

/** One row per task and configuration: the row with the most variants measured speaks for its baseline and human. */
function taskRows(model: ReportModel): RowAnalysis[] {
  return [...groupByTask(model.rows).values()].map((rs) => [...rs].sort((a, b) => measuredCount(b) - measuredCount(a))[0] ?? rs[0]!);
}

function perTaskSection(model: ReportModel): Section {
  const byTask = groupByTask(model.rows);
  const configsOf = new Map([...groupByCommit(model.rows)].map(([c, rs]) => [c, new Set(rs.map((r) => r.config)).size]));
  // A task measured under several configurations has a line for each, named by its config_key.
  const label = (r: RowAnalysis): string =>
    r.sweepPoint !== null ? `${r.short} (sweep point ${r.sweepPoint})` : (configsOf.get(r.commit) ?? 1) > 1 && r.config !== null ? `${r.short} (config ${r.config.slice(0, 8)})` : r.short;
  const stops: string[] = [];
  const rows: Cell[][] = taskRows(model).map((best) => {
    const rs = byTask.get(taskKey(best)) ?? [best];
    const stop = taskStop(rs);
    if (stop !== null) stops.push(`${label(best)}: ${stopText(stop)}`);
    return [
      label(best),
      best.subject.length > 60 ? `${best.subject.slice(0, 57)}...` : best.subject,
      best.modeLabel,
      best.metric,
      value(best.values.baseline),
      value(best.values.human),
      comparisonCell(best.comparisons.human_vs_baseline),
      ...model.agents.map((a) => agentCell(rs.find((r) => r.agent === a), best.metric)),
    ];
  });
  const blocks: Block[] = [
    { kind: 'p', text: 'One line per task (per task and configuration where a task was measured under several: its config_key); agent cells show agent vs human on the primary metric (paired t, also where a run stopped early: its stopping rule watches only the comparisons with the baseline), or the status of the agent row. "n=1: no verdict" = fewer than 2 paired rounds.' },
    { kind: 'table', head: ['Commit', 'Subject', 'Mode', 'Metric', 'Baseline', 'Human', 'Human vs baseline', ...model.agents], rows },
  ];
  if (stops.length > 0) {
    blocks.push(
      { kind: 'p', text: "run --trials auto: where each task configuration stopped (rounds = trials per variant, of --max-trials; settled: every primary verdict decided at a look, futile: none reachable by the maximum, max_rounds: the maximum reached; GPU-seconds used vs --max-trials rounds at the same rate per trial; from the rows' stop columns):" },
      { kind: 'list', items: stops },
    );
  }
  return { id: 'tasks', title: 'Per-task table', blocks };
}

/** The stop of a task configuration: every agent's row carries the same one (the store keeps one per configuration). */
function taskStop(rows: readonly RowAnalysis[]): RowStop | null {
  return rows.find((r) => r.stop !== null)?.stop ?? null;
}

/** GPU-seconds with the precision that matters: whole seconds from 10 on, two significant digits below. */
function gpuSeconds(x: number): string {
  return x >= 10 ? x.toFixed(0) : x.toPrecision(2);
}

/** The share of the GPU-seconds at the maximum that the stop did not use, `50%`. */
function savedPct(used: number, atMax: number): string {
  return `${atMax > 0 ? ((1 - used / atMax) * 100).toFixed(0) : '0'}%`;
}

/** `stopped after 5 of 10 rounds (settled); 150 of 300 GPU-s (50% saved); 2 looks, error rate spent 0.0125`. */
export function stopText(s: RowStop): string {
  const parts = [`stopped after ${s.trialsUsed} of ${s.trialsMax} rounds (${s.reason})`];
  if (s.gpuSeconds !== null && s.gpuSecondsAtMax !== null) parts.push(`${gpuSeconds(s.gpuSeconds)} of ${gpuSeconds(s.gpuSecondsAtMax)} GPU-s (${savedPct(s.gpuSeconds, s.gpuSecondsAtMax)} saved)`);
  if (s.looks !== null) parts.push(`${s.looks} look${s.looks === 1 ? '' : 's'}${s.alphaSpent === null ? '' : `, error rate spent ${s.alphaSpent.toPrecision(3)} of 0.05`}`);
  return parts.join('; ');
}

/** The run-level line of the summary: GPU-seconds used against the maximum over every stopped configuration. */
function stopTotalsText(t: StopTotals): string {
  const missing = t.configurations - t.withGpuSeconds;
  if (t.withGpuSeconds === 0) return `--trials auto stopped ${t.configurations} task configuration${t.configurations === 1 ? '' : 's'}; their rows carry no GPU-seconds; per task in "Per-task table".`;
  const over = `${t.withGpuSeconds} task configuration${t.withGpuSeconds === 1 ? '' : 's'} that stopped${missing > 0 ? `; ${missing} stopped without GPU-second columns, not counted` : ''}`;
  return `--trials auto used ${gpuSeconds(t.gpuSeconds)} of ${gpuSeconds(t.gpuSecondsAtMax)} GPU-seconds at the maximum (${savedPct(t.gpuSeconds, t.gpuSecondsAtMax)} saved), over ${over}; per task in "Per-task table".`;
}

const measuredCount = (r: RowAnalysis): number => SIDES.filter((s) => r.values[s] !== null).length;

function agentCell(r: RowAnalysis | undefined, taskMetric: string): Cell {
  if (!r) return { text: '', cls: 'na' };
  if (r.status !== 'valid') return { text: AGENT_STATUS_LABELS[r.status].toLowerCase(), cls: 'na' };
  const cell = comparisonCell(r.comparisons.agent_vs_human);
  const suffix = r.metric === taskMetric ? '' : ` (${r.metric})`;
  return typeof cell === 'string' ? cell + suffix : { text: cell.text + suffix, cls: cell.cls };
}

function sweepsSection(model: ReportModel): Section {
  const blocks: Block[] = [
    {
      kind: 'p',
      text: `Tasks measured as sweeps (one row per point, sweep_point): each variant's TTFT and TPOT p50/p99 against its output tok/s over the points (geometric means over the point's trials; points joined in sweep order). Ringed: the knee of each variant's p99 TTFT vs output tok/s curve (Kneedle, as isobench bench sweep; needs 3 points). Square ("SLO"): where the point's perf command set --goodput (the row's slo), the highest-throughput point at which at least ${SLO_ATTAINMENT_GOAL * 100}% of the variant's requests meet every SLO (vLLM's per-request goodput test, pooled over the point's ok trials; slo_met); goodput is vLLM's request goodput, good requests per second.`,
    },
  ];
  for (const t of model.sweeps) {
    const sloPoint = (c: SweepCurve): string =>
      t.slo === null ? '' : `, max meeting SLO ${c.maxMeetingSlo === null ? 'none' : `${c.points[c.maxMeetingSlo]!.point} (${value(c.points[c.maxMeetingSlo]!.throughput)} tok/s, goodput ${value(c.points[c.maxMeetingSlo]!.goodput)} req/s)`}`;
    const caption = t.curves.map((c) => `${c.variant}: ${c.points.length} points, knee ${c.knee === null ? 'none' : c.points[c.knee]!.point}${sloPoint(c)}`).join('; ');
    blocks.push({ kind: 'chart', title: `${t.short} ${t.subject}`.trim(), spec: sweepChart(t), caption: `${t.slo === null ? '' : `SLO ${t.slo} (ms). `}${caption}.` });
    const marks = (c: SweepCurve, i: number): string => [c.knee === i ? 'knee' : null, c.maxMeetingSlo === i ? 'max meeting SLO' : null].filter((m) => m !== null).join(', ');
    const slo = t.slo !== null;
    blocks.push({
      kind: 'table',
      head: ['Variant', 'Point', 'Output tok/s', 'TTFT p50', 'TTFT p99', 'TPOT p50', 'TPOT p99', ...(slo ? ['Requests meeting SLO', 'Goodput req/s', 'Meets SLO'] : [])],
      rows: t.curves.flatMap((c) =>
        c.points.map((p, i) => [
          c.variant,
          `${p.point}${marks(c, i) === '' ? '' : ` (${marks(c, i)})`}`,
          value(p.throughput),
          value(p.values.ttft_median),
          value(p.values.ttft_p99),
          value(p.values.tpot_median),
          value(p.values.tpot_p99),
          ...(slo ? [p.sloAttainment === null ? 'n/a' : `${(p.sloAttainment * 100).toFixed(1)}%`, value(p.goodput), p.sloMet === null ? 'n/a' : p.sloMet ? 'yes' : 'no'] : []),
        ]),
      ),
      numeric: [false, false, true, true, true, true, true, ...(slo ? [true, true, false] : [])],
    });
  }
  return { id: 'sweeps', title: 'Load sweeps: latency vs throughput', blocks };
}

/** The first few tasks' trial views are open in the HTML; the rest are folded (still in the file). */
const OPEN_TASKS = 3;

function trialsSection(model: ReportModel): Section {
  const details = model.details;
  const blocks: Block[] = [];
  if (details === null) {
    blocks.push({ kind: 'p', text: 'This report was built from a dataset file, which holds one value per variant and metric: per-variant metric tables with intervals, per-trial points, per-request distributions and the trial order need the trials and samples of a store (isobench report --store).' });
    const floors = taskRows(model).filter((r) => r.noiseFloor !== null);
    if (floors.length > 0) {
      blocks.push(
        { kind: 'p', text: "Noise floor per task, from the rows' aa_* columns (run --aa: baseline′ vs baseline on the primary metric, written by dataset build):" },
        {
          kind: 'table',
          head: ['Task', 'Metric', 'A/A [95% CI]', 'n', 'Interval half-width', 'Smallest detectable (80% power)', 'Note'],
          rows: floors.map((r) => {
            const f = r.noiseFloor!;
            const ci = f.aaCiLow === null || f.aaCiHigh === null ? '' : ` [${signedPct(f.aaCiLow)}, ${signedPct(f.aaCiHigh)}]`;
            return [r.short, r.metric, f.aaImprovementPct === null ? '-' : `${signedPct(f.aaImprovementPct)}${ci}`, `${f.n}`, f.halfWidthPct === null ? '-' : `±${f.halfWidthPct.toFixed(1)}%`, f.minDetectablePct === null ? '-' : `${f.minDetectablePct.toFixed(1)}%`, f.message ?? ''];
          }),
          numeric: [false, false, true, true, true, true, false],
        },
      );
    }
  } else if (details.length === 0) {
    blocks.push({ kind: 'p', text: 'The store has no measured trial.' });
  } else {
    const stopped = details.some((d) => d.variants.some((v) => v.lines.some((l) => l.interval !== 'paired-t')));
    const atStopText = ` For a run --trials auto configuration the primary metric's line of human and agents is the comparison at the stop, as run's table and the dataset give it: the estimate there, its 95% interval stage-wise (aware of the stopping rule, "stage-wise at the stop") or, where this comparison did not stop the task, the stop's look interval, and the boundary's verdict; secondary metrics and baseline′ stay paired t.`;
    blocks.push({
      kind: 'p',
      text: `Per task (and configuration): a table per variant of every metric its trials measured, each against the baseline with the ${ESTIMATOR.short} (n = paired rounds; "paired t" in the verdict cell).${stopped ? atStopText : ''} The primary metric's verdict is unadjusted; the secondary metrics (TTFT/TPOT/ITL/E2EL mean, median, p99, the throughputs, latency) are Holm-corrected as one family, as in the run's output; the other statistics (p90, ...) show their interval without a verdict ("not judged"). Then the paired rounds of the primary metric, the per-request distributions from the stored samples, the noise floor (--aa) and the trial order.`,
    });
    details.forEach((d, i) => blocks.push({ kind: 'details', summary: taskTitle(d), open: i < OPEN_TASKS, blocks: taskBlocks(d, model) }));
  }
  return { id: 'trials', title: 'Per task: every metric, trials and distributions', blocks };
}

function taskTitle(d: TaskDetail): string {
  const subject = d.subject.length > 70 ? `${d.subject.slice(0, 67)}...` : d.subject;
  const where = d.sweepPoint !== null ? ` (sweep point ${d.sweepPoint})` : d.config !== null ? ` (config ${d.config.slice(0, 8)})` : '';
  return `${d.short}${where} ${subject} · ${d.modeLabel} · primary ${d.primaryMetric}`;
}

/** How each line's interval was computed, as its verdict cell says it (src/report/trials.ts LineInterval). */
const INTERVAL_TEXT: Record<LineInterval, string> = {
  'paired-t': 'paired t',
  stagewise: 'stage-wise at the stop',
  repeated: "the stop's look interval",
};

/** A variant's table: every metric against the baseline, the interval in one column, the verdict and how it was judged in the next. */
function variantTable(v: VariantDetail): Block {
  const stopped = v.lines.find((l) => l.interval !== 'paired-t');
  const rows: Cell[][] = v.lines.map((l) => {
    const c = l.comparison;
    let interval = '-';
    let verdict: Cell = '-';
    if (c !== null && c.status !== 'ok') verdict = { text: c.reason.replace(/_/g, ' '), cls: 'na' };
    else if (c !== null) {
      interval = c.ciLow === null || c.ciHigh === null ? signedPct(c.improvementPct) : `${signedPct(c.improvementPct)} [${signedPct(c.ciLow)}, ${signedPct(c.ciHigh)}]`;
      if (c.ciLow === null) verdict = { text: `n=${c.n}: no verdict`, cls: 'insufficient' };
      else if (l.role === 'descriptive') verdict = { text: `not judged n=${c.n} (${INTERVAL_TEXT[l.interval]})`, cls: 'na' };
      else verdict = { text: `${c.verdict} n=${c.n} (${l.role === 'secondary' ? 'Holm' : 'primary'}; ${INTERVAL_TEXT[l.interval]})`, cls: c.verdict };
    }
    return [`${l.metric} (${unitOf(l.metric)})`, value(l.baseline), value(l.value), typeof verdict === 'string' ? interval : { text: interval, cls: verdict.cls }, verdict];
  });
  return {
    kind: 'table',
    head: ['Metric (unit)', 'Baseline', v.variant.label, `vs baseline, + = better: ${ESTIMATOR.short}${stopped ? ` (primary: ${INTERVAL_TEXT[stopped.interval]})` : ''}`, 'Verdict'],
    rows,
    numeric: [false, true, true, true, false],
  };
}

function unitOf(metric: string): string {
  return metricInfo(metric)?.unit ?? '';
}

function taskBlocks(d: TaskDetail, model: ReportModel): Block[] {
  const blocks: Block[] = [];
  const counts = d.variants.map((v) => `${v.variant.label} ${v.variant.ok.length} ok${v.variant.failed > 0 ? `, ${v.variant.failed} failed` : ''}`).join('; ');
  blocks.push({ kind: 'p', text: `Trials: ${counts}.` });
  const charts: Block[] = [];
  const trials = trialChart(d, model.options.tieThreshold);
  if (trials) {
    charts.push({
      kind: 'chart',
      title: `${d.short}: paired rounds on ${d.primaryMetric}`,
      spec: trials,
      caption: `One point per trial per variant: the variant's speed-up over the baseline's trial of the same round (colour: the variant's position in that round). Bar: the primary line's interval (${ESTIMATOR.short}; for a --trials auto stop the interval at the stop, as in the table below); tick: its estimate. Grey band: tie (±${model.options.tieThreshold}%).`,
    });
  }
  const ecdf = ecdfChart(d);
  if (ecdf) {
    const sizes = d.variants.flatMap((v) => (v.variant.distributions ? [`${v.variant.label} ${v.variant.distributions.ttft.n} requests`] : [])).join(', ');
    charts.push({
      kind: 'chart',
      title: `${d.short}: per-request distributions`,
      spec: ecdf,
      caption: `Empirical CDFs pooled over each variant's ok trials (${sizes}); TPOT per request = (E2EL − TTFT) / (output tokens − 1), ITL = every gap between tokens. Each line is drawn from at most ${ECDF_MAX_POINTS} of its order statistics. Log x scale.`,
    });
  }
  if (charts.length > 0) blocks.push({ kind: 'tiles', blocks: charts });
  if (!ecdf) {
    blocks.push({ kind: 'p', text: 'Per-request distributions: no stored request samples for these trials (imported records, or a mode without requests).' });
  }
  const stop = taskStop(model.rows.filter((r) => taskKey(r) === d.key));
  blocks.push({ kind: 'list', items: [...(stop === null ? [] : [`run --trials auto: ${stopText(stop)}.`]), noiseFloorText(d), orderText(d)] });
  const base = d.variants.find((v) => v.variant.kind === 'baseline' && !v.variant.aa);
  if (!base) blocks.push({ kind: 'p', text: 'No baseline trial: nothing is compared.' });
  const tables: Block[] = [];
  for (const v of d.variants) {
    if (v === base || !base) continue;
    if (v.variant.ok.length === 0) blocks.push({ kind: 'p', text: `${v.variant.label}: no ok trial, nothing to compare.` });
    else tables.push({ kind: 'group', blocks: [{ kind: 'h3', text: `${v.variant.label} vs baseline` }, variantTable(v)] });
  }
  // Side by side where the window is wide enough, one under the other at 800 px.
  if (tables.length > 0) blocks.push({ kind: 'tiles', blocks: tables });
  return blocks;
}

function noiseFloorText(d: TaskDetail): string {
  const f = d.noiseFloor;
  if (!d.hasAa) return 'Noise floor: not measured (no A/A variant; isobench run --aa adds baseline′, a second baseline in every round).';
  if (f === null) return 'Noise floor: baseline′ has fewer than 2 rounds paired with the baseline: no interval.';
  const ci = f.aaCiLow === null || f.aaCiHigh === null ? '' : ` [${signedPct(f.aaCiLow)}, ${signedPct(f.aaCiHigh)}]`;
  const half = f.halfWidthPct === null ? '' : `; interval half-width at this noise ±${f.halfWidthPct.toFixed(1)}%`;
  const mde = f.minDetectablePct === null ? '' : `; smallest effect detectable with 80% power ${f.minDetectablePct.toFixed(1)}%`;
  return `Noise floor (A/A, baseline′ vs baseline on ${d.primaryMetric}): ${signedPct(f.aaImprovementPct)}${ci} n=${f.n}${half}${mde}.${f.message ? ` Note: ${f.message}.` : ''}`;
}

function orderText(d: TaskDetail): string {
  const seeds = d.orderSeeds.length === 0 ? 'not recorded' : d.orderSeeds.join(', ');
  const pos = d.positionEffectPct.length > 1 ? d.positionEffectPct.map((p, i) => `${i + 1}: ${signedPct(p)}`).join(', ') : 'not measured (positions not recorded or one variant per round)';
  return `Trial order: order seed ${seeds}; position effect on ${d.primaryMetric} (mean deviation of the trials at each position in the round from their variant's geometric mean, a diagnostic, not a correction): ${pos}.`;
}

function methodSection(model: ReportModel): Section {
  const o = model.options;
  const overrides = Object.entries(o.primaryMetrics).map(([m, k]) => `${m}=${k}`).join(', ');
  return {
    id: 'method',
    title: 'Method',
    blocks: [
      {
        kind: 'list',
        items: [
          `Improvement: latency (ref - x) / ref × 100, throughput (x - ref) / ref × 100; positive = better. Estimator: ${ESTIMATOR.long}. Rows built from a store carry that estimate and its interval (extension columns); v5 rows have one value per variant, so their improvement is the formula on those values and has no interval.`,
          `Primary metric per row: the first of the mode's candidates measured for the most variants. Defaults: serving ttft_mean then throughput; latency latency_avg; throughput and prefix_caching throughput; v5 standalone throughput then latency_avg; unknown mode ttft_mean, throughput, latency_avg.${overrides ? ` Overrides: ${overrides} (used strictly).` : ''}`,
          `Verdicts with tie threshold t = ${o.tieThreshold}%: better if the 95% CI is entirely above +t, worse if entirely below -t, tie if within ±t, otherwise inconclusive; insufficient ("n=1: no verdict") with fewer than ${MIN_PAIRED_ROUNDS} paired rounds, where no interval exists.`,
          `Across tasks ("Mean [95% CI]" columns): percentile bootstrap of the mean of the per-task improvements, 2000 resamples, seed ${o.seed}.`,
          `Source: ${o.source}. Generated ${o.generatedAt}.`,
        ],
      },
    ],
  };
}
