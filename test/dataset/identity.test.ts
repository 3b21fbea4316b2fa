import { describe, expect, it } from 'vitest';
import { buildDatasetRows, checkDataset, renderCard, ALL_COLUMNS } from '../../src/dataset/index.js';
import { createEngine } from '../../src/engine/index.js';
import { formatResults } from '../../src/cli/reporters/table.js';
import { buildReport } from '../../src/report/index.js';
import { planRun, runBenchmarks, summarizeResults } from '../../src/run/index.js';
import type { Store, TrialRecord } from '../../src/store/index.js';
import { settings, task, withStore } from '../run/helpers.js';

/** Runs the sim on `t` with these settings and `config` recorded with the run, as `isobench run` does. */
async function simRun(store: Store, t: ReturnType<typeof task>, s: ReturnType<typeof settings>): Promise<void> {
  const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1 } });
  await runBenchmarks({ plans: planRun([t], [], s), engine, store, settings: s, config: { engine: 'sim', warmups: s.warmups, oomFallbackMaxModelLen: s.oomFallbackMaxModelLen } });
  await engine.cleanup();
}

describe('dataset build: one configuration per row', () => {
  it('never pools trials of two configurations (--warmups 3, then --warmups 1) and says which configuration each row is', async () => {
    await withStore(async (store) => {
      const t = task('a1');
      const many = settings({ trials: 2, warmups: 3, variants: ['baseline', 'human'] });
      const few = settings({ trials: 2, warmups: 1, variants: ['baseline', 'human'] });
      await simRun(store, t, many);
      await simRun(store, t, few);
      const rows = await buildDatasetRows(store, { includeRaw: false });
      expect(rows).toHaveLength(2);
      const keys = [planRun([t], [], many)[0]!.configKey, planRun([t], [], few)[0]!.configKey];
      expect(rows.map((r) => r.config_key)).toEqual(keys);
      for (const r of rows) {
        expect([r.baseline_trials, r.human_trials, r.baseline_ok_trials, r.human_ok_trials]).toEqual([2, 2, 2, 2]);
        expect(r.workload_hash).toMatch(/^[0-9a-f]{16,}$/);
        expect(r.agent_name).toBeNull();
      }
      expect(rows.map((r) => (JSON.parse(String(r.config)) as { warmups: number }).warmups)).toEqual([3, 1]);
      // Two rows of one task, told apart by their configuration: not duplicates.
      expect(checkDataset(rows).findings.map((f) => f.code)).not.toContain('duplicate_row');
      const card = renderCard(rows, ALL_COLUMNS);
      expect(card).toContain('## Configuration identity');
      expect(card).toContain('2 configurations');
    });
  }, 60_000);

  it('names the failure codes of a variant\'s failed trials even when others ended ok (dataset and report)', async () => {
    await withStore(async (store) => {
      const t = task('a3');
      const s = settings({ trials: 2, variants: ['baseline', 'human'] });
      await simRun(store, t, s);
      const [h] = (await store.listTrials({ taskCommit: t.commit })).filter((x) => x.variantId.endsWith(':human'));
      await store.createRun({ id: 'run-2', startedAt: '2026-01-02T00:00:00Z', finishedAt: null, status: 'running', engine: 'sim', host: 'test', config: {} });
      const failed: TrialRecord = {
        ...h!,
        id: 'failed-3',
        trialKey: h!.trialKey.replace(/#\d+$/, '#3'),
        trialIndex: 3,
        runId: 'run-2',
        status: 'failed',
        metrics: {},
        correctness: null,
        failure: { code: 'probe_unavailable', evidence: 'the correctness probe got 3 of 4 outputs; prompt 2: HTTP 500', source: 'probe' },
      };
      await store.saveTrial(failed, [], []);
      const rows = await buildDatasetRows(store, { includeRaw: false });
      expect([rows[0]?.human_trials, rows[0]?.human_ok_trials, rows[0]?.human_failure_code, rows[0]?.human_failed_trials, rows[0]?.baseline_failed_trials]).toEqual([3, 2, null, 'probe_unavailable×1', null]);
      const { model } = await buildReport(rows, { generatedAt: 'now' });
      expect(model.failures).toEqual([{ code: 'probe_unavailable', count: 1, examples: [expect.objectContaining({ evidence: '1 of 3 trials (the others ended ok)' })] }]);
    });
  }, 60_000);

  it('fails a comparison whose trials ran different workloads, with both hashes, never a verdict', async () => {
    await withStore(async (store) => {
      const t = task('a2');
      const s = settings({ trials: 2, variants: ['baseline', 'human'] });
      await simRun(store, t, s);
      // The human trials of the same configuration as stored by a resumed run whose workload came out differently.
      const trials = await store.listTrials({ taskCommit: t.commit });
      const human = trials.filter((x) => x.variantId.endsWith(':human'));
      const baseHash = trials.find((x) => x.variantId.endsWith(':baseline'))?.workloadHash ?? '';
      await store.createRun({ id: 'run-2', startedAt: '2026-01-02T00:00:00Z', finishedAt: null, status: 'running', engine: 'sim', host: 'test', config: {} });
      const other = 'f'.repeat(16);
      for (const h of human) {
        const copy: TrialRecord = { ...h, id: `${h.id}-b`, trialKey: h.trialKey.replace(/#(\d+)$/, (_, i: string) => `#${Number(i) + 2}`), trialIndex: h.trialIndex + 2, runId: 'run-2', workloadHash: other };
        await store.saveTrial(copy, [], []);
      }
      const [row] = await buildDatasetRows(store, { includeRaw: false });
      expect(row?.human_trials).toBe(4);
      expect(row?.workload_hash).toBeNull();
      expect(row?.human_improvement_verdict).toBeNull();
      expect(row?.human_improvement_primary).toBeNull();
      expect(row?.human_improvement_ttft_mean).toBeNull();
      expect(String(row?.human_improvement_comparison_failure)).toMatch(/^workload_mismatch: /);
      expect(String(row?.human_improvement_comparison_failure)).toContain(baseHash);
      expect(String(row?.human_improvement_comparison_failure)).toContain(other);
      // The lint knows why those improvements are null: not "improvement missing".
      expect(checkDataset([row!]).findings.map((f) => f.code)).not.toContain('improvement_missing');
      // run's results table: the same check, the same evidence, no verdict.
      const table = await summarizeResults(store, planRun([t], [], settings({ trials: 4, variants: ['baseline', 'human'] })));
      const humanRow = table.find((r) => r.label === 'human');
      expect(humanRow?.ok).toBe(4);
      expect(humanRow?.vsBaseline).toBeNull();
      expect(humanRow?.comparisonFailures).toEqual([{ against: 'baseline', failure: expect.objectContaining({ code: 'workload_mismatch' }) }]);
      expect(humanRow?.comparisonFailures[0]?.failure.evidence).toContain(baseHash);
      expect(humanRow?.comparisonFailures[0]?.failure.evidence).toContain(other);
      expect(formatResults(table)).toContain('workload_mismatch vs baseline');
      expect(formatResults(table)).toMatch(new RegExp(`human vs baseline: workload_mismatch: the trials ran different workloads: .*${other}`));
    });
  }, 60_000);
});
