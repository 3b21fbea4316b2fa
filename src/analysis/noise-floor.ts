import { compare, DEFAULT_LEVEL, DEFAULT_TIE_THRESHOLD, type RoundValues } from './compare.js';
import { intervalHalfWidth, minimumDetectableEffect } from './sequential.js';

/**
 * The noise floor of a task (`run --aa`): baseline′ against the baseline, two copies of one engine measured in the
 * same rounds. Their paired spread is what any comparison of the task sees as noise: the half-width an interval has
 * at that spread and n, and the smallest effect it detects with 80% power. When the half-width is not below the tie
 * band, the task cannot show a tie and every output says so (`message`).
 */
export interface NoiseFloor {
  /** Rounds in which both copies have an ok trial. */
  n: number;
  /** baseline′ vs baseline: the paired estimate (should be near 0) and its interval. */
  aaImprovementPct: number;
  aaCiLow: number | null;
  aaCiHigh: number | null;
  /** Half-width (percent) of a comparison's interval at this noise and n; a tie at ±t needs it below t. */
  halfWidthPct: number | null;
  /** Smallest effect (percent, either direction) detected with 80% power at this noise and n. */
  minDetectablePct: number | null;
  /** Whether a tie at ±`tieThreshold` can be shown at this noise and n (half-width below the band). */
  tieResolvable: boolean | null;
  /** "cannot show a tie at ±2% with this noise (...); smallest detectable effect 7.5%", or null when it can. */
  message: string | null;
}

/** The noise floor from the baseline's and baseline′'s values by round (index = round); null below 2 paired rounds. */
export function noiseFloor(metric: string, baseline: RoundValues, aa: RoundValues, opts: { tieThreshold?: number; level?: number } = {}): NoiseFloor | null {
  const tieThreshold = opts.tieThreshold ?? DEFAULT_TIE_THRESHOLD;
  const level = opts.level ?? DEFAULT_LEVEL;
  const c = compare(metric, baseline, aa, { tieThreshold, level });
  if (c.status !== 'ok' || c.sdLog === null) return null;
  const half = intervalHalfWidth(c.sdLog, c.n, level);
  const mde = minimumDetectableEffect(c.sdLog, c.n, level);
  const resolvable = half === null ? null : half < tieThreshold;
  return {
    n: c.n,
    aaImprovementPct: c.improvementPct,
    aaCiLow: c.ciLow,
    aaCiHigh: c.ciHigh,
    halfWidthPct: half,
    minDetectablePct: mde,
    tieResolvable: resolvable,
    message:
      resolvable === false && half !== null
        ? `cannot show a tie at ±${tieThreshold}% with this noise (A/A interval half-width ${half.toFixed(1)}% at n=${c.n}); smallest detectable effect ${(mde ?? 0).toFixed(1)}%`
        : null,
  };
}
