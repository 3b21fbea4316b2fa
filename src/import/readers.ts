import path from 'node:path';
import { VARIANT_KINDS, type VariantKind } from '../core/index.js';
import type { LegacyRecord, LegacyTaskInfo } from './legacy.js';
import { mapMetrics } from './metric-keys.js';

type Json = Record<string, unknown>;
const ROLES = VARIANT_KINDS;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Json, ...keys: string[]): string | undefined => {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'string' && v.trim() !== '') return v;
  }
  return undefined;
};
const num = (o: Json, k: string): number | null => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? o[k] : null);
const strList = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

/** Which reader a file needs, decided by where it sits in the original tree. */
export type FileShape = 'separate' | 'separate_agent' | 'separate_baseline' | 'docker_flat' | 'docker_3way' | 'modal' | 'rerun';

/** The shape of a result file from its relative path, or null for files that are not measurements. */
export function shapeOf(relFile: string): FileShape | null {
  const parts = relFile.split(/[\\/]/);
  const name = parts.at(-1) ?? '';
  const parent = parts.at(-2) ?? '';
  const grand = parts.at(-3) ?? '';
  if (!name.endsWith('.json')) return null;
  if (name === 'benchmark_result.json' && grand === 'modal') return 'modal';
  if (name === 'benchmark_result.json' && grand === 'docker') return 'docker_3way';
  if (!name.endsWith('_result.json')) return null;
  if (parent === 'docker') return 'docker_flat';
  if (parent === 'separate_agent') return 'separate_agent';
  if (parent === 'separate_baseline') return 'separate_baseline';
  if (grand === 'reruns') return 'rerun';
  if (parent === 'results') return 'separate';
  return null;
}

/** Data source (provenance) label of each shape. */
export const SHAPE_SOURCE: Record<FileShape, string> = {
  separate: 'separate',
  separate_agent: 'separate_agent',
  separate_baseline: 'separate_baseline',
  docker_flat: 'docker_flat',
  docker_3way: 'docker',
  modal: 'modal',
  rerun: 'rerun',
};

function baseRecord(shape: FileShape, file: string, role: VariantKind, task: LegacyTaskInfo, o: Json, metricSource: Json): LegacyRecord {
  const mapped = mapMetrics(metricSource);
  return {
    dataSource: SHAPE_SOURCE[shape],
    file,
    role,
    task,
    status: str(o, 'status') ?? 'unknown',
    error: str(o, 'error', 'error_message', 'skip_reason') ?? null,
    metrics: mapped.metrics,
    notes: mapped.notes,
    raw: str(o, 'raw_output', 'logs') ?? null,
    serverLog: null,
    timestamp: str(o, 'timestamp') ?? null,
    durationS: num(o, 'duration_s') ?? num(o, 'benchmark_duration_s'),
    model: str(o, 'model') ?? null,
    command: null,
    agentPatch: str(o, 'agent_patch') ?? null,
    modeLabel: str(o, 'benchmark_type', 'benchmark_mode') ?? null,
  };
}

type Loose<T> = { [K in keyof T]: T[K] | undefined };

/** Drops undefined fields (the files state any subset of the task facts). */
function compact(t: Loose<LegacyTaskInfo>): LegacyTaskInfo {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as unknown as LegacyTaskInfo;
}

/** Reads one parsed file of a known shape into its variant measurements. */
export function readShape(shape: FileShape, file: string, data: unknown): LegacyRecord[] {
  if (!isObj(data)) return [];
  switch (shape) {
    case 'separate':
    case 'separate_agent':
    case 'separate_baseline':
      return readOneRole(shape, file, data);
    case 'docker_flat':
      return readDockerFlat(file, data);
    case 'docker_3way':
      return readDocker3way(file, data);
    case 'modal':
      return readModal(file, data);
    case 'rerun':
      return readRerun(file, data);
  }
}

function roleFromName(file: string): VariantKind | null {
  const m = /_(baseline|human|agent)_result\.json$/.exec(path.basename(file));
  return (m?.[1] as VariantKind | undefined) ?? null;
}

function readOneRole(shape: FileShape, file: string, o: Json): LegacyRecord[] {
  const role = roleFromName(file);
  if (!role) return [];
  const task = compact({
    commit: str(o, 'human_commit', 'commit_short', 'commit', 'commit_hash') ?? path.basename(file).slice(0, 8),
    commitFull: str(o, 'human_commit_full', 'commit_full'),
    parent: str(o, 'parent_commit', 'parent_short', 'parent_hash'),
    model: str(o, 'model'),
  });
  const metricSource = isObj(o.metrics) ? o.metrics : o;
  return [baseRecord(shape, file, role, task, o, metricSource)];
}

function readDockerFlat(file: string, o: Json): LegacyRecord[] {
  const commit = str(o, 'commit_hash') ?? path.basename(file).slice(0, 8);
  const rec = baseRecord('docker_flat', file, 'human', compact({ commit, model: str(o, 'model') }), o, o);
  rec.notes.push('role not recorded in the file: taken as human (commit_hash is the human commit)');
  const note = str(o, 'note', 'fix_applied');
  if (note) rec.notes.push(`original note: ${note}`);
  return [rec];
}

function readDocker3way(file: string, o: Json): LegacyRecord[] {
  const results = isObj(o.results) ? o.results : {};
  return ROLES.flatMap((role) => {
    const r = results[role];
    if (!isObj(r)) return [];
    const task = compact({ commit: str(r, 'commit_hash') ?? str(o, 'commit') ?? '', model: str(r, 'model') });
    const rec = baseRecord('docker_3way', file, role, task, r, isObj(r.metrics) ? r.metrics : {});
    rec.timestamp ??= str(o, 'timestamp') ?? null;
    return [rec];
  });
}

function modalTask(instance: Json, r: Json): LegacyTaskInfo {
  return compact({
    commit: str(r, 'full_commit', 'commit') ?? str(instance, 'commit_hash') ?? str(r, 'commit_hash') ?? '',
    commitFull: str(r, 'full_commit') ?? str(instance, 'commit_hash'),
    parent: str(r, 'parent_commit'),
    subject: str(instance, 'commit_subject') ?? str(r, 'subject'),
    prUrl: str(instance, 'pr_url'),
    filesChanged: strList(instance.files_changed),
    perfCommand: str(instance, 'perf_command') ?? str(r, 'perf_command'),
    models: strList(instance.models),
    model: str(r, 'model'),
    gpuConfig: str(r, 'gpu_config'),
    mode: str(r, 'benchmark_mode'),
  });
}

/**
 * The Modal pipeline ran baseline, then human, then agent, stopping at the first failure. A role's record exists
 * when it has metrics or when the pipeline got to it: baseline always, human once the baseline measured, agent
 * once the human measured (or when an agent error says it ran).
 */
function readModal(file: string, o: Json): LegacyRecord[] {
  const instance = isObj(o.instance) ? o.instance : {};
  const r = isObj(o.result) ? o.result : {};
  const task = modalTask(instance, r);
  const status = str(r, 'status') ?? 'unknown';
  const metricsOf = (role: VariantKind): Json | null => {
    const m = r[`${role}_metrics`] ?? (role === 'human' ? r.patched_metrics : undefined);
    return isObj(m) && Object.keys(m).length > 0 ? m : null;
  };
  const records: LegacyRecord[] = [];
  for (const role of ROLES) {
    const m = metricsOf(role);
    const ranBefore = records.length > 0 && Object.keys(records.at(-1)?.metrics ?? {}).length > 0;
    const agentError = role === 'agent' ? str(r, 'agent_error') : undefined;
    if (!m && role !== 'baseline' && !ranBefore && !agentError) break;
    if (!m && role === 'agent' && !agentError && r.has_agent_patch === false) break;
    const rec = baseRecord('modal', file, role, task, r, m ?? {});
    rec.raw = str(r, `${role}_raw`) ?? null;
    rec.modeLabel = str(r, 'benchmark_mode', 'benchmark_type') ?? null;
    if (m) {
      rec.status = 'success';
      rec.error = null;
    } else {
      rec.status = status === 'success' ? 'no_metrics' : status;
      rec.error = agentError ?? str(r, 'error', 'error_message') ?? null;
      // Modal put a server-log tail after "Logs:" in the error text.
      if (rec.error && rec.error.includes('\n')) rec.serverLog = rec.error;
    }
    const version = str(r, `${role}_version`);
    if (version && version.includes('\n')) rec.notes.push(`${role}_version holds log text, not a version`);
    records.push(rec);
  }
  return records;
}

function readRerun(file: string, o: Json): LegacyRecord[] {
  const task = compact({
    commit: str(o, 'commit_full', 'commit_short') ?? '',
    commitFull: str(o, 'commit_full'),
    parent: str(o, 'parent_hash'),
    model: str(o, 'model'),
    perfCommand: str(o, 'test_command'),
    mode: str(o, 'benchmark_type'),
  });
  return ROLES.flatMap((role) => {
    const r = o[role];
    if (!isObj(r)) return [];
    const rec = baseRecord('rerun', file, role, task, r, isObj(r.metrics) ? r.metrics : {});
    rec.timestamp ??= str(o, 'timestamp') ?? null;
    rec.model = str(o, 'model') ?? null;
    rec.modeLabel = str(o, 'benchmark_type') ?? null;
    rec.command = (role === 'baseline' ? str(o, 'baseline_command') : str(o, 'test_command')) ?? null;
    if (o.is_asymmetric === true) rec.notes.push('asymmetric rerun: baseline and human/agent ran different commands');
    return [rec];
  });
}

/**
 * Text that is almost JSON: the docker pipeline wrote `"key": ,` for a missing number and appended a traceback.
 * Returns the object with the hole as null, and the offending line, or null when it cannot be salvaged.
 */
export function salvageJson(text: string): { value: Json; evidence: string } | null {
  const end = text.indexOf('}');
  if (end < 0) return null;
  const head = text.slice(0, end + 1);
  const hole = /"[^"]+":\s*,/.exec(head);
  try {
    const value: unknown = JSON.parse(head.replace(/:\s*,/g, ': null,'));
    if (!isObj(value)) return null;
    return { value, evidence: hole ? hole[0] : head.slice(0, 200) };
  } catch {
    return null;
  }
}
