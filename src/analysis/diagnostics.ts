import { metricInfo } from '../core/index.js';

/**
 * The metrics judged next to the primary one (secondary, Holm-corrected as a family): TTFT/TPOT/ITL/E2EL mean, median
 * and p99, the throughputs and latency. Spreads (`ttft_std`) and the other percentiles are descriptive, not judged.
 */
const SECONDARY = /^(?:(?:ttft|tpot|itl|e2el)_(?:mean|median|p99)|latency_avg|latency_p99|throughput|request_throughput|output_throughput|total_token_throughput)$/;

/** Whether `key` is one of the secondary metrics every output judges (vs baseline, Holm over the family). */
export function isJudgedSecondary(key: string, primary: string | null): boolean {
  return key !== primary && SECONDARY.test(key) && (metricInfo(key)?.better ?? 'none') !== 'none';
}

/** One measured trial for the order diagnostic: its variant, its position inside its round (1-based), its value. */
export interface PositionedValue {
  variant: string;
  position: number;
  value: number;
}

/**
 * Position effect: per position p (index p - 1), the mean log-deviation of the trials run at p from their variant's
 * geometric mean, as a percentage. A balanced order spreads it over the variants; a large value says the slot in the
 * round (warm caches, a hot GPU) moves the metric.
 */
export function positionEffect(values: readonly PositionedValue[]): number[] {
  const ok = values.filter((v) => Number.isInteger(v.position) && v.position >= 1 && v.value > 0 && Number.isFinite(v.value));
  const logMean = new Map<string, number>();
  for (const id of new Set(ok.map((v) => v.variant))) {
    const logs = ok.filter((v) => v.variant === id).map((v) => Math.log(v.value));
    logMean.set(id, logs.reduce((a, b) => a + b, 0) / logs.length);
  }
  const byPos: number[][] = [];
  for (const v of ok) (byPos[v.position - 1] ??= []).push(Math.log(v.value) - (logMean.get(v.variant) ?? 0));
  return Array.from(byPos, (d) => (d && d.length > 0 ? Math.expm1(d.reduce((a, b) => a + b, 0) / d.length) * 100 : 0));
}
