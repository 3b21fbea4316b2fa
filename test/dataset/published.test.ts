import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDatasetRows, checkDataset, compareWithPublished, readDataset, storeMeasurements, writeDataset, type DatasetRow, type PublishedComparison } from '../../src/dataset/index.js';
import { importIsoBench } from '../../src/import/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { ccDir, publishedParquet } from './helpers.js';

let dir: string;
let store: Store;
let rows: DatasetRow[];
let cmp: PublishedComparison;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-published-'));
  store = await openStore(path.join(dir, 'store.sqlite'));
  await importIsoBench(ccDir, store);
  rows = await buildDatasetRows(store);
  const published = (await readDataset(publishedParquet)).filter((r) => String(r.agent_name).startsWith('claude'));
  cmp = compareWithPublished(published, rows, await storeMeasurements(store));
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('rebuilding the published claude_code rows from the imported corpus', () => {
  it('compares every row present in both; rows only in the published file have no parent commit', () => {
    expect(cmp.rowsCompared).toBe(91);
    // separate_baseline/9badee53_baseline_result.json names another full hash for 9badee53: its own task.
    expect(cmp.oursOnly).toEqual(['9badee53d8ec86a3a6f28b5d13f1e98f97f1b91f|claude-code']);
    expect(cmp.publishedOnly.map((k) => k.slice(0, 8)).sort()).toEqual(['3127e975', '4fb56914', '526de822', 'ac45c44d', 'baeded25']);
  });

  it('every differing cell has a reason; the counts are pinned (docs/dataset.md shows this table)', () => {
    expect(cmp.byReason.other).toBeUndefined();
    expect(cmp.cellsCompared).toBe(91 * 76);
    // 18 cells fewer than with medians: variants with 3+ records of one source now hold their geometric mean (one
    // convention per row, issue 16), which matches no single published value (counted under source_priority).
    expect(cmp.cellsEqual).toBe(5822);
    expect(cmp.byReason).toEqual({
      published_omits_measurement: 339,
      follows_metric_difference: 216,
      raw_of_chosen_trial: 92,
      published_export_date: 85,
      published_improvement_missing: 68,
      published_label_inconsistent: 66,
      not_carried: 59,
      published_omits_value: 43,
      published_mixes_sources: 25,
      provenance_granularity: 21,
      source_priority: 27,
      rerun_row_metadata: 12,
      value_not_in_corpus: 11,
      model_of_measurement: 9,
      mode_from_measurement: 8,
      published_mode_contradicts_command: 6,
      published_units_mixed: 4,
      published_short_hash: 3,
    });
  });

  it('the published formula errors are among the differences and our rows follow the formula', () => {
    const lint = checkDataset(rows);
    const codes = lint.findings.map((f) => f.code);
    expect(codes).not.toContain('improvement_mismatch');
    // improvement_missing remains where variants ran different benchmark modes (not compared on purpose).
    expect(codes).not.toContain('improvement_without_metric');
    expect(codes).not.toContain('short_commit_hash');
    expect(codes).not.toContain('agent_label_variants');
    // The published 9badee53 human_improvement_throughput (-11.49) "fails" the formula because the published
    // human_throughput (3424.18) comes from separate_agent while the improvement was computed from results/ (9371.21):
    // rebuilt from one source, the cell is equal and the throughput cell is the one explained.
    const r = rows.find((x) => x.commit_hash === '9badee53decb3d432dc805336abfb0eb81dfb48f')!;
    expect(r.human_improvement_throughput).toBeCloseTo(-11.494, 2);
    const d = cmp.differences.find((x) => x.commit.startsWith('9badee53de') && x.column === 'human_throughput')!;
    expect(d).toMatchObject({ published: 3424.18, ours: 9371.21, reason: 'published_mixes_sources' });
    expect(d.detail).toMatch(/separate_agent/);
  });

  it('never mixes sources inside one variant', () => {
    for (const r of rows) {
      for (const v of ['baseline', 'human', 'agent']) {
        if (r[`${v}_ok_trials`] === 0) expect(r[`${v}_ttft_mean`] ?? r[`${v}_throughput`] ?? r[`${v}_latency_avg`] ?? null).toBeNull();
      }
    }
    const a = rows.find((r) => String(r.commit_hash).startsWith('9f1710f1'))!;
    expect([a.baseline_data_source, a.human_data_source, a.agent_data_source]).toEqual(['docker', 'docker', 'docker']);
  });

  it('writes the built rows as a dataset that reads back identically', async () => {
    const out = path.join(dir, 'ds');
    await writeDataset(rows, out);
    const back = await readDataset(path.join(out, 'data/train-00000-of-00001.parquet'));
    expect(back).toHaveLength(rows.length);
    expect(back[0]!.commit_hash).toBe(rows[0]!.commit_hash);
  });
});
