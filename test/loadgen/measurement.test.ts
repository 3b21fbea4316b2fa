import { describe, expect, it } from 'vitest';
import { Prng, mean, measure, percentiles, planArrivals, shownMetrics, std, vllmStatisticFields, type LoadgenSample } from '../../src/loadgen/index.js';
import { tpotMs } from '../../src/loadgen/measurement.js';

const OPTS = { metricPercentiles: [50, 90, 99], goodput: null };
const SHOWN = { percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el'] as const, maxConcurrency: null, requestRate: Infinity };

function rec(partial: Partial<LoadgenSample> & { index: number }): LoadgenSample {
  return { ok: true, promptTokens: 10, startMs: 0, queueMs: 0, ttftMs: 0, itlMs: [], e2elMs: 0, outputTokens: 1, text: '', error: null, ...partial };
}

describe('statistics', () => {
  it('percentiles interpolate linearly between closest ranks, as numpy', () => {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 99, 100]) = [1, 1.75, 2.5, 3.7, 3.97, 4]
    const got = percentiles([4, 1, 3, 2], [0, 25, 50, 90, 99, 100]);
    [1, 1.75, 2.5, 3.7, 3.97, 4].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 12));
    expect(percentiles([], [99])).toEqual([0]);
    expect(percentiles([7], [1, 99])).toEqual([7, 7]);
  });

  it('std is the population standard deviation (ddof=0)', () => {
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(mean([])).toBe(0);
  });
});

describe('metric definitions on hand-computed timings', () => {
  // Request 0: sent at 0, chunks at 100, 120, 150, 190 ms, 4 tokens by usage.
  // Request 1: sent at 50, chunks at 250, 260 ms (relative 200, 210), 5 tokens by usage (two tokens in a chunk).
  // Request 2: one token only: TPOT undefined. Request 3: failed.
  const records: LoadgenSample[] = [
    rec({ index: 0, startMs: 0, ttftMs: 100, itlMs: [20, 30, 40], e2elMs: 190, outputTokens: 4 }),
    rec({ index: 1, startMs: 50, ttftMs: 200, itlMs: [10], e2elMs: 210, outputTokens: 5 }),
    rec({ index: 2, startMs: 60, ttftMs: 30, itlMs: [], e2elMs: 30, outputTokens: 1 }),
    rec({ index: 3, ok: false, startMs: 70, ttftMs: null, e2elMs: null, outputTokens: 0, error: 'HTTP 500: boom' }),
  ];

  it('TPOT = (E2EL - TTFT) / (out - 1), only when out > 1', () => {
    expect(tpotMs(records[0]!)).toBeCloseTo(30, 12);
    expect(tpotMs(records[1]!)).toBeCloseTo(2.5, 12);
    expect(tpotMs(records[2]!)).toBeNull();
    expect(tpotMs(records[3]!)).toBeNull();
  });

  it('computes vLLM statistics over successful requests only', () => {
    const { totals: t, metrics: m } = measure(records, 2, OPTS);
    expect(t.completed).toBe(3);
    expect(t.failed).toBe(1);
    expect(t.inputTokens).toBe(30);
    expect(t.outputTokens).toBe(10);
    expect(t.requestThroughput).toBe(1.5);
    expect(t.outputThroughput).toBe(5);
    expect(t.totalTokenThroughput).toBe(20);
    expect(m.ttft.mean).toBeCloseTo(110, 12);
    expect(m.ttft.median).toBe(100);
    expect(m.tpot.mean).toBeCloseTo(16.25, 12);
    expect(m.itl.mean).toBeCloseTo(25, 12); // [20, 30, 40, 10]
    expect(m.itl.percentiles.get(50)).toBeCloseTo(25, 12);
    expect(m.itl.percentiles.get(99)).toBeCloseTo(39.7, 12);
    expect(m.e2el.mean).toBeCloseTo((190 + 210 + 30) / 3, 12);
    expect(m.ttft.std).toBeCloseTo(std([100, 200, 30]), 12);
    expect(t.peakConcurrentRequests).toBe(3);
    expect(t.requestGoodput).toBeNull();
    expect(m.client_queue_time.mean).toBe(0);
    // vLLM's JSON shows the queue time only with --max-concurrency; the measurement has it always.
    expect(vllmStatisticFields(measure(records, 2, OPTS), shownMetrics(SHOWN)).mean_client_queue_time_ms).toBeUndefined();
  });

  it('goodput counts requests meeting every SLO (TPOT of one-token requests counts as 0)', () => {
    const m = measure(records, 2, { ...OPTS, goodput: { ttft: 150, tpot: 40 } });
    expect(m.totals.requestGoodput).toBe(1); // requests 0 and 2 meet both SLOs: 2 / 2 s
    expect(Object.keys(vllmStatisticFields(m, shownMetrics({ ...SHOWN, percentileMetrics: ['ttft'] }))).some((k) => k.includes('tpot'))).toBe(false);
  });

  it('reports client queue time only with a concurrency limit', () => {
    const m = measure(records, 2, OPTS);
    expect(vllmStatisticFields(m, shownMetrics({ ...SHOWN, percentileMetrics: ['client_queue_time'], maxConcurrency: 2 })).mean_client_queue_time_ms).toBe(0);
    expect(shownMetrics({ ...SHOWN, percentileMetrics: ['client_queue_time', 'e2el_including_client_queue'] })).toEqual([]);
  });
});

describe('arrival schedules', () => {
  const base = { requestRate: Infinity, burstiness: 1, rampUp: null, seed: 0 };

  it('inf sends everything at time 0', () => {
    expect(planArrivals(5, base).offsetsMs).toEqual([0, 0, 0, 0, 0]);
  });

  it('a fixed Poisson rate is seeded, increasing, and ends at n / rate', () => {
    const a = planArrivals(200, { ...base, requestRate: 50 });
    const b = planArrivals(200, { ...base, requestRate: 50 });
    const c = planArrivals(200, { ...base, requestRate: 50, seed: 1 });
    expect(a.offsetsMs).toEqual(b.offsetsMs);
    expect(a.offsetsMs).not.toEqual(c.offsetsMs);
    expect(a.offsetsMs[199]).toBeCloseTo(4000, 6);
    for (let i = 1; i < 200; i++) expect(a.offsetsMs[i]!).toBeGreaterThanOrEqual(a.offsetsMs[i - 1]!);
  });

  it('burstiness shapes the gaps: gamma(k) gaps have a coefficient of variation near 1/sqrt(k)', () => {
    const cv = (k: number): number => {
      const o = planArrivals(4000, { ...base, requestRate: 100, burstiness: k }).offsetsMs;
      const gaps = o.map((x, i) => x - (o[i - 1] ?? 0));
      return std(gaps) / mean(gaps);
    };
    expect(cv(1)).toBeGreaterThan(0.9);
    expect(cv(1)).toBeLessThan(1.1);
    expect(cv(0.25)).toBeGreaterThan(1.7);
    expect(cv(4)).toBeLessThan(0.6);
    const uniform = planArrivals(4, { ...base, requestRate: 10, burstiness: Infinity }).offsetsMs;
    uniform.forEach((x, i) => expect(x).toBeCloseTo((i + 1) * 100, 9));
  });

  it('ramp-up moves the rate from start to end over the requests', () => {
    const lin = planArrivals(11, { ...base, rampUp: { strategy: 'linear', startRps: 1, endRps: 11 } });
    expect(lin.rates).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const exp = planArrivals(3, { ...base, rampUp: { strategy: 'exponential', startRps: 1, endRps: 100 } });
    exp.rates.forEach((r, i) => expect(r).toBeCloseTo([1, 10, 100][i]!, 9));
  });
});

describe('Prng', () => {
  it('gives the same numbers for the same seed on every machine', () => {
    const p = new Prng(42);
    // Fixed values: a change here changes every workload and must be deliberate.
    expect([p.nextU32(), p.nextU32(), p.nextU32()]).toEqual([3704290710, 166753127, 957952423]);
    const q = new Prng(42);
    const r = new Prng(43);
    expect(q.nextU32()).not.toBe(r.nextU32());
    const ints = Array.from({ length: 1000 }, () => q.int(3, 5));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5]));
  });
});
