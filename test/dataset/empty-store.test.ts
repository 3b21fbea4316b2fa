import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureCli } from '../cli-capture.js';
import { ALL_COLUMNS, DATASET_FILES } from '../../src/dataset/index.js';
import { withDuck } from '../../src/dataset/io.js';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('dataset build from an empty store', () => {
  it('writes every column of the schema with extensions (none of the rows that would bring them exist)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-empty-'));
    try {
      const { code, out } = await captureCli(['dataset', 'build', '--store', path.join(dir, 's.sqlite'), '--out', path.join(dir, 'ds')]);
      expect(code).toBe(0);
      expect(out).toContain(`wrote 0 rows x ${ALL_COLUMNS.length} columns`);
      const parquet = path.join(dir, 'ds', DATASET_FILES.parquet);
      const columns = await withDuck((run) => run(`DESCRIBE SELECT * FROM read_parquet('${parquet}')`));
      expect(columns.map((c) => c.column_name)).toEqual(ALL_COLUMNS.map((c) => c.name));
      expect(columns.map((c) => c.column_type)).toEqual(ALL_COLUMNS.map((c) => c.type));
      expect(readFileSync(path.join(dir, 'ds', 'README.md'), 'utf8')).toContain('primary_metric');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
