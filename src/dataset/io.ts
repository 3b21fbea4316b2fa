import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { IsobenchError, errorMessage } from '../core/index.js';
import { ALL_COLUMNS, V5_COLUMNS, columnSpec, type CellValue, type ColumnSpec, type DatasetRow } from './schema.js';

/** Where `writeDataset` puts each file, relative to the output directory. */
export const DATASET_FILES = {
  parquet: 'data/train-00000-of-00001.parquet',
  jsonl: 'data/train.jsonl',
  card: 'README.md',
} as const;

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const sqlIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/**
 * The columns a set of rows is written with: every v5 column, then the extension columns any row has (`all`: every
 * extension column, as `dataset build` writes them, so a build from an empty store still has the whole schema).
 */
export function columnsOf(rows: readonly DatasetRow[], extensions: 'present' | 'all' = 'present'): ColumnSpec[] {
  if (extensions === 'all') return [...ALL_COLUMNS];
  const present = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) present.add(k);
  return ALL_COLUMNS.filter((c, i) => i < V5_COLUMNS.length || present.has(c.name));
}

/** One JSON line per row with the columns in schema order (absent cells written as null). */
export function toJsonl(rows: readonly DatasetRow[], columns: readonly ColumnSpec[]): string {
  const lines = rows.map((r) => {
    const o: Record<string, CellValue> = {};
    for (const c of columns) o[c.name] = r[c.name] ?? null;
    return JSON.stringify(o);
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Writes the JSONL copy and the Parquet file (exact v5 types through DuckDB); returns the columns written. */
export async function writeDataFiles(rows: readonly DatasetRow[], outDir: string, extensions: 'present' | 'all' = 'present'): Promise<ColumnSpec[]> {
  const columns = columnsOf(rows, extensions);
  const jsonlPath = path.join(outDir, DATASET_FILES.jsonl);
  const parquetPath = path.join(outDir, DATASET_FILES.parquet);
  await mkdir(path.dirname(parquetPath), { recursive: true });
  await writeFile(jsonlPath, toJsonl(rows, columns));
  await rm(parquetPath, { force: true });
  const typeMap = `{${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}`;
  const select = columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ');
  const source =
    rows.length === 0
      ? `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')} LIMIT 0`
      : `SELECT ${select} FROM read_json(${sqlString(jsonlPath)}, format = 'newline_delimited', columns = ${typeMap}, maximum_object_size = 1073741824)`;
  await withDuck(async (run) => {
    await run(`COPY (${source}) TO ${sqlString(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`);
  });
  return columns;
}

type RunSql = (sql: string) => Promise<Record<string, unknown>[]>;

/** Runs `fn` with a throw-away in-memory DuckDB; closes it whatever happens. */
export async function withDuck<T>(fn: (run: RunSql) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson());
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Reads a dataset in this schema from `.parquet`, `.csv` or `.jsonl`/`.json` into rows typed by the schema. */
export async function readDataset(file: string): Promise<DatasetRow[]> {
  const ext = path.extname(file).toLowerCase();
  try {
    if (ext === '.parquet') return await readParquet(file);
    if (ext === '.csv') return await readCsv(file);
    if (ext === '.jsonl') return parseJsonl(await readFile(file, 'utf8'), file);
    if (ext === '.json') return parseJsonArray(await readFile(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof IsobenchError) throw err;
    throw new IsobenchError('E_INPUT', `cannot read dataset ${file}: ${errorMessage(err)}`, { cause: err });
  }
  throw new IsobenchError('E_INPUT', `cannot read dataset ${file}: unknown extension "${ext}"`, {
    hint: 'give a .parquet, .csv or .jsonl file',
  });
}

async function readParquet(file: string): Promise<DatasetRow[]> {
  const raw = await withDuck((run) => run(`SELECT * FROM read_parquet(${sqlString(file)})`));
  return raw.map((r) => normalizeRow(r, parseParquetCell));
}

async function readCsv(file: string): Promise<DatasetRow[]> {
  const raw = await withDuck((run) => run(`SELECT * FROM read_csv(${sqlString(file)}, all_varchar = true, header = true)`));
  return raw.map((r) => normalizeRow(r, parseTextCell));
}

function parseJsonl(text: string, file: string): DatasetRow[] {
  const rows: DatasetRow[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = parsePythonJson(line);
    } catch (err) {
      throw new IsobenchError('E_INPUT', `${file}:${i + 1}: not valid JSON: ${errorMessage(err)}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new IsobenchError('E_INPUT', `${file}:${i + 1}: a row must be a JSON object`);
    }
    rows.push(normalizeRow(value as Record<string, unknown>, parseParquetCell));
  });
  return rows;
}

/** JSON as Python's json module writes it: bare `NaN`/`Infinity` values are read as null (a missing number). */
function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const fixed = text.replace(/:\s*-?(?:NaN|Infinity)\b/g, ': null');
    if (fixed === text) throw err;
    return JSON.parse(fixed);
  }
}

/** A `.json` file: an array of row objects (as the original's `hf_*records.json`), or JSON lines. */
function parseJsonArray(text: string, file: string): DatasetRow[] {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('[')) return parseJsonl(text, file);
  let value: unknown;
  try {
    value = parsePythonJson(trimmed);
  } catch (err) {
    throw new IsobenchError('E_INPUT', `${file}: not valid JSON: ${errorMessage(err)}`);
  }
  const rows = value as unknown[];
  return rows.map((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new IsobenchError('E_INPUT', `${file}: element ${i} is not a row object`);
    return normalizeRow(r as Record<string, unknown>, parseParquetCell);
  });
}

type CellParser = (value: unknown, spec: ColumnSpec) => CellValue;

/** Keeps every column of the input; known columns are coerced to their schema type, missing v5 columns are null. */
function normalizeRow(raw: Record<string, unknown>, parse: CellParser): DatasetRow {
  const row: DatasetRow = {};
  for (const c of V5_COLUMNS) row[c.name] = null;
  for (const [k, v] of Object.entries(raw)) {
    const spec = columnSpec(k);
    row[k] = spec ? parse(v, spec) : parseParquetCell(v, { name: k, type: 'VARCHAR' });
  }
  return row;
}

function parseParquetCell(value: unknown, spec: ColumnSpec): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && spec.type !== 'VARCHAR') return parseTextCell(value, spec);
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Text cells (CSV) as pandas wrote them: empty = null, `True`/`False`, Python list literals. */
function parseTextCell(value: unknown, spec: ColumnSpec): CellValue {
  if (value === null || value === undefined) return null;
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  switch (spec.type) {
    case 'VARCHAR':
      return s === '' ? null : s;
    case 'DOUBLE':
    case 'INTEGER': {
      if (s.trim() === '') return null;
      const n = Number(s);
      return Number.isNaN(n) && s.toLowerCase() !== 'nan' ? null : n;
    }
    case 'BOOLEAN':
      return /^(true|1)$/i.test(s) ? true : /^(false|0)$/i.test(s) ? false : null;
    case 'VARCHAR[]':
      return s === '' ? null : parseListLiteral(s);
  }
}

/** A JSON array or a Python list literal of strings. */
export function parseListLiteral(s: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g;
  for (const m of s.matchAll(re)) out.push((m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
  return out;
}
