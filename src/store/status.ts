import { processGone } from './lease.js';
import { measuredDeviations, type Failure } from '../core/index.js';
import type { RunRecord, RunStatus, Store, TaskStopRecord, TrialCount, VariantBuildRecord } from './types.js';

/**
 * A run as `status` shows it. `interrupted`: recorded as running on this host, but its process is gone (killed with
 * SIGKILL, a crash, a power cut); its stored trials are whole, and the next run resumes the rest.
 */
export type ShownRun = Omit<RunRecord, 'config' | 'status'> & { status: RunStatus | 'interrupted' };

/** What `isobench status` shows: the runs, trial counts per task and variant, and the latest failures. */
export interface StoreStatus {
  store: { kind: Store['kind']; location: string };
  runs: ShownRun[];
  totals: { trials: number; ok: number; failed: number };
  /** `build`: the variant's latest build from source (seconds it took, cached or not), null when never built. */
  variants: (TrialCount & { kind: string | null; agent: string | null; build: VariantBuildRecord | null })[];
  recentFailures: {
    trialKey: string;
    taskCommit: string;
    variantId: string;
    kind: string | null;
    agent: string | null;
    trialIndex: number;
    finishedAt: string;
    failure: Failure;
  }[];
  /** Per task, the deviations of its trials that change what was measured (dataset substituted, OOM fallback). */
  deviations: { taskCommit: string; deviation: string; trials: number }[];
  /** `--trials auto`: where and why each task configuration stopped (schema 6), by task then configuration. */
  stops: TaskStopRecord[];
}

/** Reads the status of `store`, with up to `failures` most recent failures. */
export async function readStoreStatus(store: Store, failures = 10): Promise<StoreStatus> {
  const [runs, counts, variants, recent, trials, stops] = await Promise.all([
    store.listRuns(),
    store.trialCounts(),
    store.listVariants(),
    store.recentFailures(failures),
    store.listTrials(),
    store.listTaskStops(),
  ]);
  const byId = new Map(variants.map((v) => [v.id, v]));
  const describe = (variantId: string) => {
    const v = byId.get(variantId);
    return { kind: v?.kind ?? null, agent: v?.agentName == null ? null : `${v.agentName}:${v.agentModel ?? '?'}` };
  };
  const ok = counts.reduce((n, c) => n + c.ok, 0);
  const failed = counts.reduce((n, c) => n + c.failed, 0);
  return {
    store: { kind: store.kind, location: store.location },
    runs: runs.map(({ config: _config, ...r }) => ({ ...r, status: interrupted(r) ? 'interrupted' : r.status })),
    totals: { trials: ok + failed, ok, failed },
    variants: counts.map((c) => ({ ...c, ...describe(c.variantId), build: byId.get(c.variantId)?.build ?? null })).sort(byTaskThenRole),
    recentFailures: recent.flatMap((t) =>
      t.failure === null ? [] : [{ trialKey: t.trialKey, taskCommit: t.taskCommit, variantId: t.variantId, ...describe(t.variantId), trialIndex: t.trialIndex, finishedAt: t.finishedAt, failure: t.failure }],
    ),
    deviations: deviationsOf(trials),
    stops,
  };
}

function deviationsOf(trials: readonly { taskCommit: string; deviations: string[] }[]): StoreStatus['deviations'] {
  const counts = new Map<string, { taskCommit: string; deviation: string; trials: number }>();
  for (const t of trials) {
    for (const deviation of measuredDeviations(t.deviations)) {
      const key = `${t.taskCommit}\n${deviation}`;
      const entry = counts.get(key) ?? { taskCommit: t.taskCommit, deviation, trials: 0 };
      entry.trials++;
      counts.set(key, entry);
    }
  }
  return [...counts.values()].sort((a, b) => a.taskCommit.localeCompare(b.taskCommit) || a.deviation.localeCompare(b.deviation));
}

/** Running on this host by a process that no longer exists. A run on another host cannot be checked from here. */
function interrupted(r: Pick<RunRecord, 'status' | 'pid' | 'host'>): boolean {
  return r.status === 'running' && processGone(r.host, r.pid);
}

const ROLE_ORDER: Record<string, number> = { baseline: 0, human: 1, agent: 2 };

/** Tasks in commit order, inside a task baseline, human, then agents: the order of the comparison. */
function byTaskThenRole(a: { taskCommit: string; variantId: string; kind: string | null }, b: typeof a): number {
  const rank = (k: string | null) => (k === null ? 3 : (ROLE_ORDER[k] ?? 3));
  return a.taskCommit.localeCompare(b.taskCommit) || rank(a.kind) - rank(b.kind) || a.variantId.localeCompare(b.variantId);
}
