import { describe, expect, it } from 'vitest';
import { compare, tallyVerdicts, verdictFromCi, verdictFromPoint } from '../../src/analysis/index.js';

describe('verdict rules', () => {
  it('from a CI and a ±2% tie band', () => {
    expect(verdictFromCi(2.5, 5)).toBe('better');
    expect(verdictFromCi(-5, -2.1)).toBe('worse');
    expect(verdictFromCi(-2, 2)).toBe('tie');
    expect(verdictFromCi(1, 3)).toBe('inconclusive');
    expect(verdictFromCi(-10, 10)).toBe('inconclusive');
    expect(verdictFromCi(1, 3, 5)).toBe('tie');
  });

  it('from a point estimate', () => {
    expect(verdictFromPoint(2.01)).toBe('better');
    expect(verdictFromPoint(2)).toBe('tie');
    expect(verdictFromPoint(-2.5)).toBe('worse');
  });
});

describe('compare (hand-computed bootstrap cases)', () => {
  it('latency: lower is better, positive = better', () => {
    const c = compare('ttft_mean', [100, 100], [90, 90]);
    expect(c).toMatchObject({ status: 'ok', improvementPct: 10, ciLow: 10, ciHigh: 10, verdict: 'better', basis: 'ci' });
  });

  it('a spread inside the tie band is a tie', () => {
    // x means resample to 99, 100 or 101: improvements 1, 0, -1 → CI [-1, 1].
    const c = compare('ttft_mean', [100, 100], [101, 99], { seed: 5 });
    expect(c).toMatchObject({ status: 'ok', improvementPct: 0, ciLow: -1, ciHigh: 1, verdict: 'tie' });
  });

  it('a CI crossing the band is inconclusive', () => {
    // x resampled means 95 / 100 / 105 → improvements 5 / 0 / -5.
    expect(compare('ttft_mean', [100, 100], [95, 105])).toMatchObject({ ciLow: -5, ciHigh: 5, verdict: 'inconclusive' });
    // Improvements 4 / 2.5 / 1: above zero but not entirely above +2%.
    expect(compare('ttft_mean', [100, 100], [96, 99])).toMatchObject({ ciLow: 1, ciHigh: 4, verdict: 'inconclusive' });
  });

  it('throughput: higher is better', () => {
    // resampled means 90 / 91 / 92 → -10 / -9 / -8 %.
    expect(compare('throughput', [100, 100], [90, 92])).toMatchObject({ improvementPct: -9, ciLow: -10, ciHigh: -8, verdict: 'worse' });
  });

  it('one value per side: verdict from the point estimate, marked single_trial', () => {
    const c = compare('throughput', [100], [97]);
    expect(c).toMatchObject({ status: 'ok', ciLow: null, ciHigh: null, verdict: 'worse', basis: 'single_trial' });
    if (c.status === 'ok') expect(c.improvementPct).toBeCloseTo(-3, 12);
    expect(compare('latency_avg', [100, 101, 99], [99])).toMatchObject({ verdict: 'tie', basis: 'single_trial' });
  });

  it('is reproducible for a seed', () => {
    const ref = [10, 11, 9, 10.5, 9.5];
    const x = [9, 9.5, 8.8, 9.4, 9.1];
    expect(compare('tpot_mean', ref, x, { seed: 9 })).toEqual(compare('tpot_mean', ref, x, { seed: 9 }));
  });

  it('says why it cannot compare', () => {
    expect(compare('ttft_mean', [], [1])).toMatchObject({ status: 'not_comparable', reason: 'missing_ref' });
    expect(compare('ttft_mean', [1], [Number.NaN])).toMatchObject({ status: 'not_comparable', reason: 'missing_x' });
    expect(compare('ttft_mean', [0], [1])).toMatchObject({ status: 'not_comparable', reason: 'zero_ref' });
    expect(compare('duration', [1], [1])).toMatchObject({ status: 'not_comparable', reason: 'metric_not_judged' });
    expect(() => compare('ttft_mean', [1], [1], { tieThreshold: -1 })).toThrow(RangeError);
  });

  it('tallies verdicts', () => {
    const t = tallyVerdicts([compare('throughput', [100], [110]), compare('throughput', [100, 100], [100, 100]), compare('throughput', [], [1])]);
    expect(t).toEqual({ better: 1, worse: 0, tie: 1, inconclusive: 0, notComparable: 1, singleTrial: 1 });
  });
});
