import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.js';
import { aaVariantId } from '../../src/core/index.js';
import { planRun, runBenchmarks, summarizeResults, summarizeTasks, type RunEvent } from '../../src/run/index.js';
import { memAgent, pyPatch, settings, task, withStore } from './helpers.js';
import type { TrialRecord } from '../../src/store/index.js';
import { buildDatasetRows } from '../../src/dataset/index.js';

const KIND_RANK: Record<string, number> = { baseline: 0, human: 1, agent: 2 };

/** Trials sorted baseline, human, agents (by id), then by round: the run order inside a round is random. */
function inVariantOrder(trials: TrialRecord[]): TrialRecord[] {
  const kind = (t: TrialRecord) => KIND_RANK[t.variantId.split(':')[1] ?? ''] ?? 3;
  return [...trials].sort((a, b) => kind(a) - kind(b) || a.variantId.localeCompare(b.variantId) || a.trialIndex - b.trialIndex);
}

function simEngine() {
  return createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, startup_delay_ms: 20 } });
}

describe('runBenchmarks on the sim engine', () => {
  it('runs every variant interleaved, records failures with codes and evidence, and resumes without double counting', async () => {
    await withStore(async (store) => {
      const tasks = [
        task('a', { sim: { human: { prefill_speed: 2 }, good: { decode_step: 0.8 }, wrong: { wrong_output: true } } }),
        task('b', { perf_command: undefined }),
      ];
      const agents = [memAgent('good', pyPatch('2')), memAgent('wrong', pyPatch('3')), memAgent('empty', '')];
      const plans = planRun(tasks, agents, settings());
      const events: RunEvent[] = [];
      const engine = simEngine();
      const summary = await runBenchmarks({ plans, engine, store, settings: settings(), config: {}, onEvent: (e) => events.push(e) });
      await engine.cleanup();
      expect(summary.status).toBe('finished');

      const stored = await store.listTrials({ taskCommit: 'a'.repeat(40) });
      // Round by round, every variant once per round, in the recorded (seeded) order: the stored position is the
      // order in which the trials of the round ran.
      expect(stored.map((t) => t.trialIndex)).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
      expect(stored.map((t) => t.position)).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
      expect(new Set(stored.map((t) => t.orderSeed)).size).toBe(1);
      const label = (t: { variantId: string }) => t.variantId.split(':').slice(1, 3).join(':');
      for (const round of [1, 2]) {
        expect(stored.filter((t) => t.trialIndex === round).map(label).sort()).toEqual(['agent:empty', 'agent:good', 'agent:wrong', 'baseline', 'human']);
      }
      expect(stored.map((t) => t.trialKey)).toEqual(plans[0]?.trials.map((t) => t.key));
      const trials = inVariantOrder(stored);
      const byLabel = (l: string) => trials.filter((t) => t.variantId.includes(`:${l}`));
      for (const t of [...byLabel('baseline'), ...byLabel('human'), ...byLabel('agent:good')]) {
        expect(t.status, JSON.stringify(t.failure)).toBe('ok');
        expect(t.metrics.ttft_mean).toBeGreaterThan(0);
        expect(t.correctness?.agreement).toBe(1);
      }
      // The identical workload for every measured variant.
      const hashes = new Set(trials.filter((t) => t.workloadHash !== null).map((t) => t.workloadHash));
      expect(hashes.size).toBe(1);
      expect(byLabel('agent:wrong').map((t) => t.failure?.code)).toEqual(['correctness_mismatch', 'correctness_mismatch']);
      expect(byLabel('agent:wrong')[0]?.correctness?.agreement).toBeLessThan(0.5);
      expect(byLabel('agent:empty').map((t) => t.failure?.code)).toEqual(['patch_empty', 'patch_empty']);
      expect(byLabel('agent:empty')[0]?.failure?.evidence).not.toBe('');

      const ok = byLabel('human')[0];
      expect((await store.getSamples(ok?.id ?? '')).length).toBe(4);
      const logs = await store.getLogs(ok?.id ?? '');
      expect(logs.map((l) => l.kind).sort()).toEqual(['bench', 'probe', 'server']);

      const invalid = await store.listTrials({ taskCommit: 'b'.repeat(40) });
      expect(invalid).toHaveLength(10);
      expect(new Set(invalid.map((t) => t.failure?.code))).toEqual(new Set(['task_invalid']));

      const phases = events.filter((e) => e.type === 'trial_phase').map((e) => e.phase);
      expect(phases).toEqual(expect.arrayContaining(['start', 'ready', 'probe', 'warmup', 'measure', 'stop']));
      expect(events.some((e) => e.type === 'trial_requests' && e.done === e.total)).toBe(true);

      // Re-running the same plan measures nothing again.
      const again = await runBenchmarks({ plans, engine: simEngine(), store, settings: settings(), config: {} });
      expect(again.outcomes.every((o) => o.status === 'skipped')).toBe(true);
      expect(await store.countTrials({})).toBe(20);

      const rows = await summarizeResults(store, plans);
      const human = rows.find((r) => r.label === 'human' && r.taskCommit === 'a'.repeat(40));
      expect(human?.ok).toBe(2);
      expect(human?.vsBaseline).not.toBeNull();
    });
  }, 60_000);

  it('records a crash at start with the classified code and the OOM fallback as a deviation on every trial', async () => {
    await withStore(async (store) => {
      const tasks = [
        task('c', { sim: { human: { oom_above_max_model_len: 4096 } } }),
        task('d', { sim: { human: { crash_at_start: 'ModuleNotFoundError: No module named vllm._C' } } }),
      ];
      const engine = simEngine();
      const plans = planRun(tasks, [], settings({ trials: 1 }));
      await runBenchmarks({ plans, engine, store, settings: settings({ trials: 1 }), config: {} });
      await engine.cleanup();
      const c = inVariantOrder(await store.listTrials({ taskCommit: 'c'.repeat(40) }));
      expect(c.map((t) => t.status)).toEqual(['ok', 'ok']);
      for (const t of c) expect(t.deviations).toContain('max_model_len=2048 (oom fallback for every variant of the task)');
      const d = inVariantOrder(await store.listTrials({ taskCommit: 'd'.repeat(40) }));
      expect(d[0]?.status).toBe('ok');
      expect(d[1]?.failure?.code).toBe('dependency_error');
      expect(d[1]?.failure?.evidence).toContain('No module named');
      expect(d[1]?.deviations).toEqual([]);
    });
  }, 60_000);

  it('runs standalone modes through the engine script and records unknown modes as unsupported', async () => {
    await withStore(async (store) => {
      const tasks = [
        task('1', { perf_command: 'python benchmarks/benchmark_latency.py --model sim/tiny --input-len 32 --output-len 8 --batch-size 2 --num-iters 2 --num-iters-warmup 1', sim: { human: { standalone_time: 0.5 } } }),
        task('2', { perf_command: 'python some_script.py --foo 1' }),
      ];
      const engine = simEngine();
      const plans = planRun(tasks, [], settings({ trials: 1 }));
      await runBenchmarks({ plans, engine, store, settings: settings({ trials: 1 }), config: {} });
      await engine.cleanup();
      const lat = inVariantOrder(await store.listTrials({ taskCommit: '1'.repeat(40) }));
      expect(lat.map((t) => t.status)).toEqual(['ok', 'ok']);
      expect(lat[0]?.mode).toBe('latency');
      expect(lat[1]?.metrics.latency_avg ?? 0).toBeLessThan(lat[0]?.metrics.latency_avg ?? 0);
      const unk = await store.listTrials({ taskCommit: '2'.repeat(40) });
      expect(unk.map((t) => t.failure?.code)).toEqual(['unsupported_mode', 'unsupported_mode']);
    });
  }, 60_000);

  it('records requests_failed when every request fails and bench_timeout when the run outlives --timeout-trial', async () => {
    await withStore(async (store) => {
      const s = settings({ trials: 1, variants: ['baseline'], oomFallbackMaxModelLen: 0, timeoutTrialS: 2 });
      // max_model_len 33 holds every probe prompt with its 16 tokens (at most 16 + 16) but no request of the workload (32 + 4).
      for (const [commit, profile] of [['3', { max_model_len: 33 }], ['4', { stall_after_chunks: 1 }]] as const) {
        const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, ...profile } });
        await runBenchmarks({ plans: planRun([task(commit)], [], s), engine, store, settings: s, config: {} });
        await engine.cleanup();
      }
      const [failedAll] = await store.listTrials({ taskCommit: '3'.repeat(40) });
      expect(failedAll?.failure?.code).toBe('requests_failed');
      expect(failedAll?.failure?.evidence).toMatch(/all \d+ requests failed/);
      const [stalled] = await store.listTrials({ taskCommit: '4'.repeat(40) });
      expect(stalled?.failure?.code).toBe('bench_timeout');
    });
  }, 60_000);

  it('fails a trial whose server died mid-run (server_crashed) or whose requests partly failed (requests_failed), keeping the partial samples', async () => {
    await withStore(async (store) => {
      const s = settings({ trials: 1, variants: ['baseline'], oomFallbackMaxModelLen: 0 });
      // 4 probe requests, 1 warm-up, then 4 measured at concurrency 2: the 8th generation request kills the server
      // (every connection cut) while one measured stream is in flight; every 7th request gets HTTP 500.
      for (const [commit, profile] of [['5', { die_after_requests: 7 }], ['6', { error_every: 7 }]] as const) {
        const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, ...profile } });
        await runBenchmarks({ plans: planRun([task(commit)], [], s), engine, store, settings: s, config: {} });
        await engine.cleanup();
      }
      const [died] = await store.listTrials({ taskCommit: '5'.repeat(40) });
      expect(died?.status).toBe('failed');
      expect(died?.failure?.code).toBe('server_crashed');
      expect(died?.failure?.evidence).toContain('Engine core proc EngineCore_0 died unexpectedly');
      expect(died?.metrics).toEqual({});
      const diedSamples = await store.getSamples(died?.id ?? '');
      expect(diedSamples).toHaveLength(4);
      expect(diedSamples.filter((x) => x.ok).length).toBeGreaterThan(0);
      expect(diedSamples.filter((x) => !x.ok).length).toBeGreaterThan(0);
      const [partial] = await store.listTrials({ taskCommit: '6'.repeat(40) });
      expect(partial?.status).toBe('failed');
      expect(partial?.failure?.code).toBe('requests_failed');
      expect(partial?.failure?.evidence).toMatch(/^1 of 4 requests failed \(3 finished\); first error: .*HTTP 500/);
      const partialSamples = await store.getSamples(partial?.id ?? '');
      expect(partialSamples.map((x) => x.ok).sort()).toEqual([false, true, true, true]);
      const rows = await summarizeResults(store, planRun([task('6')], [], s));
      expect(rows[0]).toMatchObject({ ok: 0, failed: 1, value: null, failures: [{ code: 'requests_failed', count: 1 }] });
    });
  }, 60_000);

  it('stops at once when cancelled: the run is marked cancelled and the trial in flight is not recorded', async () => {
    await withStore(async (store) => {
      const ac = new AbortController();
      const engine = simEngine();
      const plans = planRun([task('f')], [], settings({ trials: 3 }));
      const summary = await runBenchmarks({
        plans,
        engine,
        store,
        settings: settings({ trials: 3 }),
        config: {},
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type === 'trial_end') ac.abort();
        },
      });
      await engine.cleanup();
      expect(summary.status).toBe('cancelled');
      expect(await store.countTrials({})).toBe(1);
      expect((await store.listRuns())[0]?.status).toBe('cancelled');
    });
  }, 60_000);

  it('--aa adds baseline′ to every round; its spread against the baseline is the noise floor every output states', async () => {
    await withStore(async (store) => {
      const s = settings({ trials: 3, aa: true, variants: ['baseline', 'human'], oomFallbackMaxModelLen: 0 });
      const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, start_level_sd: 0.2 } });
      const plans = planRun([task('7', { sim: { human: { prefill_speed: 2 } } })], [], s);
      expect(plans[0]?.variants.map((v) => v.label)).toEqual(['baseline', 'baseline′', 'human']);
      await runBenchmarks({ plans, engine, store, settings: s, config: {} });
      await engine.cleanup();
      const trials = await store.listTrials({ taskCommit: '7'.repeat(40) });
      const aa = trials.filter((t) => t.variantId === aaVariantId('7'.repeat(40)));
      expect(aa.map((t) => [t.trialIndex, t.status])).toEqual([[1, 'ok'], [2, 'ok'], [3, 'ok']]);
      // baseline′ is checked against the baseline's probe like any variant.
      expect(aa.every((t) => t.correctness?.agreement === 1)).toBe(true);
      const [summary] = await summarizeTasks(store, plans, s, 2);
      expect(summary?.noiseFloor).toMatchObject({ n: 3 });
      // A 20% level sd per start: a ±2% tie cannot be shown at n = 3, and every output says so.
      expect(summary?.noiseFloor?.message).toMatch(/^cannot show a tie at ±2% with this noise \(A\/A interval half-width \d+\.\d% at n=3\); smallest detectable effect \d+\.\d%$/);
      const rows = await summarizeResults(store, plans);
      expect(rows.find((r) => r.label === 'baseline′')?.vsBaseline?.n).toBe(3);
      // The dataset carries the same noise floor, computed from the stored baseline′ trials by the same function.
      const [row] = await buildDatasetRows(store, { includeRaw: false });
      const f = summary?.noiseFloor;
      expect(row).toMatchObject({ primary_metric: 'ttft_mean', aa_primary_n: 3, tie_resolvable: false, noise_floor_message: f?.message });
      expect(row?.aa_primary).toBeCloseTo(f?.aaImprovementPct ?? Number.NaN, 9);
      expect(row?.aa_half_width_pct).toBeCloseTo(f?.halfWidthPct ?? Number.NaN, 9);
      expect(row?.min_detectable_effect_pct).toBeCloseTo(f?.minDetectablePct ?? Number.NaN, 9);
      // Not a --trials auto run: no stop.
      expect(row).toMatchObject({ stop_reason: null, trials_used: null, gpu_seconds: null });
    });
  }, 60_000);

  it('--trials auto stops a task once its primary verdict is settled, says when and why, and counts GPU-seconds against the maximum', async () => {
    await withStore(async (store) => {
      const s = settings({ trials: 8, adaptive: { minTrials: 3 }, variants: ['baseline', 'human'], oomFallbackMaxModelLen: 0 });
      // Prefill slow enough (32 tokens at 250 tok/s: 128 ms) that host timer jitter is small beside the 4x effect.
      const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, prefill_tokens_per_s: 250, noise_seed: 1 } });
      // TINY_SERVING is prefill-dominated (32 input, 4 output tokens): the primary metric is ttft_mean.
      const plans = planRun([task('8', { sim: { human: { prefill_speed: 0.25 } } })], [], s);
      expect(plans[0]?.primary.metric).toBe('ttft_mean');
      const events: RunEvent[] = [];
      await runBenchmarks({ plans, engine, store, settings: s, config: {}, onEvent: (e) => events.push(e) });
      await engine.cleanup();
      const stop = events.find((e) => e.type === 'task_stop');
      expect(stop).toMatchObject({ type: 'task_stop', reason: 'settled', maxRounds: 8 });
      const rounds = stop?.type === 'task_stop' ? stop.rounds : 0;
      // At one of the looks before the maximum (3, 5, 6 of 8), whichever the machine's jitter allows.
      expect([3, 5, 6]).toContain(rounds);
      const trials = await store.listTrials({ taskCommit: '8'.repeat(40) });
      expect(trials).toHaveLength(2 * rounds);
      const [summary] = await summarizeTasks(store, plans, s);
      expect(summary?.stop).toMatchObject({ reason: 'settled', rounds });
      expect(summary?.gpuSecondsAtMax ?? 0).toBeGreaterThan(summary?.gpuSeconds ?? 0);
      // The stop is a row of the store (schema 6): round, reason, looks, error rate spent, GPU-seconds vs the maximum.
      const [row] = await store.listTaskStops('8'.repeat(40));
      expect(row).toMatchObject({ configKey: plans[0]?.configKey, reason: 'settled', rounds, maxRounds: 8, looks: summary?.stop?.looks, alphaSpent: summary?.stop?.alphaSpent, primaryMetric: 'ttft_mean' });
      expect(row?.looks).toBeGreaterThanOrEqual(1);
      expect(row?.gpuSeconds).toBeCloseTo(summary?.gpuSeconds ?? 0, 6);
      expect(row?.gpuSecondsAtMax).toBeCloseTo(summary?.gpuSecondsAtMax ?? 0, 6);
      const rowsOf = await buildDatasetRows(store, { includeRaw: false });
      expect(rowsOf[0]).toMatchObject({ trials_used: rounds, trials_max: 8, stop_reason: 'settled' });
      const human = (await summarizeResults(store, plans, s)).find((r) => r.label === 'human');
      expect(human?.vsBaseline?.verdict).toBe('worse');
      // At the stop: the estimate of the deciding look with its stage-wise 95% interval (src/analysis stopEstimate).
      expect(human?.vsBaseline).toMatchObject({ interval: 'stagewise', n: rounds });
      expect(human?.vsBaseline?.ciHigh ?? 0).toBeLessThan(-2);
      // The dataset row carries the same comparison at the stop (the stop row keeps --min-trials: schema 9).
      expect(row?.minRounds).toBe(3);
      expect(rowsOf[0]).toMatchObject({
        human_improvement_primary: human?.vsBaseline?.improvementPct,
        human_improvement_primary_ci_low: human?.vsBaseline?.ciLow,
        human_improvement_primary_ci_high: human?.vsBaseline?.ciHigh,
        human_improvement_verdict: 'worse',
      });
      // Resuming the same plan runs nothing more: the stored rounds already settle it.
      const again = await runBenchmarks({ plans, engine: createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1 } }), store, settings: s, config: {} });
      expect(again.outcomes.filter((o) => o.status !== 'skipped')).toHaveLength(0);
    });
  }, 60_000);
});
