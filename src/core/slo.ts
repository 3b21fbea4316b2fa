/**
 * Service-level objectives in vLLM's `--goodput` syntax (`ttft:500 tpot:50 e2el:2000`, milliseconds) and vLLM's
 * goodput test of one request. vLLM's goodput (benchmark_serving / `vllm bench serve`, after DistServe) is a
 * per-request attainment, not a percentile: a completed request is good when every SLO is at least its value (its TPOT
 * counts as 0 when it generated one token, as vLLM's `all_tpots`), and request goodput is good requests per second.
 */
import { requestTpotMs } from './metrics.js';

export const SLO_METRICS = ['ttft', 'tpot', 'e2el'] as const;
export type SloMetric = (typeof SLO_METRICS)[number];
/** SLOs in ms per metric (at least one). */
export type Slo = Partial<Record<SloMetric, number>>;

/**
 * A load point meets the SLO when at least this fraction of its requests is good (DistServe's attainment goal, the
 * definition vLLM's goodput cites; vLLM itself prints only the rate). Failed requests count as not good.
 */
export const SLO_ATTAINMENT_GOAL = 0.9;

/** The words of `--goodput` (each `KEY:VALUE`) as SLOs, or the problem with them. */
export function parseSlo(items: readonly string[]): { slo: Slo } | { problem: string } {
  if (items.length === 0) return { problem: 'no KEY:VALUE given (e.g. ttft:500 tpot:50)' };
  const slo: Slo = {};
  for (const item of items) {
    const at = item.indexOf(':');
    if (at <= 0) return { problem: `"${item}" is not KEY:VALUE (e.g. ttft:500)` };
    const key = item.slice(0, at).trim();
    const text = item.slice(at + 1).trim();
    if (!(SLO_METRICS as readonly string[]).includes(key)) return { problem: `unknown metric "${key}": use ttft, tpot or e2el` };
    const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(value)) return { problem: `${key} (milliseconds) must be a number >= 0 in decimal digits, got "${text}" (e.g. ${key}:100)` };
    slo[key as SloMetric] = value;
  }
  return { slo };
}

/** The SLOs as `--goodput` words: `ttft:500 tpot:50`. */
export function sloText(slo: Slo): string {
  return SLO_METRICS.filter((m) => slo[m] !== undefined).map((m) => `${m}:${slo[m]}`).join(' ');
}

/** vLLM's goodput test of one request: completed and within every SLO. */
export function requestMeetsSlo(r: { ok: boolean; outputTokens: number; ttftMs: number | null; e2elMs: number | null }, slo: Slo): boolean {
  if (!r.ok) return false;
  return (
    (slo.ttft === undefined || slo.ttft >= (r.ttftMs ?? 0)) &&
    (slo.tpot === undefined || slo.tpot >= (requestTpotMs(r) ?? 0)) &&
    (slo.e2el === undefined || slo.e2el >= (r.e2elMs ?? 0))
  );
}

/** A request as the goodput test reads it. */
export type SloRequest = Parameters<typeof requestMeetsSlo>[0];

/**
 * Over trials (each its requests and its benchmark duration in s): the fraction of all requests that meet the SLO
 * (failed ones count as not good), vLLM's request goodput pooled (good / summed duration; null where a trial has no
 * duration) and whether the fraction reaches SLO_ATTAINMENT_GOAL. Null when no trial has a request.
 */
export function sloAttainment(trials: readonly { requests: readonly SloRequest[]; durationS: number | undefined }[], slo: Slo): { fraction: number; goodput: number | null; met: boolean } | null {
  let good = 0;
  let all = 0;
  let seconds = 0;
  let timed = true;
  for (const t of trials) {
    if (t.requests.length === 0) continue;
    good += t.requests.filter((r) => requestMeetsSlo(r, slo)).length;
    all += t.requests.length;
    if (t.durationS !== undefined && t.durationS > 0) seconds += t.durationS;
    else timed = false;
  }
  if (all === 0) return null;
  return { fraction: good / all, goodput: timed && seconds > 0 ? good / seconds : null, met: good / all >= SLO_ATTAINMENT_GOAL };
}
