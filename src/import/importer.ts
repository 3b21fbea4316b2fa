import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BENCHMARK_MODES, IMPORTED_CONFIG_KEY, IsobenchError, errorMessage, patchSha256, redactSecrets, variantId, type BenchmarkMode, type Failure } from '../core/index.js';
import type { LogRecord, Store, TrialRecord, VariantRecord } from '../store/index.js';
import { classifyFailure, parseBenchmarkOutput, parsePerfCommand, type FailureInput } from '../vllm/index.js';
import type { LegacyFileError, LegacyRecord, LegacyTaskInfo } from './legacy.js';
import { readShape, salvageJson, shapeOf, SHAPE_SOURCE } from './readers.js';
import { CommitIndex, TaskMerger, taskInfoOf } from './tasks.js';

export interface ImportOptions {
  /** Agent label of the agent variants in this folder (the original tree is one agent per folder). */
  agentName?: string;
  agentModel?: string;
  /** Mapping files (`benchmark_mode_mapping.json`, `matched_commits_for_benchmark.json`); default: found upward. */
  mappings?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (event: ImportProgress) => void;
}

export type ImportProgress = { kind: 'read'; files: number } | { kind: 'saved'; done: number; total: number };

export interface ImportSummary {
  dir: string;
  runId: string;
  filesRead: number;
  records: number;
  inserted: number;
  existing: number;
  tasks: number;
  /** Files that are not measurements (exports, logs, notes): left alone. */
  skipped: string[];
  /** Files that could not be read: recorded as failed trials when the commit could be recovered. */
  fileErrors: LegacyFileError[];
  /** Records whose commit or task could not be resolved to a full task (not stored). */
  unresolved: { file: string; role: string; reason: string }[];
  bySource: Record<string, number>;
}

export const DEFAULT_AGENT = { name: 'claude-code', model: 'sonnet-4.5' } as const;

/** Imports the original ISO-Bench result files under `dir` into `store`; importing twice adds nothing. */
export async function importIsoBench(dir: string, store: Store, opts: ImportOptions = {}): Promise<ImportSummary> {
  const root = path.resolve(dir);
  const rootStat = await stat(root).catch(() => null);
  if (!rootStat?.isDirectory()) throw new IsobenchError('E_INPUT', `import iso-bench: ${dir} is not a directory`, { hint: 'give the folder of an ISO-Bench results tree' });
  const files = await listJsonFiles(root, opts.signal);
  opts.onProgress?.({ kind: 'read', files: files.length });
  const { records, skipped, fileErrors } = await readAll(root, files);
  const commits = new CommitIndex();
  const merger = new TaskMerger(commits);
  const mappings = await readMappings(opts.mappings ?? (await findMappings(root)));
  for (const info of [...mappings, ...records.map(taskInfoOf)]) {
    commits.add(info.commitFull);
    commits.add(info.commit);
  }
  // Richest facts first: Modal instances, then mappings, then the rest.
  for (const r of records.filter((x) => x.dataSource === 'modal')) merger.add(taskInfoOf(r));
  for (const m of mappings) merger.add(m);
  for (const r of records.filter((x) => x.dataSource !== 'modal')) merger.add(taskInfoOf(r));
  const { tasks } = merger.tasks();
  const taskCommits = new Set(tasks.map((t) => t.commit));
  for (const t of tasks) await store.upsertTask(t);

  const runId = `import-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`;
  const now = new Date().toISOString();
  if (!(await store.listRuns()).some((r) => r.id === runId)) {
    await store.createRun({ id: runId, startedAt: now, finishedAt: null, status: 'running', engine: 'import', host: os.hostname(), pid: process.pid, config: { source: 'iso-bench', dir: path.basename(root) } });
  }
  const agent = { name: opts.agentName ?? DEFAULT_AGENT.name, model: opts.agentModel ?? DEFAULT_AGENT.model };
  const summary: ImportSummary = { dir: root, runId, filesRead: files.length, records: records.length, inserted: 0, existing: 0, tasks: tasks.length, skipped, fileErrors, unresolved: [], bySource: {} };
  const variantsSeen = new Set<string>();
  // The folder is one agent's 3-way run over its tasks: every task was attempted by that agent, measured or not.
  for (const commit of taskCommits) {
    const variant = variantOf(commit, { role: 'agent', agentPatch: null }, agent);
    await store.upsertVariant(variant);
    variantsSeen.add(variant.id);
  }
  let done = 0;
  for (const rec of records) {
    opts.signal?.throwIfAborted();
    const commit = commits.resolve(rec.task.commitFull ?? rec.task.commit);
    if (!commit || !taskCommits.has(commit)) {
      summary.unresolved.push({ file: rec.file, role: rec.role, reason: commit ? 'no parent commit known for this commit' : `commit "${rec.task.commit}" is not a known full hash` });
      continue;
    }
    const variant = variantOf(commit, rec, agent);
    if (!variantsSeen.has(variant.id)) {
      await store.upsertVariant(variant);
      variantsSeen.add(variant.id);
    }
    const { trial, logs } = trialOf(rec, commit, variant.id, runId);
    const outcome = await store.saveTrial(trial, [], logs);
    if (outcome === 'inserted') summary.inserted++;
    else summary.existing++;
    summary.bySource[rec.dataSource] = (summary.bySource[rec.dataSource] ?? 0) + 1;
    opts.onProgress?.({ kind: 'saved', done: ++done, total: records.length });
  }
  await store.finishRun(runId, 'finished', new Date().toISOString());
  return summary;
}

async function listJsonFiles(root: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    signal?.throwIfAborted();
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(child);
    }
  };
  await walk('');
  return out;
}

async function readAll(root: string, files: readonly string[]): Promise<{ records: LegacyRecord[]; skipped: string[]; fileErrors: LegacyFileError[] }> {
  const records: LegacyRecord[] = [];
  const skipped: string[] = [];
  const fileErrors: LegacyFileError[] = [];
  for (const file of files) {
    const shape = shapeOf(file);
    if (!shape) {
      skipped.push(file);
      continue;
    }
    const text = await readFile(path.join(root, file), 'utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      const message = `not valid JSON: ${errorMessage(err)}`;
      fileErrors.push({ file, dataSource: SHAPE_SOURCE[shape], message });
      const salvaged = salvageJson(text);
      if (salvaged) {
        // What can be read is kept as a failed measurement whose evidence is the broken line.
        for (const rec of readShape(shape, file, salvaged.value)) {
          records.push({ ...rec, status: 'invalid_json', error: `result file is not valid JSON: ${salvaged.evidence}`, metrics: {}, raw: text });
        }
      }
      continue;
    }
    records.push(...readShape(shape, file, data).map(withRawMetrics));
  }
  return { records, skipped, fileErrors };
}

/**
 * Several pipelines kept only a few metrics in the JSON but the whole benchmark summary in the raw output: the
 * missing keys are read from the raw text (never overriding a stored value), and the trial says so.
 */
function withRawMetrics(rec: LegacyRecord): LegacyRecord {
  if (!rec.raw || !['success', 'no_metrics'].includes(rec.status)) return rec;
  const parsed = parseBenchmarkOutput(rec.raw);
  if (parsed.status !== 'ok') return rec;
  const added = Object.keys(parsed.metrics).filter((k) => rec.metrics[k] === undefined);
  if (added.length === 0) return rec;
  const metrics = { ...rec.metrics };
  for (const k of added) metrics[k] = parsed.metrics[k]!;
  const status = rec.status === 'no_metrics' ? 'success' : rec.status;
  return { ...rec, status, metrics, notes: [...rec.notes, `read from the raw output: ${added.join(', ')}`] };
}

/** Looks for `data/mappings/*.json` in `root` and its ancestors (the corpus keeps them beside the archive). */
async function findMappings(root: string): Promise<string[]> {
  let dir = root;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'data', 'mappings');
    const names = await readdir(candidate).catch(() => null);
    if (names) return names.filter((n) => n.endsWith('.json')).map((n) => path.join(candidate, n));
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return [];
}

async function readMappings(files: readonly string[]): Promise<LegacyTaskInfo[]> {
  const out: LegacyTaskInfo[] = [];
  for (const f of files) {
    let data: unknown;
    try {
      data = JSON.parse(await readFile(f, 'utf8'));
    } catch (err) {
      throw new IsobenchError('E_INPUT', `mapping file ${f}: ${errorMessage(err)}`, { cause: err });
    }
    const entries: [string | undefined, unknown][] = Array.isArray(data) ? data.map((v) => [undefined, v]) : typeof data === 'object' && data !== null ? Object.entries(data) : [];
    for (const [key, v] of entries) {
      if (typeof v !== 'object' || v === null) continue;
      const o = v as Record<string, unknown>;
      const s = (k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? o[k] : undefined);
      const info: Record<string, string | undefined> = {
        commit: s('human_short') ?? key ?? s('commit_full') ?? s('human_full'),
        commitFull: s('commit_full') ?? s('human_full'),
        parent: s('parent_commit') ?? s('parent_short'),
        perfCommand: s('perf_command'),
        model: s('model'),
        mode: s('benchmark_mode') ?? (s('benchmark_type') === 'unknown' ? undefined : s('benchmark_type')),
      };
      if (info.commit) out.push(Object.fromEntries(Object.entries(info).filter(([, x]) => x !== undefined)) as unknown as LegacyTaskInfo);
    }
  }
  return out;
}

function variantOf(commit: string, rec: Pick<LegacyRecord, 'role' | 'agentPatch'>, agent: { name: string; model: string }): VariantRecord {
  if (rec.role !== 'agent') return { id: variantId(commit, rec.role), taskCommit: commit, kind: rec.role, agentName: null, agentModel: null, patchSha256: null, patchText: null };
  const sha = rec.agentPatch ? patchSha256(rec.agentPatch) : null;
  return {
    id: variantId(commit, 'agent', { name: agent.name, model: agent.model, patchSha256: sha ?? 'unknown' }),
    taskCommit: commit,
    kind: 'agent',
    agentName: agent.name,
    agentModel: agent.model,
    patchSha256: sha,
    patchText: rec.agentPatch === null ? null : redactSecrets(rec.agentPatch),
  };
}

/** The trial's mode: the file's own label when it is a mode, else the command's, else what the metrics imply. */
function modeOf(rec: LegacyRecord): BenchmarkMode | null {
  const label = rec.modeLabel?.toLowerCase();
  if (label && (BENCHMARK_MODES as readonly string[]).includes(label)) return label as BenchmarkMode;
  const cmd = rec.command ?? rec.task.perfCommand;
  if (cmd) {
    const parsed = parsePerfCommand(cmd);
    if (parsed.status === 'ok' && parsed.mode !== 'unknown') return parsed.mode;
  }
  const keys = Object.keys(rec.metrics);
  if (keys.some((k) => /^(ttft|tpot|itl)_/.test(k))) return 'serving';
  if (keys.includes('warmup_time')) return 'prefix_caching';
  if (keys.includes('latency_avg')) return 'latency';
  if (keys.includes('throughput')) return 'throughput';
  return null;
}

/** Original statuses whose meaning is a failure code when the logs do not say more. */
function failureOf(rec: LegacyRecord): Failure {
  const error = rec.error ?? undefined;
  if (rec.status === 'invalid_json') return { code: 'no_metrics', evidence: error ?? 'result file is not valid JSON', source: 'result file' };
  if (rec.status === 'success' || rec.status === 'no_metrics') {
    return { code: 'no_metrics', evidence: error ?? `status "${rec.status}" but the file records no metrics`, source: 'result file' };
  }
  const input: FailureInput = {};
  if (error) input.error = error;
  if (rec.raw) input.bench = rec.raw;
  if (rec.serverLog) input.server = rec.serverLog;
  const classified = classifyFailure(input);
  if (classified.code !== 'unclassified') return classified;
  const text = `${rec.status} ${error ?? ''}`;
  const byText: [RegExp, Failure['code']][] = [
    [/no \w*\s*metrics|produced no metrics/i, 'no_metrics'],
    [/timed? ?out|^timeout/i, 'bench_timeout'],
    [/tensor-parallel|gpus?\b/i, 'gpus_insufficient'],
    [/no perf_command/i, 'task_invalid'],
    [/wheel/i, 'wheel_not_found'],
    [/crashed|failed to start/i, 'server_crashed'],
    [/incompatib/i, 'model_unsupported'],
    [/skipped/i, 'task_invalid'],
  ];
  const hit = byText.find(([re]) => re.test(text));
  const evidence = redactSecrets((error ?? rec.status).split('\n')[0] ?? rec.status).slice(0, 400);
  return hit ? { code: hit[1], evidence, source: 'result file' } : { ...classified, evidence: classified.evidence || evidence };
}

function isoTime(ts: string | null): string {
  if (!ts) return '1970-01-01T00:00:00.000Z';
  const d = new Date(/^\d{8}_\d{6}$/.test(ts) ? `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(9, 11)}:${ts.slice(11, 13)}:${ts.slice(13, 15)}Z` : ts.replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? '1970-01-01T00:00:00.000Z' : d.toISOString();
}

function trialOf(rec: LegacyRecord, commit: string, variantId: string, runId: string): { trial: TrialRecord; logs: LogRecord[] } {
  const trialKey = `import:${rec.dataSource}:${rec.file}:${rec.role}`;
  const id = `imp-${createHash('sha256').update(trialKey).digest('hex').slice(0, 24)}`;
  const ok = rec.status === 'success' && Object.keys(rec.metrics).length > 0;
  const time = isoTime(rec.timestamp);
  const command = rec.command ?? rec.task.perfCommand ?? null;
  const trial: TrialRecord = {
    id,
    trialKey,
    runId,
    variantId,
    taskCommit: commit,
    trialIndex: 0,
    configKey: IMPORTED_CONFIG_KEY,
    mode: modeOf(rec),
    status: ok ? 'ok' : 'failed',
    failure: ok ? null : failureOf(rec),
    metrics: rec.metrics,
    deviations: rec.notes.map(redactSecrets),
    correctness: null,
    engine: 'import',
    host: rec.dataSource === 'modal' ? 'modal' : 'unknown',
    dataSource: rec.dataSource,
    model: rec.model ?? rec.task.model ?? null,
    command: command === null ? null : redactSecrets(command),
    workloadHash: null,
    startedAt: time,
    finishedAt: time,
    durationS: rec.durationS ?? 0,
  };
  const logs: LogRecord[] = [];
  if (rec.raw) logs.push({ trialId: id, kind: 'raw', text: redactSecrets(rec.raw) });
  if (rec.serverLog) logs.push({ trialId: id, kind: 'server', text: redactSecrets(rec.serverLog) });
  return { trial, logs };
}
