import { TaskSchema, type Task } from '../task/index.js';
import type { LegacyRecord, LegacyTaskInfo } from './legacy.js';

const FULL = /^[0-9a-f]{40}$/;
const SHORT = /^[0-9a-f]{7,40}$/;

/** Short hash → full hash, learned from every file and mapping that states both. */
export class CommitIndex {
  private readonly full = new Set<string>();
  add(hash: string | undefined): void {
    if (hash && FULL.test(hash)) this.full.add(hash);
  }
  /** The full hash a (short or full) hash stands for, when exactly one known commit starts with it. */
  resolve(hash: string | undefined): string | null {
    if (!hash) return null;
    const h = hash.toLowerCase();
    if (FULL.test(h)) return h;
    if (!SHORT.test(h)) return null;
    const hits = [...this.full].filter((f) => f.startsWith(h));
    return hits.length === 1 ? (hits[0] ?? null) : null;
  }
}

/**
 * Merges what the files say about each commit into one Task. Earlier facts win: callers pass the richest sources
 * first (Modal instances, then the mapping files, then result files).
 */
export class TaskMerger {
  private readonly facts = new Map<string, LegacyTaskInfo>();
  constructor(private readonly commits: CommitIndex) {}

  add(info: LegacyTaskInfo): void {
    const commit = this.commits.resolve(info.commitFull ?? info.commit);
    if (!commit) return;
    const prev = this.facts.get(commit) ?? { commit };
    const merged: LegacyTaskInfo = { ...info, ...prev };
    // A full parent beats a short one, whoever said it first.
    if (info.parent && FULL.test(info.parent) && !(prev.parent && FULL.test(prev.parent))) merged.parent = info.parent;
    if ((!prev.models || prev.models.length === 0) && info.models && info.models.length > 0) merged.models = info.models;
    if ((!prev.filesChanged || prev.filesChanged.length === 0) && info.filesChanged) merged.filesChanged = info.filesChanged;
    merged.commit = commit;
    this.facts.set(commit, merged);
  }

  /** Tasks that validate; commits whose facts lack a parent are returned apart. */
  tasks(): { tasks: Task[]; invalid: { commit: string; reason: string }[] } {
    const tasks: Task[] = [];
    const invalid: { commit: string; reason: string }[] = [];
    for (const [commit, f] of this.facts) {
      const parsed = TaskSchema.safeParse(toTaskInput(commit, f));
      if (parsed.success) tasks.push(parsed.data);
      else {
        const retry = TaskSchema.safeParse({ ...toTaskInput(commit, f), pr_url: undefined });
        if (retry.success) tasks.push(retry.data);
        else invalid.push({ commit, reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      }
    }
    return { tasks, invalid };
  }
}

function toTaskInput(commit: string, f: LegacyTaskInfo): Record<string, unknown> {
  const models = f.models && f.models.length > 0 ? f.models : f.model ? [f.model] : [];
  const prUrl = f.prUrl && /^https?:\/\//.test(f.prUrl) ? f.prUrl : undefined;
  const out: Record<string, unknown> = {
    commit,
    parent: f.parent?.toLowerCase(),
    repo: 'vllm-project/vllm',
    subject: f.subject,
    pr_url: prUrl,
    files_changed: f.filesChanged ?? [],
    perf_command: f.perfCommand,
    models,
    gpu_config: f.gpuConfig,
    benchmark_mode: f.mode,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** Task facts of a record, with the model of the measurement as a fallback model. */
export function taskInfoOf(rec: LegacyRecord): LegacyTaskInfo {
  return rec.model && !rec.task.model ? { ...rec.task, model: rec.model } : rec.task;
}
