import { describe, expect, it } from 'vitest';
import {
  byRound,
  compare,
  holmAdjust,
  MIN_PAIRED_ROUNDS,
  seededRandom,
  studentTCdf,
  studentTQuantile,
  tallyVerdicts,
  verdictFromCi,
  type Comparison,
} from '../../src/analysis/index.js';

describe('verdict rules', () => {
  it('from a CI and a ±2% tie band', () => {
    expect(verdictFromCi(2.5, 5)).toBe('better');
    expect(verdictFromCi(-5, -2.1)).toBe('worse');
    expect(verdictFromCi(-2, 2)).toBe('tie');
    expect(verdictFromCi(1, 3)).toBe('inconclusive');
    expect(verdictFromCi(-10, 10)).toBe('inconclusive');
    expect(verdictFromCi(1, 3, 5)).toBe('tie');
  });
});

describe("Student's t", () => {
  it('quantiles match the tables (R qt)', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706205, 5);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.302653, 5);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776445, 5);
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.262157, 5);
    expect(studentTQuantile(0.995, 29)).toBeCloseTo(2.756386, 5);
    expect(studentTQuantile(0.025, 9)).toBeCloseTo(-2.262157, 5);
  });
  it('the CDF inverts the quantile', () => {
    for (const df of [1, 3, 7, 30]) for (const p of [0.01, 0.2, 0.9, 0.999]) expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 9);
  });
});

describe('compare: paired by round (hand-computed cases)', () => {
  it('latency: lower is better; constant ratios give a zero-width interval', () => {
    const c = compare('ttft_mean', [100, 200], [90, 180]);
    expect(c).toMatchObject({ status: 'ok', n: 2, verdict: 'better', basis: 'ci' });
    if (c.status !== 'ok') return;
    expect(c.improvementPct).toBeCloseTo(10, 10);
    expect(c.ciLow).toBeCloseTo(10, 10);
    expect(c.ciHigh).toBeCloseTo(10, 10);
    expect(c.refValue).toBeCloseTo(Math.sqrt(100 * 200), 10);
  });

  it('the interval is Student t on the log-ratios', () => {
    // log-ratios ln 1.1 / ln 0.9 / ln 1.0 (throughput, higher is better)
    const c = compare('throughput', [100, 100, 100], [110, 90, 100]);
    if (c.status !== 'ok') throw new Error('not ok');
    const d = [Math.log(1.1), Math.log(0.9), 0];
    const m = (d[0]! + d[1]! + d[2]!) / 3;
    const sd = Math.sqrt(d.reduce((a, v) => a + (v - m) ** 2, 0) / 2);
    const half = 4.302653 * (sd / Math.sqrt(3));
    expect(c.improvementPct).toBeCloseTo(Math.expm1(m) * 100, 8);
    expect(c.ciLow).toBeCloseTo(Math.expm1(m - half) * 100, 4);
    expect(c.ciHigh).toBeCloseTo(Math.expm1(m + half) * 100, 4);
    expect(c.verdict).toBe('inconclusive');
  });

  it('pairs only rounds where both sides have a value', () => {
    const c = compare('ttft_mean', [100, undefined, 100, 100], [95, 50, undefined, 96]);
    expect(c).toMatchObject({ status: 'ok', nRef: 3, nX: 3, n: 2 });
  });

  it(`below ${MIN_PAIRED_ROUNDS} paired rounds: insufficient, no interval, no better/worse`, () => {
    const c = compare('throughput', [100], [130]);
    expect(c).toMatchObject({ status: 'ok', n: 1, ciLow: null, ciHigh: null, pValue: null, verdict: 'insufficient', basis: 'single_trial' });
    expect(compare('latency_avg', [100, 101, 99], [60])).toMatchObject({ n: 1, verdict: 'insufficient' });
  });

  it('says why it cannot compare', () => {
    expect(compare('ttft_mean', [], [1])).toMatchObject({ status: 'not_comparable', reason: 'missing_ref' });
    expect(compare('ttft_mean', [1], [Number.NaN])).toMatchObject({ status: 'not_comparable', reason: 'missing_x' });
    expect(compare('ttft_mean', [0], [1])).toMatchObject({ status: 'not_comparable', reason: 'zero_ref' });
    expect(compare('ttft_mean', [1, undefined], [undefined, 1])).toMatchObject({ status: 'not_comparable', reason: 'unpaired' });
    expect(compare('duration', [1], [1])).toMatchObject({ status: 'not_comparable', reason: 'metric_not_judged' });
    expect(() => compare('ttft_mean', [1], [1], { tieThreshold: -1 })).toThrow(RangeError);
  });

  it('byRound lays values out by round number', () => {
    expect(byRound([{ round: 3, value: 7 }, { round: 1, value: 5 }, { round: 1, value: 9 }])).toEqual([undefined, 5, undefined, 7]);
  });

  it('tallies verdicts', () => {
    const t = tallyVerdicts([compare('throughput', [100], [110]), compare('throughput', [100, 100], [100, 100]), compare('throughput', [], [1])]);
    expect(t).toEqual({ better: 0, worse: 0, tie: 1, inconclusive: 0, insufficient: 1, notComparable: 1 });
  });
});

/** Standard normal draws (Box-Muller) from a seeded uniform generator. */
function normals(seed: number): () => number {
  const u = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

describe('coverage on synthetic data with known variance (seeded)', () => {
  // Per round: a shared drift (cancels in the ratio), a server level per trial (sd 3% on each side), a true effect.
  const trueRatio = 0.93; // x takes 93% of ref's time: +7% better on a latency metric
  const truth = (1 - trueRatio) * 100;
  for (const n of [3, 5, 10]) {
    it(`the 95% interval covers the true improvement 95% ± 2% of the time at n = ${n}`, () => {
      const z = normals(1000 + n);
      const reps = 4000;
      let covered = 0;
      for (let r = 0; r < reps; r++) {
        const ref: number[] = [];
        const x: number[] = [];
        for (let i = 0; i < n; i++) {
          const drift = 100 * Math.exp(0.1 * z());
          ref.push(drift * Math.exp(0.03 * z()));
          x.push(drift * trueRatio * Math.exp(0.03 * z()));
        }
        const c = compare('ttft_mean', ref, x);
        if (c.status === 'ok' && c.ciLow !== null && c.ciHigh !== null && c.ciLow <= truth && truth <= c.ciHigh) covered++;
      }
      expect(covered / reps).toBeGreaterThanOrEqual(0.93);
      expect(covered / reps).toBeLessThanOrEqual(0.97);
    });
  }
});

describe('Holm over secondary metrics', () => {
  it('keeps the smallest p and drops better/worse once a step fails', () => {
    const ok = (metric: string, p: number, verdict: 'better' | 'worse'): Comparison => ({
      status: 'ok', metric, nRef: 5, nX: 5, n: 5, refValue: 1, xValue: 1, improvementPct: 5, ciLow: 3, ciHigh: 7, level: 0.95, pValue: p, sdLog: 0.01, verdict, basis: 'ci',
    });
    const out = holmAdjust([ok('a', 0.04, 'better'), ok('b', 0.001, 'worse'), ok('c', 0.03, 'better')]);
    // m = 3: 0.001 < 0.05/3 kept; 0.03 >= 0.05/2 fails, so it and 0.04 (< 0.05 alone) become inconclusive.
    expect(out.map((c) => (c.status === 'ok' ? c.verdict : ''))).toEqual(['inconclusive', 'worse', 'inconclusive']);
    expect(out.every((c) => c.status === 'ok' && c.adjustment === 'holm')).toBe(true);
  });
});
