import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_MAX_N, bootstrapCi, mean, median, normalQuantile, percentile, seededRandom, summarize } from '../../src/analysis/index.js';

describe('descriptive statistics (hand-computed)', () => {
  it('mean and median', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('percentile interpolates linearly like numpy', () => {
    // numpy.percentile([1,2,3,4], 25) = 1.75; ([10..50], 90) = 46
    expect(percentile([4, 3, 2, 1], 25)).toBeCloseTo(1.75, 12);
    expect(percentile([10, 20, 30, 40, 50], 90)).toBeCloseTo(46, 12);
    expect(percentile([10, 20, 30, 40, 50], 0)).toBe(10);
    expect(percentile([10, 20, 30, 40, 50], 100)).toBe(50);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('drops non-finite values and gives NaN for empty input', () => {
    expect(mean([1, Number.NaN, 3, Number.POSITIVE_INFINITY])).toBe(2);
    expect(mean([])).toBeNaN();
    expect(median([Number.NaN])).toBeNaN();
  });
});

describe('seeded bootstrap', () => {
  it('the PRNG is deterministic per seed and within [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('CI of constant values is the value; two values give the full range', () => {
    expect(bootstrapCi([5, 5, 5], mean)).toEqual([5, 5]);
    // Resampled means of [0, 10] are 0 (p=1/4), 5 (1/2), 10 (1/4): the 2.5% and 97.5% points are the extremes.
    expect(bootstrapCi([0, 10], mean, { seed: 7 })).toEqual([0, 10]);
    expect(bootstrapCi([3], mean)).toBeNull();
  });

  it('summarize gives n, mean, median and a reproducible CI of the mean around it', () => {
    const values = [10, 12, 11, 13, 30];
    const s = summarize(values, { seed: 3 });
    expect(s).toMatchObject({ status: 'ok', n: 5, mean: 15.2, median: 12 });
    if (s.status !== 'ok' || s.ciLow === null || s.ciHigh === null) throw new Error('expected a CI');
    expect(s.ciLow).toBeLessThan(15.2);
    expect(s.ciHigh).toBeGreaterThan(15.2);
    expect(s.ciLow).toBeGreaterThanOrEqual(10);
    expect(s.ciHigh).toBeLessThanOrEqual(30);
    expect(summarize(values, { seed: 3 })).toEqual(s);
    expect(summarize([4], {})).toEqual({ status: 'ok', n: 1, mean: 4, median: 4, ciLow: null, ciHigh: null });
    expect(summarize([])).toEqual({ status: 'empty', n: 0 });
  });
});

describe('large samples', () => {
  it('normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.005)).toBeCloseTo(-2.575829, 6);
  });

  it('summarize uses mean ± z·sd/√n above BOOTSTRAP_MAX_N values', () => {
    // Alternating 0 and 2: mean 1, sample sd = sqrt(n/(n-1)), so the half-width is 1.96 * sd / sqrt(n).
    const n = BOOTSTRAP_MAX_N + 2;
    const xs = Array.from({ length: n }, (_, i) => (i % 2) * 2);
    const half = normalQuantile(0.975) * Math.sqrt(n / (n - 1) / n);
    const s = summarize(xs);
    expect(s).toMatchObject({ status: 'ok', n, mean: 1, median: 1 });
    if (s.status !== 'ok') throw new Error('expected ok');
    expect(s.ciLow).toBeCloseTo(1 - half, 10);
    expect(s.ciHigh).toBeCloseTo(1 + half, 10);
  });
});
