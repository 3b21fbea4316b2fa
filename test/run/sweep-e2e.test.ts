import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatResults, sweepCurves } from '../../src/cli/reporters/index.js';
import { buildDatasetRows, buildTaskTrials } from '../../src/dataset/index.js';
import { buildReport } from '../../src/report/index.js';
import { createEngine } from '../../src/engine/index.js';
import { planRun, runBenchmarks, summarizeResults, summarizeTasks, type RunEvent } from '../../src/run/index.js';
import { settings, task, tempDir, withStore } from './helpers.js';

const BENCH = 'vllm bench serve --model sim/tiny --dataset-name random --random-input-len 32 --random-output-len 4 --num-prompts 6 --seed 1';

function simEngine() {
  return createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, startup_delay_ms: 20 } });
}

describe('run: a task whose perf command is a sweep', () => {
  it('vllm bench sweep serve: one configuration per point, every variant interleaved at each point on one workload, a verdict per point, curves, one dataset row per point', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'bench.json'), JSON.stringify([{ max_concurrency: 1 }, { max_concurrency: 3 }, { max_concurrency: 6 }]));
    const t = task('a', {
      perf_command: `vllm bench sweep serve --serve-cmd 'vllm serve sim/tiny' --bench-cmd '${BENCH}' --bench-params bench.json --num-runs 3 -o results`,
      sim: { human: { prefill_speed: 2 } },
    });
    const s = settings({ variants: ['baseline', 'human'], datasetDir: dir });
    const plans = planRun([t], [], s);
    expect(plans.map((p) => p.sweep?.label)).toEqual(['max_concurrency=1', 'max_concurrency=3', 'max_concurrency=6']);
    expect(plans.every((p) => p.preFailure === null)).toBe(true);
    expect(new Set(plans.map((p) => p.configKey)).size).toBe(3);
    expect(plans.map((p) => p.workload?.maxConcurrency)).toEqual([1, 3, 6]);

    await withStore(async (store) => {
      const events: RunEvent[] = [];
      const engine = simEngine();
      const summary = await runBenchmarks({ plans, engine, store, settings: s, config: {}, onEvent: (e) => events.push(e) });
      await engine.cleanup();
      expect(summary.status).toBe('finished');
      expect(events.filter((e) => e.type === 'task_start').map((e) => (e.type === 'task_start' ? e.sweepPoint : null))).toEqual([
        'sweep point 1/3: max_concurrency=1',
        'sweep point 2/3: max_concurrency=3',
        'sweep point 3/3: max_concurrency=6',
      ]);

      const trials = await store.listTrials({ taskCommit: t.commit });
      // 3 points x 2 variants x 2 rounds, each stored under its point's configuration.
      expect(trials).toHaveLength(12);
      expect(trials.every((x) => x.status === 'ok')).toBe(true);
      for (const p of plans) {
        const mine = trials.filter((x) => x.trialKey.includes(`#${p.configKey}#`));
        expect(mine).toHaveLength(4);
        // Both variants in every round of the point.
        expect(mine.filter((x) => x.trialIndex === 1).map((x) => x.variantId.split(':')[1]).sort()).toEqual(['baseline', 'human']);
        for (const x of mine) expect(x.command).toMatch(new RegExp(`concurrency ${p.workload?.maxConcurrency ?? 0}, .*; sweep point ${p.sweep?.index ?? 0}/3: max_concurrency=${p.workload?.maxConcurrency ?? 0}$`));
        for (const x of mine) expect(x.command).toMatch(/^vllm bench sweep serve --serve-cmd 'vllm serve sim\/tiny' --bench-cmd 'vllm bench serve .* --max-concurrency \d'/);
      }
      // The same prompts at every point and for every variant: only the load differs.
      expect(new Set(trials.map((x) => x.workloadHash)).size).toBe(1);

      const rows = await summarizeResults(store, plans);
      expect(rows.map((r) => `${r.sweep?.index ?? '-'} ${r.label}`)).toEqual(['1 baseline', '1 human', '2 baseline', '2 human', '3 baseline', '3 human']);
      for (const r of rows.filter((x) => x.label === 'human')) {
        expect(r.vsBaseline?.n).toBe(2);
        expect(r.curve?.output_throughput).toBeGreaterThan(0);
        expect(r.curve?.ttft_p99).toBeGreaterThan(0);
      }
      const curves = sweepCurves(rows);
      expect(curves).toHaveLength(1);
      expect(curves[0]?.variants.map((v) => `${v.label}:${v.points.map((p) => p.index).join(',')}`)).toEqual(['baseline:1,2,3', 'human:1,2,3']);
      const tasks = await summarizeTasks(store, plans, s);
      expect(tasks.map((x) => x.sweepPoint)).toEqual(['1/3: max_concurrency=1', '2/3: max_concurrency=3', '3/3: max_concurrency=6']);
      const text = formatResults(rows, tasks);
      expect(text).toContain('aaaaaaaa @2/3');
      expect(text).toContain('aaaaaaaa sweep, 3 points: latency (ms) vs output throughput per point');
      expect(text).toMatch(/3\/3: max_concurrency=6\S* +human +2\/2 +\d/);

      const dataset = await buildDatasetRows(store, { includeRaw: false });
      expect(dataset.map((r) => r.sweep_point)).toEqual(['1/3: max_concurrency=1', '2/3: max_concurrency=3', '3/3: max_concurrency=6']);
      expect(new Set(dataset.map((r) => r.config_key)).size).toBe(3);
      expect(dataset.every((r) => r.primary_metric === plans[0]?.primary.metric)).toBe(true);
      // The report draws the curves over the points and a trials section per point.
      const report = await buildReport(dataset, { generatedAt: 'now' }, await buildTaskTrials(store));
      expect(report.model.sweeps[0]?.curves.map((c) => `${c.variant}:${c.points.map((p) => p.index).join(',')}`)).toEqual(['baseline:1,2,3', 'human:1,2,3']);
      expect(report.model.details?.map((d) => d.sweepPoint)).toEqual(['1/3: max_concurrency=1', '2/3: max_concurrency=3', '3/3: max_concurrency=6']);
      expect(report.markdown).toContain('## Load sweeps: latency vs throughput');

      // Resuming measures nothing again.
      const again = await runBenchmarks({ plans: planRun([t], [], s), engine: simEngine(), store, settings: s, config: {} });
      expect(again.outcomes.every((o) => o.status === 'skipped')).toBe(true);
    });
  }, 120_000);

  it('several --max-concurrency values on a serving command are points; a sweep isobench cannot run is a recorded failure with the reason', async () => {
    const s = settings({ variants: ['baseline', 'human'], trials: 1 });
    const list = planRun([task('b', { perf_command: `${BENCH} --max-concurrency 1 4` })], [], s);
    expect(list.map((p) => [p.sweep?.label, p.workload?.maxConcurrency])).toEqual([
      ['max_concurrency=1', 1],
      ['max_concurrency=4', 4],
    ]);
    const refused = planRun(
      [
        task('c', { perf_command: `vllm bench sweep serve_sla --serve-cmd 'vllm serve sim/tiny' --bench-cmd '${BENCH}' --sla-params sla.json` }),
        task('d', { perf_command: `vllm bench sweep serve --serve-cmd 'vllm serve sim/tiny' --bench-cmd '${BENCH}' --bench-params missing.json` }),
        task('e', { perf_command: `vllm bench sweep serve --serve-cmd 'vllm serve sim/tiny' --bench-cmd '${BENCH}' --after-bench-cmd 'true'` }),
      ],
      [],
      s,
    );
    expect(refused.map((p) => p.preFailure?.code)).toEqual(['unsupported_mode', 'dataset_missing', 'unsupported_flag']);
    expect(refused[0]?.preFailure?.evidence).toMatch(/^the perf command asks for a sweep isobench cannot run as asked: vllm bench sweep serve_sla/);
    await withStore(async (store) => {
      const engine = simEngine();
      await runBenchmarks({ plans: refused, engine, store, settings: s, config: {} });
      await engine.cleanup();
      const stored = await store.listTrials({});
      expect(stored).toHaveLength(6);
      expect(stored.filter((x) => x.taskCommit.startsWith('e')).map((x) => x.failure?.code)).toEqual(['unsupported_flag', 'unsupported_flag']);
      expect(stored.find((x) => x.taskCommit.startsWith('e'))?.failure?.evidence).toMatch(/--after-bench-cmd: isobench starts a fresh server/);
    });
  }, 60_000);
});
