import { dirname, resolve } from 'node:path';
import { IsobenchError } from '../core/index.js';

/** The catalog formats isobench reads. */
export type CatalogFormat = 'isobench' | 'benchmark_mode_mapping' | 'matched_commits';

/** A task as found in a source, before validation, with what the import changed. */
export interface ImportedTask {
  id: string;
  input: unknown;
  notes: string[];
}

export interface ImportResult {
  format: CatalogFormat;
  tasks: ImportedTask[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** Which format a parsed catalog document is in; `undefined` when none fits. */
export function detectCatalogFormat(data: unknown): CatalogFormat | undefined {
  if (isObj(data) && Array.isArray(data.tasks)) return 'isobench';
  if (Array.isArray(data) && data.length > 0 && data.every((x) => isObj(x) && 'human_full' in x)) return 'matched_commits';
  if (isObj(data)) {
    const values = Object.values(data);
    if (values.length > 0 && values.every((x) => isObj(x) && 'commit_full' in x)) return 'benchmark_mode_mapping';
  }
  return undefined;
}

/** Converts a parsed catalog document (any supported format) into task inputs for validation. */
export function importCatalog(data: unknown, path = 'catalog'): ImportResult {
  const format = detectCatalogFormat(data);
  switch (format) {
    case 'isobench':
      return { format, tasks: fromOurs(data as Obj, path) };
    case 'benchmark_mode_mapping':
      return { format, tasks: Object.entries(data as Obj).map(([key, value]) => fromModeMapping(key, value as Obj)) };
    case 'matched_commits':
      return { format, tasks: (data as Obj[]).map(fromMatchedCommit) };
    default:
      throw new IsobenchError('E_INPUT', `${path}: not a task catalog`, {
        hint: 'expected { version: 1, tasks: [...] } (see docs/tasks.md), ISO-Bench benchmark_mode_mapping.json or matched_commits_for_benchmark.json',
      });
  }
}

function fromOurs(data: Obj, path: string): ImportedTask[] {
  if (data.version !== 1) {
    throw new IsobenchError('E_INPUT', `${path}: version: expected 1, got ${JSON.stringify(data.version) ?? 'nothing'}`, { hint: 'add `version: 1` at the top of the catalog' });
  }
  const extra = Object.keys(data).filter((k) => k !== 'version' && k !== 'tasks' && k !== 'dataset_dir');
  if (extra.length > 0) throw new IsobenchError('E_INPUT', `${path}: unknown top-level key(s) ${extra.join(', ')} (only version, dataset_dir and tasks)`);
  if (data.dataset_dir !== undefined && (typeof data.dataset_dir !== 'string' || data.dataset_dir === '')) {
    throw new IsobenchError('E_INPUT', `${path}: dataset_dir: expected the path of a folder, got ${JSON.stringify(data.dataset_dir)}`);
  }
  const shared = data.dataset_dir;
  return (data.tasks as unknown[]).map((input, i) => {
    const commit = isObj(input) ? str(input.commit) : undefined;
    const id = commit && /^[0-9a-f]{40}$/.test(commit) ? commit.slice(0, 8) : `#${i + 1}${commit ? ` (${commit.slice(0, 12)})` : ''}`;
    return { id, input: withDatasetDir(input, shared, path), notes: [] };
  });
}

/** The task's dataset_dir (its own, else the catalog's) and source_repo, relative to the catalog file's folder. */
function withDatasetDir(input: unknown, shared: string | undefined, catalogPath: string): unknown {
  if (!isObj(input)) return input;
  const repo = typeof input.source_repo === 'string' && input.source_repo !== '' ? { source_repo: resolve(dirname(catalogPath), input.source_repo) } : {};
  const dir = typeof input.dataset_dir === 'string' && input.dataset_dir !== '' ? input.dataset_dir : shared;
  if (dir === undefined) return { ...input, ...repo };
  return { ...input, ...repo, dataset_dir: resolve(dirname(catalogPath), dir) };
}

/** Model fields hold "unknown" or null when the source had no model: that is no model, not a model named unknown. */
function models(value: unknown, notes: string[]): string[] {
  const model = str(value);
  if (model === undefined || model === 'unknown') {
    notes.push(`model ${JSON.stringify(value)} in the source: no model recorded`);
    return [];
  }
  return [model];
}

function setIf(out: Obj, key: string, value: unknown): void {
  if (value !== undefined) out[key] = value;
}

function fromModeMapping(key: string, value: Obj): ImportedTask {
  const notes: string[] = [];
  const input: Obj = { commit: value.commit_full, parent: value.parent_commit, commit_short: key, models: models(value.model, notes) };
  setIf(input, 'perf_command', str(value.perf_command));
  setIf(input, 'benchmark_mode', str(value.benchmark_mode));
  if (str(value.perf_command) === undefined) notes.push('perf_command is null in the source');
  if (str(value.benchmark_mode) === undefined) notes.push('benchmark_mode is null in the source');
  return { id: key, input, notes };
}

function fromMatchedCommit(value: Obj): ImportedTask {
  const notes: string[] = [];
  const id = str(value.human_short) ?? str(value.human_full)?.slice(0, 8) ?? '?';
  const input: Obj = { commit: value.human_full, parent: value.parent_short, models: models(value.model, notes) };
  setIf(input, 'commit_short', str(value.human_short));
  setIf(input, 'perf_command', str(value.perf_command));
  const type = str(value.benchmark_type);
  // "unknown" is the source saying it did not know, not a mode label to check against the command.
  if (type !== undefined && type !== 'unknown') input.benchmark_mode = type;
  else notes.push(`benchmark_type ${JSON.stringify(value.benchmark_type)} in the source: no mode label`);
  return { id, input, notes };
}
