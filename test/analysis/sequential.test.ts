import { describe, expect, it } from 'vitest';
import { compare, lookLevel, lookSchedule, minimumDetectableEffect, seededRandom, sequentialDecision } from '../../src/analysis/index.js';

function normals(seed: number): () => number {
  const u = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** An A/A task of 10 rounds (index = round, from 1) with 4% noise per trial. */
function aaTask(z: () => number): { ref: (number | undefined)[]; x: (number | undefined)[] } {
  const ref: (number | undefined)[] = [undefined];
  const x: (number | undefined)[] = [undefined];
  for (let r = 1; r <= 10; r++) {
    ref.push(100 * Math.exp(0.04 * z()));
    x.push(100 * Math.exp(0.04 * z()));
  }
  return { ref, x };
}

describe('adaptive trials: group-sequential looks with alpha spending', () => {
  it('looks at min, two rounds between and max, spending α·t² (the levels add up to the total error)', () => {
    expect(lookSchedule(3, 10)).toEqual([3, 5, 8, 10]);
    expect(lookSchedule(3, 3)).toEqual([3]);
    const s = lookSchedule(3, 10);
    const spent = s.map((_, j) => 1 - lookLevel(s, j));
    expect(spent.reduce((a, b) => a + b, 0)).toBeCloseTo(0.05, 12);
  });

  it('keeps false verdicts of A/A tasks at or below 5% under repeated looks, where "stop when the 95% CI clears" does not', () => {
    const z = normals(77);
    let sequentialFalse = 0;
    let naiveFalse = 0;
    const tasks = 3000;
    for (let i = 0; i < tasks; i++) {
      const { ref, x } = aaTask(z);
      for (let r = 1; r <= 10; r++) {
        const d = sequentialDecision('tpot_mean', ref, x, r, { minRounds: 3, maxRounds: 10, tieThreshold: 0 });
        if (!d.stop) continue;
        if (d.comparison?.status === 'ok' && (d.comparison.verdict === 'better' || d.comparison.verdict === 'worse')) sequentialFalse++;
        break;
      }
      for (let r = 3; r <= 10; r++) {
        const c = compare('tpot_mean', ref.slice(0, r + 1), x.slice(0, r + 1), { tieThreshold: 0 });
        if (c.status === 'ok' && (c.verdict === 'better' || c.verdict === 'worse')) {
          naiveFalse++;
          break;
        }
      }
    }
    expect(sequentialFalse / tasks).toBeLessThanOrEqual(0.05);
    expect(naiveFalse / tasks).toBeGreaterThan(0.1);
  });

  it('stops a clear effect early as settled and an A/A task at the latest at the maximum', () => {
    const ref = [undefined, 100, 101, 99, 100];
    const x = [undefined, 70, 71, 69.5, 70];
    expect(sequentialDecision('tpot_mean', ref, x, 2, { minRounds: 3, maxRounds: 10 })).toMatchObject({ stop: false });
    expect(sequentialDecision('tpot_mean', ref, x, 3, { minRounds: 3, maxRounds: 10 })).toMatchObject({ stop: true, reason: 'settled', comparison: { verdict: 'better' } });
    const z = normals(5);
    const { ref: r2, x: x2 } = aaTask(z);
    const decisions = Array.from({ length: 10 }, (_, i) => sequentialDecision('tpot_mean', r2, x2, i + 1, { minRounds: 3, maxRounds: 10 }));
    expect(decisions.some((d) => d.stop)).toBe(true);
    expect(decisions[9]?.stop).toBe(true);
  });

  it('the minimum detectable effect grows with the noise and shrinks with the rounds', () => {
    const a = minimumDetectableEffect(0.05, 5) ?? 0;
    expect(a).toBeGreaterThan(minimumDetectableEffect(0.05, 10) ?? 0);
    expect(a).toBeLessThan(minimumDetectableEffect(0.1, 5) ?? 0);
    expect(minimumDetectableEffect(0.05, 1)).toBeNull();
  });
});
