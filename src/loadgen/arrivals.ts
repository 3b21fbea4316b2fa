import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { Prng } from './prng.js';
import type { RampUpStrategy } from './types.js';

export interface ArrivalPlan {
  /** Planned send time of each request, ms after the benchmark start (absolute deadlines: no drift). */
  offsetsMs: number[];
  /** The request rate in force for each request (Infinity for `inf`). */
  rates: number[];
}

export interface ArrivalConfig {
  requestRate: number;
  burstiness: number;
  rampUp: { strategy: RampUpStrategy; startRps: number; endRps: number } | null;
  seed: number;
}

/** The rate for request `i` of `n`: the ramp-up curve when set, else the fixed rate (vLLM's semantics). */
export function rateAt(cfg: ArrivalConfig, i: number, n: number): number {
  if (cfg.rampUp === null) return cfg.requestRate;
  const { strategy, startRps, endRps } = cfg.rampUp;
  const progress = i / Math.max(n - 1, 1);
  if (strategy === 'linear') return startRps + (endRps - startRps) * progress;
  return startRps * Math.pow(endRps / startRps, progress);
}

/**
 * Arrival times as vLLM computes them: gamma-distributed gaps (shape = burstiness, mean = 1/rate; Poisson at 1),
 * accumulated, then rescaled so the last arrival lands at n/rate when the rate is fixed.
 */
export function planArrivals(n: number, cfg: ArrivalConfig): ArrivalPlan {
  const rng = new Prng(cfg.seed ^ 0x5eed);
  const rates: number[] = [];
  const delays: number[] = [];
  for (let i = 0; i < n; i++) {
    const rate = rateAt(cfg, i, n);
    rates.push(rate);
    if (rate === Infinity) delays.push(0);
    else if (cfg.burstiness === Infinity) delays.push(1 / rate);
    else delays.push(rng.gamma(cfg.burstiness, 1 / (rate * cfg.burstiness)));
  }
  for (let i = 1; i < n; i++) delays[i]! += delays[i - 1]!;
  const last = delays[n - 1] ?? 0;
  if (cfg.rampUp === null && last !== 0) {
    const factor = n / cfg.requestRate / last;
    for (let i = 0; i < n; i++) delays[i]! *= factor;
  }
  return { offsetsMs: delays.map((s) => s * 1000), rates };
}

/**
 * Resolves at `deadline` (performance.now() ms): a timer for the bulk of the wait, then a setImmediate loop for the
 * last 1.5 ms, because timers alone fire up to a millisecond or two late. The loop yields to I/O on every turn and
 * allocates one Immediate per turn, no promise: at 500 req/s it turns for most of each gap, and per-turn garbage
 * became GC pauses that delayed later arrivals.
 */
export async function waitUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  const remaining = deadline - performance.now();
  if (remaining > 1.5) {
    // An abort ends the wait early; the caller checks the signal.
    await sleep(remaining - 1.5, undefined, signal ? { signal } : undefined).catch(() => undefined);
  }
  if (performance.now() >= deadline || signal?.aborted) return;
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      if (performance.now() >= deadline || signal?.aborted) resolve();
      else setImmediate(turn);
    };
    setImmediate(turn);
  });
}
