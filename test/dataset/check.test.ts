import { describe, expect, it } from 'vitest';
import { checkDataset, emptyRow, readDataset, type DatasetRow } from '../../src/dataset/index.js';
import { publishedParquet } from './helpers.js';

describe('dataset check on the published ISO-Bench dataset', () => {
  it('reports the problems that are really there, with counts', async () => {
    const report = checkDataset(await readDataset(publishedParquet));
    const counts = Object.fromEntries(report.findings.map((f) => [f.code, f.count]));
    expect(report.rows).toBe(361);
    expect(report.checkableImprovementCells).toBe(497);
    expect(counts).toEqual({
      agent_label_variants: 4,
      data_source_not_provenance: 3,
      data_source_mixed_meaning: 266,
      improvement_mismatch: 21,
      improvement_without_metric: 4,
      improvement_missing: 1264,
      metric_wrong_mode: 4,
      benchmark_mode_missing: 35,
      throughput_units_mixed: 6,
      short_commit_hash: 3,
      missing_baseline: 174,
    });
  });

  it('the 21 formula mismatches are all throughput: 19 human, 1 agent, 1 agent_vs_human', async () => {
    const rows = await readDataset(publishedParquet);
    // Examples are capped; re-check every cell by running the lint on one row at a time.
    const cells = rows.flatMap((r) => checkDataset([r]).findings.filter((f) => f.code === 'improvement_mismatch').flatMap((f) => f.examples));
    expect(cells).toHaveLength(21);
    const byColumn = Object.fromEntries(['human_improvement_throughput', 'agent_improvement_throughput', 'agent_vs_human_throughput'].map((c) => [c, cells.filter((e) => e.column === c).length]));
    expect(byColumn).toEqual({ human_improvement_throughput: 19, agent_improvement_throughput: 1, agent_vs_human_throughput: 1 });
    const commits = new Set(cells.map((e) => e.commit!.slice(0, 8)));
    expect([...commits].sort()).toEqual(['6ce01f30', '99abb8b6', '9badee53', 'ca7a2d5f', 'e206b543', 'e7b20426']);
    expect(cells.find((e) => e.commit!.startsWith('9badee53'))!.detail).toMatch(/stores -11\.494, formula gives -67\.661/);
  });
});

describe('dataset check on small made-up rows', () => {
  const row = (over: Partial<DatasetRow>): DatasetRow => ({ ...emptyRow(), commit_hash: 'a'.repeat(40), agent_name: 'x', agent_model: 'm', benchmark_mode: 'serving', data_source: 'isobench', ...over });

  it('finds duplicates and accepts a clean row', () => {
    const clean = row({ baseline_ttft_mean: 100, agent_ttft_mean: 80, agent_improvement_ttft_mean: 20 });
    expect(checkDataset([clean]).findings).toEqual([]);
    const dup = checkDataset([clean, { ...clean }]).findings;
    expect(dup.map((f) => f.code)).toEqual(['duplicate_row']);
  });

  it('uses human as the reference of agent_vs_human and the throughput direction', () => {
    const r = row({ benchmark_mode: 'standalone', baseline_throughput: 100, human_throughput: 110, agent_throughput: 121, human_improvement_throughput: 10, agent_improvement_throughput: 21, agent_vs_human_throughput: 10 });
    expect(checkDataset([r]).findings).toEqual([]);
    const wrong = checkDataset([{ ...r, agent_vs_human_throughput: 21 }]).findings;
    expect(wrong.map((f) => f.code)).toEqual(['improvement_mismatch']);
  });
});

describe('dataset check on the original JSON record files', () => {
  it('reads JSON arrays (with Python NaN) and lints them', async () => {
    const { ccDir } = await import('./helpers.js');
    const update = await readDataset(`${ccDir}/hf_update_records.json`);
    expect(update).toHaveLength(11);
    const counts = Object.fromEntries(checkDataset(update).findings.map((f) => [f.code, f.count]));
    expect(counts).toMatchObject({ improvement_mismatch: 2, short_commit_hash: 1 });
    expect(await readDataset(`${ccDir}/reruns/4_fixable/hf_upload_ready.json`)).toHaveLength(3);
  });
});
