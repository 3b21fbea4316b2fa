import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const corpusDir = path.resolve(repoRoot, '../shared/corpus/iso-bench');
/** The claude_code folder of the original project (`CC/` in the corpus INDEX.md). */
export const ccDir = path.join(corpusDir, 'archive/results/2026-01/omniperf_results_3way_claude_code');
export const publishedParquet = path.join(ccDir, 'hf_export/updated_dataset.parquet');
export const publishedCsv = path.join(ccDir, 'hf_export/updated_dataset.csv');
