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
