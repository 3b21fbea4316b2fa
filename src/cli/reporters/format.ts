import type { Failure } from '../../core/index.js';
import type { RunBuild, TrialOutcome } from '../../run/index.js';

/** `abc1234` for a commit, for narrow terminals. */
export function short(commit: string): string {
  return commit.slice(0, 8);
}

/** Seconds as `4.2s` / `3m05s`. */
export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** A metric value with 3 significant digits. */
export function metricValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** `server_oom: CUDA out of memory ...` cut to one line. */
export function failureText(f: Failure, width = 100): string {
  const line = f.evidence.split('\n').find((l) => l.trim() !== '') ?? '';
  const text = `${f.code}: ${line.trim()}`;
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** One line describing a finished trial. */
export function outcomeText(o: TrialOutcome): string {
  if (o.status === 'skipped') return 'already stored';
  if (o.status === 'failed' && o.failure) return `failed ${failureText(o.failure)}`;
  const primary = o.primary ? `${o.primary.key}=${metricValue(o.primary.value)}` : 'no primary metric';
  const agree = o.correctness ? ` probe ${(o.correctness.agreement * 100).toFixed(0)}%` : '';
  return `ok ${primary}${agree} (${seconds(o.durationS)})`;
}

/**
 * The run's builds from source, apart from measuring: one line per built variant (built now, or found in the build
 * cache with the time it took when made), then how much of the run's wall time was building.
 */
export function formatBuilds(builds: readonly RunBuild[], durationS: number, labelOf: (variantId: string) => string): string {
  if (builds.length === 0) return '';
  const buildS = builds.reduce((n, b) => n + b.seconds, 0);
  const lines = builds.map((b) => `  ${short(b.taskCommit)} ${labelOf(b.variantId)}: ${b.cached ? `from the build cache (built in ${seconds(b.builtSeconds)} before)` : `built in ${seconds(b.seconds)}`}`);
  return [`builds from source (${builds.filter((b) => !b.cached).length} built, ${builds.filter((b) => b.cached).length} from the cache)`, ...lines, `run wall time ${seconds(durationS)}: ${seconds(buildS)} building, ${seconds(Math.max(0, durationS - buildS))} preparing, measuring and the rest`].join('\n');
}
