import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { renderCard, type CardOptions } from './card.js';
import { DATASET_FILES, writeDataFiles } from './io.js';
import type { DatasetRow } from './schema.js';

export interface WrittenDataset {
  dir: string;
  /** Paths relative to `dir`. */
  files: string[];
  rows: number;
  columns: number;
}

/**
 * Writes `data/train-00000-of-00001.parquet`, `data/train.jsonl` and the card `README.md` under `outDir`; with
 * `extensions: 'all'` every extension column is written even when no row has it (see columnsOf).
 */
export async function writeDataset(rows: readonly DatasetRow[], outDir: string, card: CardOptions = {}, extensions: 'present' | 'all' = 'present'): Promise<WrittenDataset> {
  await mkdir(outDir, { recursive: true });
  const columns = await writeDataFiles(rows, outDir, extensions);
  await writeFile(path.join(outDir, DATASET_FILES.card), renderCard(rows, columns, card));
  return { dir: outDir, files: [DATASET_FILES.parquet, DATASET_FILES.jsonl, DATASET_FILES.card], rows: rows.length, columns: columns.length };
}
