import { describe, expect, it } from 'vitest';
import { alphaSpent, boundaryAlphas, compare, lookLevel, lookSchedule, minimumDetectableEffect, seededRandom, sequentialDecision } from '../../src/analysis/index.js';

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
  it('looks at min, two rounds between and max, spending α·t²; the calibrated looks are wider apart than Bonferroni', () => {
    expect(lookSchedule(3, 10)).toEqual([3, 5, 8, 10]);
    expect(lookSchedule(3, 3)).toEqual([3]);
    const s = lookSchedule(3, 10);
    [0.05 * 0.09, 0.05 * 0.25, 0.05 * 0.64, 0.05].forEach((a, j) => expect(alphaSpent(s, j)).toBeCloseTo(a, 12));
    const nominal = s.map((_, j) => 1 - lookLevel(s, j));
    // The first look is a t test alone (its increment exactly); later ones gain what the shared rounds give back.
    expect(nominal[0]).toBeCloseTo(0.0045, 12);
    nominal.slice(1).forEach((a, j) => expect(a).toBeGreaterThan(alphaSpent(s, j + 1) - alphaSpent(s, j)));
    expect(nominal.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.05);
    // Computed once per schedule: the same numbers again, and deterministic.
    expect(boundaryAlphas(s)).toBe(boundaryAlphas(s));
  });

  it('the intervals of all looks (3, 5, 8, 10) hold together 95% ± 1% of the time on synthetic data; Bonferroni levels held more', () => {
    const s = lookSchedule(3, 10);
    const exact = s.map((_, j) => lookLevel(s, j));
    const bonferroni = s.map((_, j) => 1 - (alphaSpent(s, j) - alphaSpent(s, j - 1)));
    const z = normals(2024);
    const reps = 20000;
    let exactHeld = 0;
    let bonferroniHeld = 0;
    for (let i = 0; i < reps; i++) {
      // A true 10% TPOT improvement, 5% noise per paired log-ratio (known variance), on the code path `run` uses.
      const ref: (number | undefined)[] = [undefined];
      const x: (number | undefined)[] = [undefined];
      for (let r = 1; r <= 10; r++) {
        ref.push(100);
        x.push(90 * Math.exp(0.05 * z()));
      }
      const holds = (levels: number[]) =>
        s.every((n, j) => {
          const c = compare('tpot_mean', ref.slice(0, n + 1), x.slice(0, n + 1), { level: levels[j] ?? 0.95 });
          return c.status === 'ok' && c.ciLow !== null && c.ciHigh !== null && c.ciLow <= 10 && 10 <= c.ciHigh;
        });
      if (holds(exact)) exactHeld++;
      if (holds(bonferroni)) bonferroniHeld++;
    }
    expect(Math.abs(exactHeld / reps - 0.95)).toBeLessThanOrEqual(0.01);
    expect(bonferroniHeld / reps).toBeGreaterThan(0.96);
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
