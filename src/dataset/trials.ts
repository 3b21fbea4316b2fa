import { ecdfPoints } from '../analysis/index.js';
import { isAaVariant, requestTpotMs, v5BenchmarkMode, type MetricSet } from '../core/index.js';
import type { SampleRecord, Store, TrialRecord, VariantRecord } from '../store/index.js';
import type { VariantKind } from '../task/index.js';
import { choose, DEFAULT_SOURCE_PRIORITY, stopSchedule, trialConfig, v5Value, type StopSchedule } from './build.js';
import { V5_METRICS } from './schema.js';

/** The per-request metrics whose distributions the report draws. */
export const REQUEST_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type RequestMetric = (typeof REQUEST_METRICS)[number];

/** Points of an empirical CDF: [value in ms, P(X <= value)], at most ECDF_MAX_POINTS per variant and metric. */
export interface Ecdf {
  /** Values the CDF is of (requests; ITL: inter-token gaps). */
  n: number;
  points: [number, number][];
}

/** Each variant's ECDF is drawn from at most this many points (the order statistics at evenly spaced ranks). */
export const ECDF_MAX_POINTS = 200;

/** One ok trial of a variant: its round, its slot in the round, the order seed and its metrics (v5 folds added). */
export interface TrialPoint {
  round: number;
  position: number | null;
  orderSeed: number | null;
  metrics: MetricSet;
  /** Keys of `metrics` the trial did not measure under that name: v5 folds (serving `throughput` = output tok/s). */
  folded: string[];
}

/** The trials and request samples of one variant of one task under one configuration. */
export interface VariantTrials {
  id: string;
  kind: VariantKind;
  /** The A/A copy of the baseline (`run --aa`). */
  aa: boolean;
  /** `baseline`, `baseline′`, `human`, or `agent name / model` (with the patch hash when one agent has several). */
  label: string;
  ok: TrialPoint[];
  failed: number;
  /** Pooled over the ok trials' stored samples; null where no trial stored any (imports, non-serving modes). */
  distributions: Record<RequestMetric, Ecdf> | null;
}

/** The trial-level data behind one task's dataset rows (same task, same config_key). */
export interface TaskTrials {
  commit: string;
  /** The rows' `config_key`. */
  config: string | null;
  variants: VariantTrials[];
  /** `run --trials auto`: the configuration's stop (store task_stops, schema 9+); null for fixed trials. */
  stop: StopSchedule | null;
}

/** A trial's metrics with the v5 folds (`throughput`, `latency_avg`) set where the trial has no such key. */
function withV5Folds(t: TrialRecord): { metrics: MetricSet; folded: string[] } {
  const mode = v5BenchmarkMode(t.mode);
  const metrics: MetricSet = { ...t.metrics };
  const folded: string[] = [];
  for (const m of V5_METRICS) {
    if (metrics[m] !== undefined) continue;
    const v = v5Value(t.metrics, m, mode);
    if (v === undefined || !Number.isFinite(v)) continue;
    metrics[m] = v;
    folded.push(m);
  }
  return { metrics, folded };
}

function label(v: VariantRecord, all: readonly VariantRecord[]): string {
  if (isAaVariant(v.id)) return 'baseline′';
  if (v.kind !== 'agent') return v.kind;
  const name = `${v.agentName ?? '(none)'} / ${v.agentModel ?? '(none)'}`;
  const same = all.filter((o) => o.kind === 'agent' && o.agentName === v.agentName && o.agentModel === v.agentModel);
  return same.length > 1 ? `${name} (${(v.patchSha256 ?? '').slice(0, 8)})` : name;
}

async function distributions(store: Store, ok: readonly TrialRecord[]): Promise<Record<RequestMetric, Ecdf> | null> {
  const samples: SampleRecord[] = [];
  for (const t of ok) samples.push(...(await store.getSamples(t.id)));
  const done = samples.filter((s) => s.ok);
  if (done.length === 0) return null;
  const series: Record<RequestMetric, number[]> = {
    ttft: done.flatMap((s) => (s.ttftMs === null ? [] : [s.ttftMs])),
    tpot: done.flatMap((s) => {
      const t = requestTpotMs(s);
      return t === null ? [] : [t];
    }),
    itl: done.flatMap((s) => s.itlMs),
    e2el: done.flatMap((s) => (s.e2elMs === null ? [] : [s.e2elMs])),
  };
  const out = {} as Record<RequestMetric, Ecdf>;
  for (const m of REQUEST_METRICS) out[m] = { n: series[m].length, points: ecdfPoints(series[m], ECDF_MAX_POINTS) };
  return out;
}

/**
 * The trials (and, where stored, the request samples) behind each (task, configuration) of the store, the same
 * trials the dataset rows are built from (trialConfig groups, the data source `choose` takes per variant), for the
 * report's per-variant tables, per-trial points and per-request distributions.
 */
export async function buildTaskTrials(store: Store, opts: { sourcePriority?: readonly string[]; signal?: AbortSignal } = {}): Promise<TaskTrials[]> {
  const [tasks, variants, trials, stops] = await Promise.all([store.listTasks(), store.listVariants(), store.listTrials(), store.listTaskStops()]);
  const stopOf = new Map(stops.map((s) => [`${s.taskCommit}#${s.configKey}`, s]));
  const priority = opts.sourcePriority ?? DEFAULT_SOURCE_PRIORITY;
  const out: TaskTrials[] = [];
  for (const task of [...tasks].sort((a, b) => a.commit.localeCompare(b.commit))) {
    opts.signal?.throwIfAborted();
    const vs = variants.filter((v) => v.taskCommit === task.commit);
    const ids = new Set(vs.map((v) => v.id));
    const configs = new Map<string, TrialRecord[]>();
    for (const t of trials) {
      if (t.taskCommit !== task.commit || !ids.has(t.variantId)) continue;
      const k = trialConfig(t);
      configs.set(k, [...(configs.get(k) ?? []), t]);
    }
    for (const [config, configTrials] of configs) {
      const list: VariantTrials[] = [];
      for (const v of vs) {
        const chosen = choose(configTrials.filter((t) => t.variantId === v.id), priority);
        if (chosen.trials.length === 0) continue;
        list.push({
          id: v.id,
          kind: v.kind,
          aa: isAaVariant(v.id),
          label: label(v, vs),
          ok: chosen.ok.map((t) => ({ round: t.trialIndex, position: t.position ?? null, orderSeed: t.orderSeed ?? null, ...withV5Folds(t) })),
          failed: chosen.trials.length - chosen.ok.length,
          distributions: await distributions(store, chosen.ok),
        });
      }
      const order = (v: VariantTrials): number => (v.kind === 'baseline' ? (v.aa ? 1 : 0) : v.kind === 'human' ? 2 : 3);
      list.sort((a, b) => order(a) - order(b) || a.label.localeCompare(b.label));
      out.push({ commit: task.commit, config, variants: list, stop: stopSchedule(stopOf.get(`${task.commit}#${config}`)) });
    }
  }
  return out;
}
