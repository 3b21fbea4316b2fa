import { describe, expect, it } from 'vitest';
import { defaultSimProfile, runSimScript, startSimServer } from '../../src/sim/index.js';
import { environmentFactor, positionFactor, REALISTIC_NOISE, startLevel } from '../../src/sim/noise.js';

const LATENCY = ['--model', 'm', '--input-len', '32', '--output-len', '64', '--batch-size', '4', '--num-iters', '5', '--num-iters-warmup', '1'];
const avg = (out: string) => Number(/^Avg latency: (\d+\.\d+) seconds$/m.exec(out)?.[1]);
const seedOf = (out: string) => /noise_seed=(\d+)/.exec(out)?.[1];

describe('sim noise: seeded per start, recorded, exact when fixed', () => {
  it('two starts of the same profile draw different noise and record their seeds; a fixed noise_seed repeats exactly', async () => {
    const noisy = { ...defaultSimProfile, noise: 0.2, start_level_sd: 0.05 };
    const [a, b] = [await runSimScript('latency', LATENCY, noisy), await runSimScript('latency', LATENCY, noisy)];
    expect(seedOf(a.output)).toBeDefined();
    expect(seedOf(a.output)).not.toBe(seedOf(b.output));
    expect(avg(a.output)).not.toBe(avg(b.output));
    const fixed = { ...noisy, noise_seed: 1234, drift: 0, periodic_amplitude: 0 };
    const [c, d] = [await runSimScript('latency', LATENCY, fixed), await runSimScript('latency', LATENCY, fixed)];
    expect(seedOf(c.output)).toBe('1234');
    expect(avg(c.output)).toBe(avg(d.output));
  });

  it('a serving server prints its start noise_seed in its log', async () => {
    const seeds: (string | undefined)[] = [];
    for (let i = 0; i < 2; i++) {
      const server = await startSimServer({ ...defaultSimProfile, noise: 0.1 }, { port: 0 });
      await server.ready;
      seeds.push(seedOf(server.log()));
      await server.close();
    }
    expect(seeds[0]).toBeDefined();
    expect(seeds[0]).not.toBe(seeds[1]);
  });

  it('the model: a lognormal level per start, bounded drift and disturbance, a linear position effect', () => {
    const levels = Array.from({ length: 2000 }, (_, i) => Math.log(startLevel(REALISTIC_NOISE, i * 7919)));
    const m = levels.reduce((x, y) => x + y, 0) / levels.length;
    const sd = Math.sqrt(levels.reduce((x, y) => x + (y - m) ** 2, 0) / (levels.length - 1));
    expect(Math.abs(m)).toBeLessThan(0.004);
    expect(sd).toBeGreaterThan(0.027);
    expect(sd).toBeLessThan(0.033);
    const env = Array.from({ length: 3600 }, (_, t) => environmentFactor(REALISTIC_NOISE, t));
    expect(Math.min(...env)).toBeGreaterThanOrEqual(0.96 - 1e-9);
    expect(Math.max(...env)).toBeLessThanOrEqual(1.04 * 1.06 + 1e-9);
    expect(positionFactor(REALISTIC_NOISE, 1)).toBe(1);
    expect(positionFactor(REALISTIC_NOISE, 3)).toBeCloseTo(1.02, 12);
  });
});
