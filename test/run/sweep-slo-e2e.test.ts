import { describe, expect, it } from 'vitest';
import { buildDatasetRows, buildTaskTrials } from '../../src/dataset/index.js';
import { createEngine } from '../../src/engine/index.js';
import { buildReport } from '../../src/report/index.js';
import { renderSvg, sweepChart } from '../../src/report/charts.js';
import { formatResults, sweepCurves } from '../../src/cli/reporters/index.js';
import { planRun, runBenchmarks, summarizeResults } from '../../src/run/index.js';
import { settings, task, withStore } from './helpers.js';

/**
 * 6 prompts of 8 output tokens; the sim runs at most 2 sequences at once with 60 ms decode steps. At concurrency 1
 * and 2 no request waits for a slot (TTFT one or two steps, 60-120 ms); at 6, four requests wait for a free slot
 * (8 steps, about 500 ms), so at most 2 of 6 (33%) meet a 300 ms TTFT SLO: the last point misses it by far.
 */
const BENCH = 'vllm bench serve --model sim/tiny --dataset-name random --random-input-len 32 --random-output-len 8 --num-prompts 6 --seed 1 --ignore-eos';

describe('run: a sweep task with --goodput', () => {
  it('the dataset carries the SLO and each variant\'s attainment per point; the report marks the highest point meeting it', async () => {
    const t = task('f', { perf_command: `${BENCH} --max-concurrency 1 2 6 --goodput ttft:300 e2el:100000` });
    const s = settings({ variants: ['baseline', 'human'], trials: 2 });
    const plans = planRun([t], [], s);
    expect(plans.map((p) => [p.sweep?.label, p.preFailure])).toEqual([
      ['max_concurrency=1', null],
      ['max_concurrency=2', null],
      ['max_concurrency=6', null],
    ]);
    await withStore(async (store) => {
      const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 60, decode_per_seq_ms: 0, max_num_seqs: 2, startup_delay_ms: 20 } });
      const summary = await runBenchmarks({ plans, engine, store, settings: s, config: {} });
      await engine.cleanup();
      expect(summary.status).toBe('finished');

      // run's results: the same attainment per point and variant, and the table marks the max point meeting the SLO.
      const results = await summarizeResults(store, plans);
      expect(results.map((r) => `${r.sweep?.index} ${r.label} ${r.slo?.text} ${r.slo?.met}`)).toEqual([
        '1 baseline ttft:300 e2el:100000 true',
        '1 human ttft:300 e2el:100000 true',
        '2 baseline ttft:300 e2el:100000 true',
        '2 human ttft:300 e2el:100000 true',
        '3 baseline ttft:300 e2el:100000 false',
        '3 human ttft:300 e2el:100000 false',
      ]);
      const curves = sweepCurves(results);
      expect(curves[0]?.slo).toBe('ttft:300 e2el:100000');
      expect(curves[0]?.variants.map((v) => v.maxMeetingSlo)).toEqual([2, 2]);
      const text = formatResults(results, []);
      expect(text).toContain("SLO ttft:300 e2el:100000 (ms): meet SLO = requests meeting every SLO (vLLM's per-request goodput test), a point meets it at >= 90%");
      expect(text).toMatch(/2\/3: max_concurrency=2 \((knee, )?max meeting SLO\) +human +2\/2 +[\d.]+( +[\d.]+){4} +100\.0%/);
      expect(text).toMatch(/3\/3: max_concurrency=6 +baseline +2\/2 +[\d.]+( +[\d.]+){4} +(\d|1\d|2\d|3[0-3])\.\d%/);

      const rows = await buildDatasetRows(store, { includeRaw: false });
      expect(rows.map((r) => r.sweep_point)).toEqual(['1/3: max_concurrency=1', '2/3: max_concurrency=2', '3/3: max_concurrency=6']);
      expect(rows.map((r) => r.slo)).toEqual(['ttft:300 e2el:100000', 'ttft:300 e2el:100000', 'ttft:300 e2el:100000']);
      for (const v of ['baseline', 'human']) {
        expect(rows.map((r) => r[`${v}_slo_met`])).toEqual([true, true, false]);
        expect(rows.map((r) => r[`${v}_slo_attainment`])).toEqual([1, 1, expect.any(Number)]);
        expect(rows[2]?.[`${v}_slo_attainment`]).toBeLessThanOrEqual(2 / 6);
        // vLLM's goodput: good requests per second of benchmark duration (all 12 requests of the 2 trials are good).
        const trials = (await store.listTrials({ taskCommit: t.commit })).filter((x) => x.configKey === plans[1]?.configKey && x.variantId.endsWith(`:${v}`));
        const seconds = trials.reduce((sum, x) => sum + (x.metrics.duration ?? 0), 0);
        expect(rows[1]?.[`${v}_goodput`]).toBeCloseTo(12 / seconds, 9);
        // The dataset and run's results say the same.
        for (const [i, r] of rows.entries()) expect(results.find((x) => x.label === v && x.sweep?.index === i + 1)?.slo?.fraction).toBe(r[`${v}_slo_attainment`]);
      }
      expect(rows.every((r) => r.agent_slo_attainment === null && r.agent_slo_met === null)).toBe(true);

      const report = await buildReport(rows, { generatedAt: 'now' }, await buildTaskTrials(store));
      const sweep = report.model.sweeps[0]!;
      expect(sweep.slo).toBe('ttft:300 e2el:100000');
      for (const c of sweep.curves) expect(c.points[c.maxMeetingSlo ?? -1]?.point).toBe('2/3: max_concurrency=2');
      expect(report.markdown).toContain('SLO ttft:300 e2el:100000 (ms). baseline: 3 points, knee ');
      expect(report.markdown).toMatch(/baseline: 3 points, knee [^;]*, max meeting SLO 2\/3: max_concurrency=2 \([\d.]+ tok\/s, goodput [\d.]+ req\/s\)/);
      expect(report.markdown).toMatch(/\| human \| 2\/3: max_concurrency=2 \((knee, )?max meeting SLO\) \|/);
      expect(report.markdown).toMatch(/\| human \| 3\/3: max_concurrency=6[^|]*\|( [^|]+ \|){5} \d+\.\d% \| [^|]+ \| no \|/);
      const svg = await renderSvg(sweepChart(sweep));
      // One square and one "SLO" label per variant per panel (4 panels x 2 variants).
      expect(svg.match(/>SLO</g)).toHaveLength(8);
    });
  }, 120_000);

  it('a bad --goodput is refused at plan time with the reason', () => {
    const [p] = planRun([task('e', { perf_command: `${BENCH} --goodput ttft:fast` })], [], settings({ variants: ['baseline'], trials: 1 }));
    expect(p?.preFailure?.code).toBe('unsupported_flag');
    expect(p?.preFailure?.evidence).toMatch(/--goodput: ttft \(milliseconds\) must be a number >= 0 in decimal digits, got "fast"/);
  });
});
