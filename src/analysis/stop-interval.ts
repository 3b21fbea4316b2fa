import { DEFAULT_LEVEL, DEFAULT_TIE_THRESHOLD, directionOf, improvementOfLog, logOfImprovement, verdictFromCi, type Comparison, type RoundValues } from './compare.js';
import { forEachLookOfPaths, lookLevel, lookSchedule, normalSampler, sequentialDecision, type SequentialDecision, type SequentialOptions } from './sequential.js';
import { seededRandom } from './stats.js';
import { studentTQuantile } from './student.js';

/**
 * `--trials auto`: the 95% interval of the estimate reported at the stop, aware of the stopping rule (stage-wise
 * ordering; Jennison & Turnbull, Group Sequential Methods, ch. 8; Tsiatis, Rosner & Mehta 1984).
 *
 * The repeated interval of the deciding look (level 1 − a_j of the boundary) holds together with every other look,
 * so at the stop it over-covers (an A/A task stopped futile at round 3 carries a 99.5% interval). Here the outcomes of
 * the rule are ordered: a better verdict at an earlier look is more extreme than one at a later look, a worse verdict
 * at an earlier look less extreme, and everything else (tie, futile, the last look) sits between, ordered by the t
 * statistic (mean − μ) / se at its stop. The interval is every μ for which the observed outcome is not in either 2.5%
 * tail of that ordering, under iid normal log-ratios of mean μ and the spread measured at the stop. The tails are the
 * share of STOP_PATHS seeded paths (standard normal rounds, their look means and spreads computed once per schedule
 * and kept) that the rule (`sequentialDecision`'s, rebuilt here on the log scale: `rule` below) sends above or below
 * the observed outcome; the endpoints are found by bisection (about 20 ms per comparison).
 *
 * The t ordering inside the middle keeps the unknown spread nearly pivotal (at a fixed n this is the Student t
 * interval); the spread enters only through where the rule stops. There each path's spread is drawn around the one
 * measured at the stop, σ̂ · √((n − 1) / χ²(n − 1)) (its fiducial law), not σ̂ itself: with σ̂ plugged in, true 10% and
 * 30% effects (mostly stopped better at round 3 or 5: 2 or 4 degrees of freedom) were covered 92% of the time (200
 * synthetic tasks each, 5% noise), with the draw 96.6% and 96.0% (800 each). The verdict stays the boundary's (`decision.comparison.verdict`); `consistent` says
 * whether this interval implies the same one (verdictFromCi with the same tie band). It does for every better/worse
 * stop; at the last look it can lie inside the tie band where the boundary's interval did not (the boundary keeps
 * `inconclusive` then).
 */

/** Simulated paths per schedule and their seed: fixed, so every process reports the same interval. */
const STOP_PATHS = 10_000;
const STOP_SEED = 0x5e9c1;

interface PathTable {
  /** Per look j: the look mean, spread and t statistic (mean / (spread / √n)) of each standard normal path. */
  mean: Float64Array[];
  sd: Float64Array[];
  t: Float64Array[];
  /** Per look j: a spread multiplier sqrt((n_j − 1) / χ²(n_j − 1)), independent of the path (see `tails`). */
  w: Float64Array[];
}

const tables = new Map<string, PathTable>();

function pathTable(schedule: readonly number[]): PathTable {
  const key = schedule.join(',');
  const known = tables.get(key);
  if (known) return known;
  const normal = normalSampler(seededRandom(STOP_SEED));
  const table: PathTable = { mean: [], sd: [], t: [], w: [] };
  for (const _ of schedule) {
    table.w.push(new Float64Array(STOP_PATHS));
    table.mean.push(new Float64Array(STOP_PATHS));
    table.sd.push(new Float64Array(STOP_PATHS));
    table.t.push(new Float64Array(STOP_PATHS));
  }
  forEachLookOfPaths(
    schedule,
    STOP_PATHS,
    normal,
    (m, j, mean, sd, n) => {
      table.mean[j]![m] = mean;
      table.sd[j]![m] = sd;
      table.t[j]![m] = sd > 0 ? mean / (sd / Math.sqrt(n)) : mean > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    },
    (m) =>
      schedule.forEach((n, k) => {
        let chi = 0;
        for (let i = 1; i < n; i++) chi += normal() ** 2;
        table.w[k]![m] = Math.sqrt((n - 1) / chi);
      }),
  );
  tables.set(key, table);
  return table;
}

/** The rule of `sequentialDecision` on signed log-ratios e (positive = better) at one look, as constants. */
interface Rule {
  schedule: number[];
  last: number;
  sqrtN: number[];
  /** Half-width factor of look j's interval: t(1 − a_j / 2, n_j − 1). */
  q: number[];
  /** Futility: t(0.95, n_j − 1) and the half-width factor at the maximum (per unit of spread). */
  t95: number[];
  halfAtMax: number;
  upper: number;
  lower: number;
  band: number;
  tieThreshold: number;
  dir: 1 | -1;
}

function ruleOf(dir: 1 | -1, opts: SequentialOptions): Rule {
  const schedule = lookSchedule(opts.minRounds, opts.maxRounds);
  const level = opts.level ?? DEFAULT_LEVEL;
  const tieThreshold = opts.tieThreshold ?? DEFAULT_TIE_THRESHOLD;
  const finalLevel = lookLevel(schedule, schedule.length - 1, level);
  return {
    schedule,
    last: schedule.length - 1,
    sqrtN: schedule.map((n) => Math.sqrt(n)),
    q: schedule.map((n, j) => studentTQuantile(1 - (1 - lookLevel(schedule, j, level)) / 2, n - 1)),
    t95: schedule.map((n) => studentTQuantile(0.95, n - 1)),
    halfAtMax: studentTQuantile(1 - (1 - finalLevel) / 2, opts.maxRounds - 1) / Math.sqrt(opts.maxRounds),
    upper: logOfImprovement(tieThreshold, dir),
    lower: logOfImprovement(-tieThreshold, dir),
    band: Math.log1p(tieThreshold / 100),
    tieThreshold,
    dir,
  };
}

/**
 * Where the rule puts a look's outcome in the stage-wise order: looks 0..L−2 stopped worse rank j, stopped better
 * rank 2L − j, everything else (tie, futile, the last look) rank L; -1 when the rule goes on. Mirrors
 * `sequentialDecision` (verdictFromCi at the look's level, then futility) on the log scale.
 */
function rankAt(rule: Rule, j: number, e: number, sd: number): number {
  const L = rule.schedule.length;
  const se = sd / (rule.sqrtN[j] ?? 1);
  const q = rule.q[j] ?? 0;
  const lo = e - q * se;
  const hi = e + q * se;
  const lastLook = j === rule.last;
  if (lo > rule.upper) return lastLook ? L : 2 * L - j;
  if (hi < rule.lower) return lastLook ? L : j;
  if (lastLook || (lo >= rule.lower && hi <= rule.upper)) return L;
  const mean = Math.abs(Math.log1p(improvementOfLog(e, rule.dir) / 100));
  const t95 = rule.t95[j] ?? 0;
  const optimistic = mean + t95 * se;
  const pessimistic = Math.max(0, mean - t95 * se);
  const half = rule.halfAtMax * sd;
  const futile = !(optimistic - half > rule.band) && !(pessimistic + half < rule.band);
  return futile ? L : -1;
}

/**
 * The stage-wise rank the simulation gives look `j` (0-based) of `opts`' schedule for signed log-ratios of mean `e`
 * (positive = better) and spread `sd` on `metricKey`: what `sequentialDecision` decides there, as `rankAt` sees it
 * (exported for the test that holds the two together).
 */
export function simulatedRank(metricKey: string, j: number, e: number, sd: number, opts: SequentialOptions): number {
  const dir = directionOf(metricKey);
  if (dir === null) throw new RangeError(`${metricKey} is not judged`);
  return rankAt(ruleOf(dir, opts), j, e, sd);
}

/** Shares of paths (mean mu, spread sigma) strictly above / at-or-above and at-or-below the observed outcome. */
function tails(rule: Rule, table: PathTable, mu: number, sdObs: number, obsLook: number, obsRank: number, obsT: number): { up: number; down: number } {
  let up = 0;
  let down = 0;
  const looks = rule.schedule.length;
  const w = table.w[obsLook]!;
  const { mean, sd, t: ts } = table;
  for (let m = 0; m < STOP_PATHS; m++) {
    const sigma = sdObs * w[m]!;
    for (let j = 0; j < looks; j++) {
      const r = rankAt(rule, j, mu + sigma * mean[j]![m]!, sigma * sd[j]![m]!);
      if (r < 0) continue;
      if (r > obsRank) up++;
      else if (r < obsRank) down++;
      else {
        const t = ts[j]![m]!;
        if (t >= obsT) up++;
        if (t <= obsT) down++;
      }
      break;
    }
  }
  return { up: up / STOP_PATHS, down: down / STOP_PATHS };
}

/** The μ at which `f` (nondecreasing in μ) crosses `target`, between a bracket found from `start` in steps of `step`. */
function crossing(f: (mu: number) => number, target: number, start: number, step: number): number {
  let lo = start;
  let hi = start;
  let s = step;
  for (let i = 0; i < 60 && f(lo) >= target; i++, s *= 2) lo -= s;
  s = step;
  for (let i = 0; i < 60 && f(hi) < target; i++, s *= 2) hi += s;
  for (let i = 0; i < 40 && hi - lo > step * 2e-3; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) >= target) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

/** The estimate at the stop of `--trials auto` with its stage-wise interval (see the module note). */
export interface StopEstimate {
  /** The decision of the look that stopped. */
  decision: SequentialDecision;
  /** The comparison at the stop: estimate and n of that look, the stage-wise interval at `level`, the boundary's verdict. */
  comparison: Comparison;
  /** `stagewise`, or `repeated` (the look's own interval) where none could be computed: zero spread, or a round missing. */
  interval: 'stagewise' | 'repeated';
  /** Whether the interval alone (verdictFromCi) gives the boundary's verdict. */
  consistent: boolean;
}

/** The stage-wise interval of a decision that stopped (`decision.stop`), at `opts.level`; null where none applies. */
export function stagewiseInterval(metricKey: string, decision: SequentialDecision, opts: SequentialOptions): { ciLow: number; ciHigh: number } | null {
  const c = decision.comparison;
  const dir = directionOf(metricKey);
  if (!decision.stop || c?.status !== 'ok' || dir === null || c.sdLog === null || !(c.sdLog > 0)) return null;
  const rule = ruleOf(dir, opts);
  const look = decision.rounds >= (rule.schedule[rule.last] ?? opts.maxRounds) ? rule.last : rule.schedule.indexOf(decision.rounds);
  // The simulation pairs every round; with a round missing, the stop's n is not the look's.
  if (look < 0 || c.n !== rule.schedule[look]) return null;
  const L = rule.schedule.length;
  const obsRank = decision.reason === 'settled' && look < rule.last && (c.verdict === 'better' || c.verdict === 'worse') ? (c.verdict === 'better' ? 2 * L - look : look) : L;
  const e = logOfImprovement(c.improvementPct, dir);
  const se = c.sdLog / Math.sqrt(c.n);
  const table = pathTable(rule.schedule);
  const alpha = 1 - (opts.level ?? DEFAULT_LEVEL);
  const tObs = (mu: number) => (e - mu) / se;
  // Lower end: the μ where P(outcome at or above the observed) reaches α/2; upper: where P(at or below) falls to it.
  const low = crossing((mu) => tails(rule, table, mu, c.sdLog ?? 0, look, obsRank, tObs(mu)).up, alpha / 2, e, se);
  const high = crossing((mu) => 1 - tails(rule, table, mu, c.sdLog ?? 0, look, obsRank, tObs(mu)).down, 1 - alpha / 2, e, se);
  return { ciLow: improvementOfLog(low, dir), ciHigh: improvementOfLog(high, dir) };
}

/**
 * `--trials auto` for one comparison: the first look (rounds 1..`upTo`, default the maximum) at which the rule stops,
 * with the estimate there and its stage-wise interval; null when the rule has not stopped within the rounds given.
 */
export function stopEstimate(metricKey: string, ref: RoundValues, x: RoundValues, opts: SequentialOptions, upTo = opts.maxRounds): StopEstimate | null {
  for (let r = 1; r <= upTo; r++) {
    const decision = sequentialDecision(metricKey, ref, x, r, opts);
    if (!decision.stop || decision.comparison === null) continue;
    const c = decision.comparison;
    if (c.status !== 'ok') return { decision, comparison: c, interval: 'repeated', consistent: true };
    const ci = stagewiseInterval(metricKey, decision, opts);
    const level = opts.level ?? DEFAULT_LEVEL;
    const comparison: Comparison = ci ? { ...c, ciLow: ci.ciLow, ciHigh: ci.ciHigh, level } : c;
    const shownCi = comparison.status === 'ok' && comparison.ciLow !== null && comparison.ciHigh !== null ? verdictFromCi(comparison.ciLow, comparison.ciHigh, opts.tieThreshold ?? DEFAULT_TIE_THRESHOLD) : c.verdict;
    return { decision, comparison, interval: ci ? 'stagewise' : 'repeated', consistent: shownCi === c.verdict };
  }
  return null;
}

/**
 * `--trials auto`: the comparison of `x` with the reference as the rule left it at the task's stop (`stopRounds`): the
 * estimate there with its stage-wise interval when this comparison's own rule stopped at that round, else the decision
 * of the look at `stopRounds` (its repeated interval and verdict: another comparison kept the task running). `run`'s
 * table and `dataset build` both call it.
 */
export function comparisonAtStop(metricKey: string, ref: RoundValues, x: RoundValues, stopRounds: number, opts: SequentialOptions): { comparison: Comparison | null; interval: 'stagewise' | 'repeated' } {
  const own = stopEstimate(metricKey, ref, x, opts, stopRounds);
  if (own && own.decision.rounds === stopRounds) return { comparison: own.comparison, interval: own.interval };
  return { comparison: sequentialDecision(metricKey, ref, x, stopRounds, opts).comparison, interval: 'repeated' };
}
