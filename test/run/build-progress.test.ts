import { describe, expect, it } from 'vitest';
import { latestEvery } from '../../src/run/run-benchmarks.js';

/**
 * The build progress throttle: the first line at once, later lines of a window delivered when it closes (the latest
 * wins). It once dropped every line inside the first second of the process and every line of a window for good, so
 * a build that printed one line early and then worked for minutes showed nothing (the Ctrl-C build test hung).
 */
describe('latestEvery', () => {
  it('delivers the first value at once, even in the first moments of the process', () => {
    const got: number[] = [];
    const t = latestEvery(60_000, (v: number) => got.push(v));
    t.push(1);
    expect(got).toEqual([1]);
    t.cancel();
  });

  it('delivers the latest value of a window when it closes, never drops it', async () => {
    const got: number[] = [];
    let resolveSecond: () => void = () => undefined;
    const second = new Promise<void>((r) => (resolveSecond = r));
    const t = latestEvery(50, (v: number) => {
      got.push(v);
      if (got.length === 2) resolveSecond();
    });
    t.push(1);
    t.push(2);
    t.push(3);
    expect(got).toEqual([1]);
    await second;
    expect(got).toEqual([1, 3]);
    t.cancel();
  });

  it('cancel drops what is pending', async () => {
    const got: number[] = [];
    const t = latestEvery(20, (v: number) => got.push(v));
    t.push(1);
    t.push(2);
    t.cancel();
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([1]);
  });
});
