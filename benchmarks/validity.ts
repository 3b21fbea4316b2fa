/**
 * Validity benchmark: do isobench's verdicts hold up under the noise of real servers? Prints numbers; asserts nothing.
 *
 * Trials are generated in-process by the sim's noise model (src/sim/noise.ts, the code the sim server applies per
 * start): a level drawn at every server start, slow drift and a periodic disturbance on a simulated clock (trials
 * take 30-40 s and a server start 15-25 s, so the 47 s disturbance lines up with the positions of a fixed order), a
 * +1% position effect, and 0.5% within-trial jitter. The rounds' order comes from src/run's `roundOrders`, the
 * verdicts from src/analysis `compare` (fixed trials) and `sequentialDecision` (`--trials auto`): the code `isobench
 * run` uses. Each task is run twice with independent noise for rerun agreement. Reference in the same run: the
 * previous estimator (fixed order B H, unpaired percentile bootstrap of the means, point-estimate verdict at 1 trial).
 *
 * With `--e2e` it also runs a small subset end to end through `isobench run` on the sim engine with the same noise
 * model (clock scaled to the sim's ~1.5 s trials), and prints the same rates for it.
 *
 *   npm run bench:validity                 # in-process table (a few seconds)
 *   npm run bench:validity -- --e2e 12     # plus 12 A/A and 12 +10% tasks through `isobench run` (minutes)
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compare, percentile, seededRandom, stopEstimate, type Verdict } from '../src/analysis/index.js';
import { roundOrders } from '../src/run/index.js';
import { Prng } from '../src/sim/prng.js';
import { environmentFactor, normalFrom, positionFactor, REALISTIC_NOISE, startLevel, type NoiseModel } from '../src/sim/noise.js';

const METRIC = 'tpot_mean';
const EFFECTS = [0, 2, 5, 10, 30] as const;
const TASKS_PER_EFFECT: Record<number, number> = { 0: 400, 2: 200, 5: 200, 10: 200, 30: 200 };
const SETTINGS = ['1', '3', '5', '10', 'auto'] as const;
type Setting = (typeof SETTINGS)[number];
const MIN_TRIALS = 3;
const MAX_TRIALS = 10;
/** The simulated trial in-process: 30-40 s of measuring after a 15-25 s server start. */
const TRIAL_S = 35;
/** A trial of the end-to-end part on the sim (16 prompts of 64/32 tokens, 4 ms steps): about 1.5 s of measuring. */
const E2E_TRIAL_S = 1.5;

interface Trial {
  round: number;
  position: number;
  variant: 0 | 1;
  value: number;
}

/** One simulated task: `rounds` rounds of baseline (0) and human (1) whose true TPOT is `effect`% lower. */
function simulateTask(effect: number, rounds: number, seed: number, model: NoiseModel, fixedOrder: boolean): Trial[] {
  const prng = new Prng(seed);
  const orders = fixedOrder ? Array.from({ length: rounds }, () => [0, 1]) : roundOrders(2, rounds, seed, 0);
  const truth = [100, 100 * (1 - effect / 100)];
  let clock = prng.next() * 3600;
  const out: Trial[] = [];
  orders.forEach((order, r) => {
    order.forEach((variant, p) => {
      clock += 15 + 10 * prng.next(); // server start
      const duration = TRIAL_S - 5 + 10 * prng.next();
      let env = 0;
      for (let k = 0; k < 10; k++) env += environmentFactor(model, clock + (duration * (k + 0.5)) / 10) / 10;
      const level = startLevel(model, Math.floor(prng.next() * 0x7fffffff));
      const value = (truth[variant] ?? 100) * level * env * positionFactor(model, p + 1) * Math.exp(0.005 * normalFrom(prng));
      out.push({ round: r + 1, position: p + 1, variant: variant as 0 | 1, value });
      clock += duration;
    });
  });
  return out;
}

function byRound(trials: readonly Trial[], variant: 0 | 1, rounds: number): (number | undefined)[] {
  const out: (number | undefined)[] = new Array<number | undefined>(rounds + 1).fill(undefined);
  for (const t of trials) if (t.variant === variant && t.round <= rounds) out[t.round] = t.value;
  return out;
}

interface Outcome {
  verdict: Verdict;
  ciLow: number | null;
  ciHigh: number | null;
  rounds: number;
  /** `--trials auto`: why the task stopped. */
  reason?: string;
  /** `--trials auto`: the deciding look's repeated interval (the reference), and whether the stage-wise one implies the boundary's verdict. */
  repeated?: [number | null, number | null];
  consistent?: boolean;
}

/** isobench's verdict for a task at a setting (fixed n rounds, or auto between MIN and MAX). */
function judge(trials: readonly Trial[], setting: Setting): Outcome {
  if (setting !== 'auto') {
    const n = Number(setting);
    const c = compare(METRIC, byRound(trials, 0, n), byRound(trials, 1, n));
    return c.status === 'ok' ? { verdict: c.verdict, ciLow: c.ciLow, ciHigh: c.ciHigh, rounds: n } : { verdict: 'inconclusive', ciLow: null, ciHigh: null, rounds: n };
  }
  const ref = byRound(trials, 0, MAX_TRIALS);
  const x = byRound(trials, 1, MAX_TRIALS);
  const s = stopEstimate(METRIC, ref, x, { minRounds: MIN_TRIALS, maxRounds: MAX_TRIALS });
  const c = s?.comparison;
  const look = s?.decision.comparison;
  if (!s || c?.status !== 'ok' || look?.status !== 'ok') return { verdict: 'inconclusive', ciLow: null, ciHigh: null, rounds: MAX_TRIALS };
  return { verdict: c.verdict, ciLow: c.ciLow, ciHigh: c.ciHigh, rounds: s.decision.rounds, reason: s.decision.reason ?? '', repeated: [look.ciLow, look.ciHigh], consistent: s.consistent };
}

/** The previous estimator: unpaired percentile bootstrap of the means (500 resamples), point estimate at 1 trial. */
function judgeOld(trials: readonly Trial[], n: number, seed: number): Outcome {
  const ref = trials.filter((t) => t.variant === 0 && t.round <= n).map((t) => t.value);
  const x = trials.filter((t) => t.variant === 1 && t.round <= n).map((t) => t.value);
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const imp = (r: number, v: number) => ((r - v) / r) * 100;
  const point = imp(mean(ref), mean(x));
  const verdictOf = (lo: number, hi: number): Verdict => (lo > 2 ? 'better' : hi < -2 ? 'worse' : lo >= -2 && hi <= 2 ? 'tie' : 'inconclusive');
  if (n < 2) return { verdict: point > 2 ? 'better' : point < -2 ? 'worse' : 'tie', ciLow: null, ciHigh: null, rounds: n };
  const random = seededRandom(seed);
  const draw = (v: readonly number[]) => mean(Array.from({ length: v.length }, () => v[Math.floor(random() * v.length)] ?? 0));
  const reps = Array.from({ length: 500 }, () => imp(draw(ref), draw(x)));
  const lo = percentile(reps, 2.5);
  const hi = percentile(reps, 97.5);
  return { verdict: verdictOf(lo, hi), ciLow: lo, ciHigh: hi, rounds: n };
}

/** Wilson score interval of k successes in n, at 95%. */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [Number.NaN, Number.NaN];
  const z = 1.959964;
  const p = k / n;
  const center = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/** Cohen's kappa of two verdict lists. */
function kappa(a: readonly Verdict[], b: readonly Verdict[]): number {
  const cats = [...new Set([...a, ...b])];
  const n = a.length;
  const po = a.filter((v, i) => v === b[i]).length / n;
  const pe = cats.reduce((s, c) => s + (a.filter((v) => v === c).length / n) * (b.filter((v) => v === c).length / n), 0);
  return pe === 1 ? 1 : (po - pe) / (1 - pe);
}

const pct = (x: number, d = 1) => `${(x * 100).toFixed(d)}%`;
const ci = ([lo, hi]: [number, number]) => `[${(lo * 100).toFixed(1)}, ${(hi * 100).toFixed(1)}]`;

interface Row {
  label: string;
  results: Map<number, [Outcome[], Outcome[]]>;
}

function evaluate(label: string, judgeFn: (trials: readonly Trial[], seed: number) => Outcome, fixedOrder: boolean, model: NoiseModel): Row {
  const results = new Map<number, [Outcome[], Outcome[]]>();
  for (const effect of EFFECTS) {
    const runs: [Outcome[], Outcome[]] = [[], []];
    for (let i = 0; i < (TASKS_PER_EFFECT[effect] ?? 0); i++) {
      for (const rerun of [0, 1] as const) {
        const seed = (effect * 1_000_003 + i * 7919 + rerun * 104_729 + 17) >>> 0;
        runs[rerun].push(judgeFn(simulateTask(effect, MAX_TRIALS, seed, model, fixedOrder), seed));
      }
    }
    results.set(effect, runs);
  }
  return { label, results };
}

/** The median half-width (percent) of the intervals given: the noise a comparison saw. */
function medianHalfWidth(cs: readonly ({ ciLow: number | null; ciHigh: number | null } | null)[]): number {
  const widths = cs.flatMap((c) => (c && c.ciLow !== null && c.ciHigh !== null ? [(c.ciHigh - c.ciLow) / 2] : []));
  return widths.length > 0 ? percentile(widths, 50) : Number.NaN;
}

/** Coverage at the stop of the intervals of `row`, by true effect and stop reason (where auto's coverage comes from). */
function printCoverageByStop(row: Row): void {
  const cells = new Map<string, [number, number, number]>();
  for (const [effect, [a, b]] of row.results) {
    for (const o of [...a, ...b]) {
      if (o.ciLow === null || o.ciHigh === null) continue;
      const key = `${effect}% ${o.reason ?? '?'}`;
      const c = cells.get(key) ?? [0, 0, 0];
      c[0]++;
      if (o.ciLow <= effect && effect <= o.ciHigh) c[1]++;
      if (o.repeated?.[0] != null && o.repeated[1] != null && o.repeated[0] <= effect && effect <= o.repeated[1]) c[2]++;
      cells.set(key, c);
    }
  }
  const parts = [...cells].map(([k, [n, covered, rep]]) => `${k} ${pct(covered / n)} (repeated ${pct(rep / n)}; ${n})`);
  process.stdout.write(`${row.label}: coverage at the stop (stage-wise 95% interval; the look's repeated interval in brackets) by true effect and stop reason: ${parts.join(', ')}\n`);
  const all = [...row.results.values()].flatMap(([a, b]) => [...a, ...b]);
  const inconsistent = all.filter((o) => o.consistent === false);
  const repCovered = [...row.results].reduce((k, [effect, [a, b]]) => k + [...a, ...b].filter((o) => o.repeated?.[0] != null && o.repeated[1] != null && o.repeated[0] <= effect && effect <= o.repeated[1]).length, 0);
  process.stdout.write(`${row.label}: repeated interval of the deciding look covers ${pct(repCovered / all.length)}; stage-wise interval implies a verdict other than the boundary's in ${inconsistent.length} of ${all.length} (${inconsistent.map((o) => `${o.verdict}/${o.reason ?? ''}@${o.rounds}`).join(', ') || 'none'})\n`);
}

function printTable(rows: readonly Row[]): void {
  const head = ['setting', 'A/A false better/worse [Wilson 95%]', 'coverage', 'power 2%', 'power 5%', 'power 10%', 'power 30%', 'rerun agreement', 'kappa', 'mean trials/variant'];
  const lines = [head];
  for (const row of rows) {
    const aa = row.results.get(0)?.[0] ?? [];
    const falseN = aa.filter((o) => o.verdict === 'better' || o.verdict === 'worse').length;
    let covered = 0;
    let withCi = 0;
    const first: Verdict[] = [];
    const second: Verdict[] = [];
    let trials = 0;
    let count = 0;
    for (const [effect, [a, b]] of row.results) {
      for (const o of [...a, ...b]) {
        trials += o.rounds;
        count++;
        if (o.ciLow === null || o.ciHigh === null) continue;
        withCi++;
        if (o.ciLow <= effect && effect <= o.ciHigh) covered++;
      }
      first.push(...a.map((o) => o.verdict));
      second.push(...b.map((o) => o.verdict));
    }
    const power = (e: number) => {
      const os = row.results.get(e)?.[0] ?? [];
      return pct(os.filter((o) => o.verdict === 'better').length / os.length, 0);
    };
    lines.push([
      row.label,
      `${pct(falseN / aa.length)} ${ci(wilson(falseN, aa.length))} (${falseN}/${aa.length})`,
      withCi === 0 ? 'no interval' : pct(covered / withCi),
      power(2),
      power(5),
      power(10),
      power(30),
      pct(first.filter((v, i) => v === second[i]).length / first.length),
      kappa(first, second).toFixed(2),
      (trials / count).toFixed(2),
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |\n`;
  process.stdout.write(line(head) + line(widths.map((w) => '-'.repeat(w))) + lines.slice(1).map(line).join(''));
}

async function endToEnd(perEffect: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-validity-'));
  try {
    // The same model on the sim's clock: trials take ~1.5 s here, so the drift and disturbance periods are scaled by
    // the ratio of the trial lengths (a trial spans the same share of a disturbance period as in-process).
    const scale = E2E_TRIAL_S / TRIAL_S;
    const profile = { ...REALISTIC_NOISE, drift_period_s: REALISTIC_NOISE.drift_period_s * scale, periodic_period_s: REALISTIC_NOISE.periodic_period_s * scale, noise: 0.02, decode_base_ms: 4 };
    await writeFile(path.join(dir, 'engine.json'), JSON.stringify({ kind: 'sim', profile }));
    const perf = 'python benchmarks/benchmark_serving.py --model sim/tiny --dataset-name random --random-input-len 64 --random-output-len 32 --num-prompts 16 --max-concurrency 4 --seed 1';
    const tasks = [0, 10].flatMap((effect) =>
      Array.from({ length: perEffect }, (_, i) => ({
        commit: ((effect + 1) * 1000 + i).toString(16).padStart(40, 'a'),
        parent: 'b'.repeat(40),
        perf_command: perf,
        ...(effect === 0 ? {} : { sim: { human: { decode_step: 1 - effect / 100 } } }),
        notes: `validity e2e: true TPOT effect ${effect}%`,
      })),
    );
    await writeFile(path.join(dir, 'tasks.json'), JSON.stringify({ version: 1, tasks }));
    for (const trials of ['3', 'auto'] as const) {
      const store = path.join(dir, `store-${trials}.sqlite`);
      const t0 = performance.now();
      const args = ['bin/isobench.js', 'run', '--tasks', path.join(dir, 'tasks.json'), '--engine-config', path.join(dir, 'engine.json'), '--store', store, '--variants', 'baseline,human', '--warmups', '2', '--primary-metric', 'serving=tpot_mean', '--json-events'];
      args.push(...(trials === 'auto' ? ['--trials', 'auto', '--min-trials', '3', '--max-trials', '10'] : ['--trials', trials]));
      const r = spawnSync('node', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
      const last = r.stdout.trim().split('\n').reverse().find((l) => l.includes('"type":"results"'));
      if (!last) {
        process.stdout.write(`e2e --trials ${trials}: no results (exit ${String(r.status)}): ${r.stderr.slice(-500)}\n`);
        continue;
      }
      const rows = (JSON.parse(last) as { rows: { taskCommit: string; kind: string; ok: number; vsBaseline: { verdict: Verdict; ciLow: number | null; ciHigh: number | null; improvementPct: number } | null }[] }).rows;
      const humans = rows.filter((x) => x.kind === 'human');
      const aa = humans.filter((x) => tasks.find((t) => t.commit === x.taskCommit)?.sim === undefined);
      const eff = humans.filter((x) => !aa.includes(x));
      const falseN = aa.filter((x) => x.vsBaseline?.verdict === 'better' || x.vsBaseline?.verdict === 'worse').length;
      const power = eff.filter((x) => x.vsBaseline?.verdict === 'better').length;
      const trialsUsed = rows.reduce((s, x) => s + x.ok, 0) / rows.length;
      const effects = eff.map((x) => x.vsBaseline?.improvementPct).filter((v): v is number => v !== undefined);
      process.stdout.write(
        `e2e --trials ${trials}: A/A false better/worse ${falseN}/${aa.length} ${ci(wilson(falseN, aa.length))}, power at 10% ${power}/${eff.length}, mean ok trials/variant ${trialsUsed.toFixed(2)}, ` +
          `A/A median interval half-width ${medianHalfWidth(aa.map((x) => x.vsBaseline)).toFixed(1)}%, measured effect median ${effects.length > 0 ? percentile(effects, 50).toFixed(1) : '-'}%, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const e2eAt = process.argv.indexOf('--e2e');
  const t0 = performance.now();
  process.stdout.write(`noise model: ${JSON.stringify(REALISTIC_NOISE)}; metric ${METRIC} (lower is better), tie band ±2%\n`);
  process.stdout.write(`tasks: ${TASKS_PER_EFFECT[0]} A/A, ${TASKS_PER_EFFECT[2]} each at true effects 2/5/10/30%; each run twice (reruns with independent noise)\n\n`);
  process.stdout.write('isobench (seeded balanced order, paired t interval; auto = --min-trials 3 --max-trials 10):\n');
  const rows = SETTINGS.map((s) => evaluate(s === 'auto' ? 'auto (3-10)' : `--trials ${s}`, (trials) => judge(trials, s), false, REALISTIC_NOISE));
  printTable(rows);
  const auto = rows[rows.length - 1];
  if (auto) printCoverageByStop(auto);
  for (const row of rows.slice(1)) process.stdout.write(`${row.label}: A/A median interval half-width ${medianHalfWidth(row.results.get(0)?.[0] ?? []).toFixed(1)}%\n`);
  process.stdout.write('\nreference, same tasks: previous estimator (fixed order B H, unpaired percentile bootstrap, point verdict at 1 trial):\n');
  printTable((['1', '3', '5', '10'] as const).map((s) => evaluate(`--trials ${s}`, (trials, seed) => judgeOld(trials, Number(s), seed), true, REALISTIC_NOISE)));
  process.stdout.write(`\nin-process part: ${((performance.now() - t0) / 1000).toFixed(1)} s, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  if (e2eAt >= 0) {
    const n = Number(process.argv[e2eAt + 1] ?? 12);
    process.stdout.write(`\nend to end through isobench run on the sim (${n} A/A + ${n} tasks at a true 10% TPOT effect):\n`);
    await endToEnd(n);
    process.stdout.write(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  }
}

await main();
