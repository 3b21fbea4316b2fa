import { randomInt } from 'node:crypto';
import { Prng } from './prng.js';

/**
 * The sim's model of run-to-run noise on a real server, one piece of code for the simulated server (per start) and
 * for benchmarks/validity.ts (per simulated trial). Every factor multiplies step times (so latencies scale by it and
 * throughputs by its inverse):
 *
 * - **level per server start** `exp(start_level_sd · z)`, z standard normal drawn from the start's noise seed: where a
 *   model lands in memory, clocks and the allocator differ at every start (the largest term on real GPUs);
 * - **slow drift** `1 + drift · sin(2π t / drift_period_s)`: thermal and background load over tens of minutes, shared
 *   by every server on the host (t is wall-clock seconds, so servers of one run see the same drift);
 * - **periodic disturbance** `1 + periodic_amplitude · max(0, sin(2π t / periodic_period_s))`: a cron job, a log
 *   rotation, a neighbour's batch job; it hits whatever runs at that time;
 * - **position effect** `1 + position_effect · (position − 1)`: the trial at position p of its round runs that much
 *   slower (warmer host, fuller page cache of the previous server's pages).
 */
export interface NoiseModel {
  start_level_sd: number;
  drift: number;
  drift_period_s: number;
  periodic_amplitude: number;
  periodic_period_s: number;
  position_effect: number;
}

/** No noise beyond the step jitter (`noise`): every start, time and position alike. */
export const QUIET_NOISE: NoiseModel = Object.freeze({ start_level_sd: 0, drift: 0, drift_period_s: 1800, periodic_amplitude: 0, periodic_period_s: 60, position_effect: 0 });

/**
 * The realistic model the validity benchmark uses (docs/run.md "Validity"): 3% level sd per start, ±4% drift over
 * 30 minutes, +6% bursts every 47 s, +1% per position in the round. Trial-to-trial CV about 4-5%, as on a loaded host.
 */
export const REALISTIC_NOISE: NoiseModel = Object.freeze({ start_level_sd: 0.03, drift: 0.04, drift_period_s: 1800, periodic_amplitude: 0.06, periodic_period_s: 47, position_effect: 0.01 });

/** A fresh 31-bit noise seed for one server start (recorded in the server's log). */
export function drawNoiseSeed(): number {
  return randomInt(0, 0x7fffffff);
}

/** A standard normal draw (Box-Muller) from a seeded generator. */
export function normalFrom(prng: Prng): number {
  return Math.sqrt(-2 * Math.log(1 - prng.next())) * Math.cos(2 * Math.PI * prng.next());
}

/** The level factor of one server start. */
export function startLevel(model: NoiseModel, noiseSeed: number): number {
  if (model.start_level_sd === 0) return 1;
  return Math.exp(model.start_level_sd * normalFrom(new Prng(noiseSeed ^ 0x5eed1)));
}

/** Drift and periodic disturbance at `tS` seconds (wall clock for servers, simulated time for the benchmark). */
export function environmentFactor(model: NoiseModel, tS: number): number {
  const drift = model.drift === 0 ? 1 : 1 + model.drift * Math.sin((2 * Math.PI * tS) / model.drift_period_s);
  const periodic = model.periodic_amplitude === 0 ? 1 : 1 + model.periodic_amplitude * Math.max(0, Math.sin((2 * Math.PI * tS) / model.periodic_period_s));
  return drift * periodic;
}

/** The position effect of a trial at `position` (1-based) of its round; 1 when unknown. */
export function positionFactor(model: NoiseModel, position: number | undefined): number {
  return position === undefined || position < 1 ? 1 : 1 + model.position_effect * (position - 1);
}
