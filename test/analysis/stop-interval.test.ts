import { describe, expect, it } from 'vitest';
import { lookSchedule, seededRandom, sequentialDecision, simulatedRank, stopEstimate, verdictFromCi } from '../../src/analysis/index.js';

function normals(seed: number): () => number {
  const u = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** 10 rounds (index = round, from 1): the baseline at 100, x with a true improvement of `effect`% and `sigma` log-noise. */
function task(z: () => number, metric: 'tpot_mean' | 'output_throughput', effect: number, sigma: number): { ref: (number | undefined)[]; x: (number | undefined)[] } {
  const ref: (number | undefined)[] = [undefined];
  const x: (number | undefined)[] = [undefined];
  const truth = metric === 'tpot_mean' ? 100 * (1 - effect / 100) : 100 * (1 + effect / 100);
  for (let r = 1; r <= 10; r++) {
    ref.push(100);
    x.push(truth * Math.exp(sigma * z()));
  }
  return { ref, x };
}

describe('--trials auto: the stage-wise interval at the stop', () => {
  it("the simulation's rule is sequentialDecision's: same stop, same verdict side, at every look, both directions and tie bands", () => {
    const z = normals(31);
    const schedule = lookSchedule(3, 10);
    const L = schedule.length;
    let checked = 0;
    for (const metric of ['tpot_mean', 'output_throughput'] as const) {
      for (const tieThreshold of [0, 2, 5]) {
        const opts = { minRounds: 3, maxRounds: 10, tieThreshold };
        for (let i = 0; i < 300; i++) {
          const { ref, x } = task(z, metric, [0, 2, 5, 10, 30][i % 5] ?? 0, [0.01, 0.03, 0.08][i % 3] ?? 0.03);
          schedule.forEach((n, j) => {
            const d = sequentialDecision(metric, ref, x, n, opts);
            const logs = Array.from({ length: n }, (_, k) => Math.log((x[k + 1] ?? 1) / (ref[k + 1] ?? 1)) * (metric === 'tpot_mean' ? -1 : 1));
            const e = logs.reduce((a, b) => a + b, 0) / n;
            const sd = Math.sqrt(logs.reduce((a, b) => a + (b - e) ** 2, 0) / (n - 1));
            const rank = simulatedRank(metric, j, e, sd, opts);
            const verdict = d.comparison?.status === 'ok' ? d.comparison.verdict : null;
            const expected = !d.stop ? -1 : j < L - 1 && verdict === 'better' ? 2 * L - j : j < L - 1 && verdict === 'worse' ? j : L;
            expect(rank).toBe(expected);
            checked++;
          });
        }
      }
    }
    expect(checked).toBe(2 * 3 * 300 * L);
  });

  it('covers the true effect 95% ± 2% at the stop (effects 0, 10, 30%), where the repeated interval of the deciding look over-covers', { timeout: 180_000 }, () => {
    const z = normals(2026);
    const opts = { minRounds: 3, maxRounds: 10 };
    let repeatedCovered = 0;
    let total = 0;
    for (const effect of [0, 10, 30]) {
      let covered = 0;
      const reps = 300;
      for (let i = 0; i < reps; i++) {
        const { ref, x } = task(z, 'tpot_mean', effect, 0.05);
        const s = stopEstimate('tpot_mean', ref, x, opts);
        const c = s?.comparison;
        const look = s?.decision.comparison;
        if (c?.status !== 'ok' || look?.status !== 'ok' || c.ciLow === null || c.ciHigh === null) throw new Error('every task stops by the maximum with an interval');
        expect(s?.interval).toBe('stagewise');
        // The verdict is the boundary's; a better/worse one is also what the interval says.
        expect(c.verdict).toBe(look.verdict);
        if (c.verdict === 'better' || c.verdict === 'worse') expect(verdictFromCi(c.ciLow, c.ciHigh)).toBe(c.verdict);
        if (c.ciLow <= effect && effect <= c.ciHigh) covered++;
        if ((look.ciLow ?? Infinity) <= effect && effect <= (look.ciHigh ?? -Infinity)) repeatedCovered++;
        total++;
      }
      expect(Math.abs(covered / reps - 0.95)).toBeLessThanOrEqual(0.02);
    }
    expect(repeatedCovered / total).toBeGreaterThan(0.97);
  });

  it('is deterministic and falls back to the look interval where it cannot apply (zero spread)', () => {
    const opts = { minRounds: 3, maxRounds: 10 };
    const z = normals(9);
    const { ref, x } = task(z, 'tpot_mean', 10, 0.05);
    const a = stopEstimate('tpot_mean', ref, x, opts);
    const b = stopEstimate('tpot_mean', ref, x, opts);
    expect(a?.comparison).toEqual(b?.comparison);
    // The same numbers in every process (the path table is cached per process, so a and b alone cannot tell).
    expect(a?.comparison).toMatchObject({ improvementPct: expect.closeTo(9.674716500271476, 9), ciLow: expect.closeTo(4.897603205814822, 9), ciHigh: expect.closeTo(18.279676864087506, 9) });
    const flat = stopEstimate('tpot_mean', [undefined, 100, 100, 100], [undefined, 90, 90, 90], opts);
    expect(flat?.interval).toBe('repeated');
    expect(flat?.comparison).toEqual(flat?.decision.comparison);
  });
});
