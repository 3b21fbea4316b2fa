import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXTENSION_COLUMNS, V5_COLUMNS, emptyRow, readDataset, writeDataset, type DatasetRow } from '../../src/dataset/index.js';
import { withDuck } from '../../src/dataset/io.js';
import { publishedCsv, publishedParquet } from './helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('v5 schema', () => {
  it('has exactly the 76 published column names, order and types', async () => {
    const described = await withDuck((run) => run(`DESCRIBE SELECT * FROM read_parquet('${publishedParquet}')`));
    const published = described.map((r) => [r.column_name, r.column_type]);
    expect(published).toHaveLength(76);
    expect(V5_COLUMNS.map((c) => [c.name, c.type])).toEqual(published);
  });

  it('extension column names are unique and do not reuse v5 names', () => {
    const names = [...V5_COLUMNS, ...EXTENSION_COLUMNS].map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('readDataset', () => {
  it('reads the published parquet and csv to the same rows', async () => {
    const [pq, csv] = await Promise.all([readDataset(publishedParquet), readDataset(publishedCsv)]);
    expect(pq).toHaveLength(361);
    expect(csv).toHaveLength(361);
    const key = (r: DatasetRow) => `${String(r.commit_hash)}|${String(r.agent_name)}|${String(r.agent_model)}|${String(r.data_source)}`;
    const byKey = new Map(csv.map((r) => [key(r), r]));
    const first = pq[0]!;
    const other = byKey.get(key(first))!;
    expect(other.files_changed).toEqual(first.files_changed);
    expect(other.baseline_ttft_mean).toBe(first.baseline_ttft_mean);
    expect(other.has_agent_patch).toBe(first.has_agent_patch);
  });

  it('rejects an unknown extension with a clear error', async () => {
    await expect(readDataset('/tmp/x.xlsx')).rejects.toThrow(/unknown extension/);
  });
});

describe('writeDataset', () => {
  it('writes parquet with the exact v5 types, a JSONL copy and a card generated from the schema', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-ds-'));
    dirs.push(dir);
    const row: DatasetRow = { ...emptyRow(), commit_hash: 'a'.repeat(40), files_changed: ['vllm/x.py'], has_agent_patch: true, baseline_ttft_mean: 12.5, agent_trials: 3 };
    const written = await writeDataset([row, emptyRow()], dir);
    expect(written.rows).toBe(2);
    const pqFile = path.join(dir, 'data/train-00000-of-00001.parquet');
    const described = await withDuck((run) => run(`DESCRIBE SELECT * FROM read_parquet('${pqFile}')`));
    expect(described.slice(0, 76).map((r) => [r.column_name, r.column_type])).toEqual(V5_COLUMNS.map((c) => [c.name, c.type]));
    expect(described[76]).toMatchObject({ column_name: 'agent_trials', column_type: 'INTEGER' });
    const back = await readDataset(pqFile);
    expect(back[0]).toMatchObject({ files_changed: ['vllm/x.py'], has_agent_patch: true, baseline_ttft_mean: 12.5, agent_trials: 3 });
    expect(await readDataset(path.join(dir, 'data/train.jsonl'))).toEqual(back);
    const card = await readFile(path.join(dir, 'README.md'), 'utf8');
    const front = parse(card.split('---\n')[1]!) as { dataset_info: { features: { name: string; dtype?: string; sequence?: string }[] } };
    expect(front.dataset_info.features).toHaveLength(77);
    expect(front.dataset_info.features[5]).toEqual({ name: 'files_changed', sequence: 'string' });
    expect(card).toContain('2 rows, 2 tasks');
  });
});
