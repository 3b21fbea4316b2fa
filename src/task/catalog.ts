import { readFile, writeFile } from 'node:fs/promises';
import YAML from 'yaml';
import { errorMessage, IsobenchError } from '../core/index.js';
import { importCatalog, type CatalogFormat } from './import.js';
import { TaskSchema, type Task } from './schema.js';

/** One task of a catalog file after validation: valid, or invalid with messages naming the field. */
export type TaskEntry =
  | { status: 'ok'; id: string; task: Task; notes: string[] }
  | { status: 'invalid'; id: string; errors: string[]; notes: string[]; input: unknown };

/** A catalog file read: its detected format and every task, valid or not. */
export interface CatalogRead {
  path: string;
  format: CatalogFormat;
  entries: TaskEntry[];
}

/** Parses catalog text as JSON or YAML; the error names the file and the line. */
export function parseCatalogText(text: string, path: string): unknown {
  if (text.trim() === '') throw new IsobenchError('E_INPUT', `${path}: the file is empty`, { hint: 'a catalog is { version: 1, tasks: [...] } in JSON or YAML; see docs/tasks.md' });
  if (text.includes('\u0000')) throw new IsobenchError('E_INPUT', `${path}: the file is binary, not JSON or YAML`);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new IsobenchError('E_INPUT', `${path}: not valid JSON: ${errorMessage(err)}`);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) throw new IsobenchError('E_INPUT', `${path}: not valid YAML: ${first.message.split('\n')[0] ?? ''}`);
  return doc.toJS() as unknown;
}

/** Validates imported task inputs one by one, so one bad task does not hide the others. */
export function validateTasks(inputs: readonly { id: string; input: unknown; notes: string[] }[]): TaskEntry[] {
  return inputs.map(({ id, input, notes }) => {
    const result = TaskSchema.safeParse(input);
    if (result.success) return { status: 'ok', id, task: result.data, notes };
    const errors = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(task)'}: ${issue.message}${gotValue(input, issue.path)}`);
    return { status: 'invalid', id, errors, notes, input };
  });
}

/** `, got "9f1710f1"`: the offending value, so the message says what to fix without opening the file. */
function gotValue(input: unknown, path: readonly PropertyKey[]): string {
  let value: unknown = input;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  if (value === undefined || typeof value === 'object') return '';
  const text = JSON.stringify(value);
  return `, got ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

/** Reads a catalog file in any supported format (ours, benchmark_mode_mapping.json, matched_commits_for_benchmark.json). */
export async function readCatalog(path: string): Promise<CatalogRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new IsobenchError('E_INPUT', `cannot read catalog ${path}: ${errorMessage(err)}`);
  }
  const imported = importCatalog(parseCatalogText(text, path), path);
  return { path, format: imported.format, entries: validateTasks(imported.tasks) };
}

/** Loads every task of a catalog file; any invalid task is an E_TASK_INVALID error naming the task and field. */
export async function loadCatalog(path: string): Promise<Task[]> {
  const read = await readCatalog(path);
  const bad = read.entries.filter((e) => e.status === 'invalid');
  if (bad.length > 0) {
    const lines = bad.flatMap((e) => e.errors.map((msg) => `task ${e.id}: ${msg}`));
    throw new IsobenchError('E_TASK_INVALID', `${path}: ${bad.length} invalid task(s)\n${lines.join('\n')}`, { hint: 'run `isobench tasks check` on the file for every problem' });
  }
  return read.entries.flatMap((e) => (e.status === 'ok' ? [e.task] : []));
}

/** Writes tasks in our catalog format; `.json` → JSON, anything else → YAML. */
export async function writeCatalog(tasks: readonly Task[], path: string): Promise<void> {
  const catalog = { version: 1 as const, tasks };
  const text = path.endsWith('.json') ? `${JSON.stringify(catalog, null, 2)}\n` : YAML.stringify(catalog, { lineWidth: 0 });
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new IsobenchError('E_INPUT', `cannot write ${path}: ${errorMessage(err)}`);
  }
}
