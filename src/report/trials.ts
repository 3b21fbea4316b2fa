import {
  byRound,
  compare,
  geometricMean,
  holmAdjust,
  isJudgedSecondary,
  noiseFloor,
  positionEffect,
  type Comparison,
  type NoiseFloor,
} from '../analysis/index.js';
import { metricInfo } from '../core/index.js';
import { primaryAtStop, type StopSchedule, type TaskTrials, type VariantTrials } from '../dataset/index.js';
import type { ResolvedReportOptions, RowAnalysis } from './model.js';
import { taskKey } from './model.js';

/** How a line of a variant's table is judged: the primary metric; a secondary one (Holm over the family); shown only. */
export type MetricRole = 'primary' | 'secondary' | 'descriptive';

/** One metric of one variant against the baseline. */
export interface MetricLine {
  metric: string;
  role: MetricRole;
  /** Geometric means over the ok trials. */
  baseline: number | null;
  value: number | null;
  /**
   * The paired comparison with the baseline (src/analysis ESTIMATOR); secondary verdicts Holm-adjusted. The primary
   * line of a `--trials auto` configuration: the comparison at the stop, as `run` and `dataset build` report it.
   */
  comparison: Comparison | null;
  /** Which interval `comparison` carries: Student t over the paired rounds, or at a `--trials auto` stop (see LineInterval). */
  interval: LineInterval;
}

/**
 * `paired-t`: the paired Student t 95% interval (fixed trials; every secondary metric; vs baseline′). `stagewise`: the
 * 95% interval at the stop aware of the stopping rule, verdict the boundary's. `repeated`: the stop's look's own
 * interval and verdict (this comparison did not stop the task, or a round is missing).
 */
export type LineInterval = 'paired-t' | 'stagewise' | 'repeated';

/** One round's ratio of a variant to the baseline on the primary metric, as the estimator pairs them. */
export interface RoundRatio {
  round: number;
  /** Position of the variant's trial in its round (null before schema 3 and for imports). */
  position: number | null;
  /** 100 · (ratio − 1), signed so that positive = better: one paired round's improvement. */
  improvementPct: number;
}

export interface VariantDetail {
  variant: VariantTrials;
  /** Empty for the baseline itself. */
  lines: MetricLine[];
  /** The paired rounds of the primary comparison; empty for the baseline. */
  rounds: RoundRatio[];
  primary: Comparison | null;
}

/** Everything the report shows of one task's trials (one task, one configuration). */
export interface TaskDetail {
  key: string;
  commit: string;
  short: string;
  subject: string;
  config: string | null;
  /** A sweep task's point (`sweep_point`); null otherwise. */
  sweepPoint: string | null;
  modeLabel: string;
  primaryMetric: string;
  /** Every metric line's metric, in table order. */
  metrics: string[];
  variants: VariantDetail[];
  /** `--aa`: baseline′ vs baseline on the primary metric; null without an A/A variant or below 2 paired rounds. */
  noiseFloor: NoiseFloor | null;
  hasAa: boolean;
  /** Mean deviation (percent) of a trial at position p from its variant's geometric mean on the primary metric. */
  positionEffectPct: number[];
  /** The seeds the rounds' orders were drawn from. */
  orderSeeds: number[];
}

const STATS = ['mean', 'median', 'p90', 'p99'] as const;
/** The latency script's percentiles (`latency_p10` ... `latency_p99`) the trials have, in order. */
const latencyPercentiles = (have: ReadonlySet<string>): string[] =>
  [...have].filter((k) => /^latency_p\d+$/.test(k)).sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)));

/** Table order: serving latencies by family and statistic, then latency-script metrics, then throughputs. */
const order = (have: ReadonlySet<string>): string[] => [
  ...['ttft', 'tpot', 'itl', 'e2el'].flatMap((m) => STATS.map((s) => `${m}_${s}`)),
  'latency_avg',
  ...latencyPercentiles(have),
  'warmup_time',
  'generate_time',
  'throughput',
  'output_throughput',
  'total_token_throughput',
  'request_throughput',
  'request_goodput',
];

/**
 * The metrics of a variant table: those of `order` the ok trials measured (every statistic the mode reports), and the
 * primary metric even where it is a v5 fold (serving `throughput` = output tok/s, listed apart only as the primary).
 */
function tableMetrics(variants: readonly VariantTrials[], primary: string): string[] {
  const have = new Set(variants.flatMap((v) => v.ok.flatMap((t) => Object.keys(t.metrics).filter((k) => !t.folded.includes(k)))));
  const list = order(have).filter((m) => have.has(m) && (metricInfo(m)?.better ?? 'none') !== 'none');
  const measured = variants.some((v) => v.ok.some((t) => t.metrics[primary] !== undefined));
  return list.includes(primary) || !measured ? list : [primary, ...list];
}

const roundsOf = (v: VariantTrials, metric: string) => byRound(v.ok.map((t) => ({ round: t.round, value: t.metrics[metric] })));
const geomean = (v: VariantTrials, metric: string): number | null => {
  const xs = v.ok.map((t) => t.metrics[metric]).filter((x): x is number => x !== undefined && Number.isFinite(x) && x > 0);
  return xs.length > 0 ? geometricMean(xs) : null;
};

function variantLines(base: VariantTrials, v: VariantTrials, metrics: readonly string[], primary: string, stop: StopSchedule | null, opts: ResolvedReportOptions): MetricLine[] {
  const cmp = (m: string) => compare(m, roundsOf(base, m), roundsOf(v, m), { tieThreshold: opts.tieThreshold });
  const secondary = metrics.filter((m) => isJudgedSecondary(m, primary));
  const adjusted = new Map(holmAdjust(secondary.map(cmp)).map((c, i) => [secondary[i]!, c]));
  // --trials auto watched the primary comparisons of human and agents with the baseline (not baseline′): as run reports them.
  const atStop = stop !== null && v.kind !== 'baseline' ? primaryAtStop(primary, roundsOf(base, primary), roundsOf(v, primary), stop, opts.tieThreshold) : null;
  return metrics.map((m) => {
    const role: MetricRole = m === primary ? 'primary' : adjusted.has(m) ? 'secondary' : 'descriptive';
    const line = { metric: m, role, baseline: geomean(base, m), value: geomean(v, m) };
    if (role === 'primary' && atStop !== null) return { ...line, comparison: atStop.comparison, interval: atStop.interval };
    return { ...line, comparison: adjusted.get(m) ?? cmp(m), interval: 'paired-t' };
  });
}

function roundRatios(base: VariantTrials, v: VariantTrials, metric: string, opts: ResolvedReportOptions): RoundRatio[] {
  const ref = new Map(base.ok.map((t) => [t.round, t.metrics[metric]]));
  return v.ok.flatMap((t) => {
    const r = ref.get(t.round);
    const x = t.metrics[metric];
    if (r === undefined || x === undefined) return [];
    // One round is a comparison with n = 1: the estimator's own point for that round.
    const c = compare(metric, [r], [x], { tieThreshold: opts.tieThreshold });
    return c.status === 'ok' ? [{ round: t.round, position: t.position, improvementPct: c.improvementPct }] : [];
  });
}

/** The per-task trial views of every (task, configuration) that has a row, with the rows' primary metric. */
export function analyzeTrials(trials: readonly TaskTrials[], rows: readonly RowAnalysis[], opts: ResolvedReportOptions): TaskDetail[] {
  const out: TaskDetail[] = [];
  for (const t of trials) {
    const row = rows.find((r) => taskKey(r) === taskKey({ commit: t.commit, config: t.config }));
    if (!row || t.variants.every((v) => v.ok.length === 0)) continue;
    const primary = row.metric;
    const metrics = tableMetrics(t.variants, primary);
    const base = t.variants.find((v) => v.kind === 'baseline' && !v.aa);
    const aa = t.variants.find((v) => v.aa);
    const variants: VariantDetail[] = t.variants.map((v) => {
      if (!base || v === base) return { variant: v, lines: [], rounds: [], primary: null };
      const lines = variantLines(base, v, metrics, primary, t.stop, opts);
      return { variant: v, lines, rounds: roundRatios(base, v, primary, opts), primary: lines.find((l) => l.metric === primary)?.comparison ?? null };
    });
    out.push({
      key: taskKey(row),
      commit: t.commit,
      short: row.short,
      subject: row.subject,
      config: t.config,
      sweepPoint: row.sweepPoint,
      modeLabel: row.modeLabel,
      primaryMetric: primary,
      metrics,
      variants,
      noiseFloor: base && aa ? noiseFloor(primary, roundsOf(base, primary), roundsOf(aa, primary), { tieThreshold: opts.tieThreshold }) : null,
      hasAa: aa !== undefined,
      positionEffectPct: positionEffect(
        t.variants.flatMap((v) => v.ok.flatMap((p) => (p.position === null ? [] : [{ variant: v.id, position: p.position, value: p.metrics[primary] ?? 0 }]))),
      ),
      orderSeeds: [...new Set(t.variants.flatMap((v) => v.ok.flatMap((p) => (p.orderSeed === null ? [] : [p.orderSeed]))))].sort((a, b) => a - b),
    });
  }
  return out;
}
