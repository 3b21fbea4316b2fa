import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { PRESET_NAMES, errorMessage, usageError } from '../core/index.js';
import type { ResultRow } from '../run/index.js';
import { addOptions, opt, readOptions, type OptionTable, type OptionsOf } from './options.js';
import { RUN_OPTIONS, exitCodeOf, resolveRun, runHere } from './run.js';

/**
 * `isobench compare --repo PATH <base-ref> <head-ref> [--agent NAME=PATCH] -- <perf command>`: one task made from
 * two commits of a local repository (base = baseline, head = human), every variant built from source by the
 * process engine (`build`, src/engine/build-recipes.ts), measured by the same interleaved runner as `run`; prints
 * the table and the head's verdict on the primary metric. `--fail-on-worse` makes the exit code a CI gate.
 */

/** Exit code of `--fail-on-worse` when the head is worse than the base, or has no verdict (not built, not measured). */
export const EXIT_WORSE = 3;

/** Every option of `isobench compare`; the run options it shares are run's own entries (same reading, same defaults). */
const COMPARE_OPTIONS = {
  repo: opt.text('--repo <path>', 'the engine repository or git bundle holding both refs', { required: 'the engine repository (or git bundle) holding both refs' }),
  preset: opt.choice('--preset <server>', "the engine built and started (default: the engine config's, else vllm)", PRESET_NAMES),
  engineConfig: opt.text('--engine-config <file>', 'process engine settings (JSON; build.* as in docs/engines.md); build.repository is --repo'),
  agent: opt.strings('--agent <name=patch>', 'an agent patch applied to the base and built (repeatable; name:model=patch also works)'),
  failOnWorse: opt.bool('--fail-on-worse', `exit ${EXIT_WORSE} when the head is worse than the base beyond the tie band, or has no verdict`),
  trials: { ...RUN_OPTIONS.trials, help: 'trials (rounds) per variant, or auto' },
  warmups: RUN_OPTIONS.warmups,
  store: { ...RUN_OPTIONS.store, help: 'where trials are recorded (default: isobench.sqlite here; a second compare of the same refs resumes)' },
  primaryMetric: { ...RUN_OPTIONS.primaryMetric, help: 'primary metric per mode, e.g. serving=ttft_mean' },
  timeoutStartup: RUN_OPTIONS.timeoutStartup,
  jsonEvents: RUN_OPTIONS.jsonEvents,
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { compare: COMPARE_OPTIONS };

/** `name=patch` (model `patch`) or run's `name:model=patch`. */
function agentArg(raw: string): string {
  const eq = raw.indexOf('=');
  const colon = raw.indexOf(':');
  return colon > 0 && colon < eq ? raw : `${raw.slice(0, Math.max(eq, 0))}:patch${raw.slice(Math.max(eq, 0))}`;
}

function readJson(file: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (err) {
    throw usageError('--engine-config', `${file}: ${errorMessage(err)}`, 'give a JSON engine config (docs/engines.md)');
  }
  throw usageError('--engine-config', `${file} must hold an object of engine settings`);
}

/** The line `compare` ends with: the head's verdict against the base (and each agent's), from the run's rows. */
export function verdictLines(rows: readonly ResultRow[]): string[] {
  return rows
    .filter((r) => r.kind !== 'baseline')
    .map((r) => {
      const c = r.vsBaseline;
      const who = r.kind === 'human' ? 'head' : r.label;
      if (c === null) return `${who} vs base: no verdict (${r.ok} ok trial(s)${r.failures.length > 0 ? `; ${r.failures.map((f) => `${f.code}×${f.count}`).join(', ')}` : ''})`;
      const ci = c.ciLow === null || c.ciHigh === null ? 'no interval' : `[${c.ciLow.toFixed(1)}%, ${c.ciHigh.toFixed(1)}%]`;
      return `${who} vs base: ${c.verdict} on ${r.metric ?? '?'} (${c.improvementPct >= 0 ? '+' : ''}${c.improvementPct.toFixed(1)}% improvement, ${ci}, ${c.n} paired rounds)`;
    });
}

async function compareCommand(base: string, head: string, perf: string[], opts: OptionsOf<typeof COMPARE_OPTIONS>): Promise<void> {
  if (perf.length === 0) throw usageError('-- <perf command>', 'is missing', 'end the command with -- and the benchmark command, e.g. -- python benchmarks/benchmark_serving.py --model M ...');
  const { resolveCommit } = await import('../engine/index.js');
  const repo = path.resolve(opts.repo);
  if (!existsSync(repo)) throw usageError('--repo', `${opts.repo} does not exist`, 'give the engine\'s git repository (a checkout or a bare repository) or a git bundle');
  const given = opts.engineConfig === undefined ? {} : readJson(opts.engineConfig);
  const preset = opts.preset ?? (typeof given.preset === 'string' ? given.preset : 'vllm');
  const [baseSha, headSha] = [await resolveCommit(repo, base, preset), await resolveCommit(repo, head, preset)];
  const dir = mkdtempSync(path.join(tmpdir(), 'isobench-compare-'));
  try {
    const tasks = path.join(dir, 'tasks.json');
    writeFileSync(tasks, JSON.stringify({ version: 1, tasks: [{ commit: headSha, parent: baseSha, repo, subject: `compare ${base} (base) .. ${head} (head)`, perf_command: perf.join(' ') }] }));
    const build = typeof given.build === 'object' && given.build !== null ? given.build : {};
    const engineFile = path.join(dir, 'engine.json');
    writeFileSync(engineFile, JSON.stringify({ ...given, build: { ...build, repository: repo } }));
    const agents = opts.agent.map(agentArg);
    const { repo: _repo, failOnWorse: _fail, ...shared } = opts;
    const runOpts = readOptions(RUN_OPTIONS, {
      ...shared,
      tasks,
      engine: 'process',
      engineConfig: engineFile,
      ...(opts.preset === undefined ? {} : { preset: opts.preset }),
      agent: agents,
      variants: agents.length > 0 ? 'baseline,human,agent' : 'baseline,human',
    });
    const resolved = await resolveRun(runOpts);
    const { summary, rows } = await runHere(runOpts, resolved);
    const lines = verdictLines(rows);
    if (runOpts.jsonEvents) process.stdout.write(`${JSON.stringify({ type: 'compare', base: baseSha, head: headSha, verdicts: lines })}\n`);
    else process.stdout.write(`\n${lines.join('\n')}\n`);
    const headRow = rows.find((r) => r.kind === 'human');
    const verdict = headRow?.vsBaseline?.verdict ?? null;
    process.exitCode = exitCodeOf(summary);
    if (opts.failOnWorse && process.exitCode === 0 && (verdict === null || verdict === 'worse')) {
      process.stderr.write(verdict === null ? 'compare: the head has no verdict (see the table): failing (--fail-on-worse)\n' : 'compare: the head is worse than the base beyond the tie band (--fail-on-worse)\n');
      process.exitCode = EXIT_WORSE;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `isobench compare`. */
export function register(program: Command): void {
  const cmd = program
    .command('compare')
    .description('Build two refs of a local engine repository (and agent patches), run interleaved trials of a perf command, print the verdict')
    .argument('<base-ref>', 'the base commit, branch or tag (the baseline)')
    .argument('<head-ref>', 'the head commit, branch or tag (measured against the base)')
    .argument('[perf...]', 'after --: the benchmark command (vLLM benchmark_serving.py / bench serve form)');
  addOptions(cmd, COMPARE_OPTIONS);
  cmd.action(async (base, head, perf, raw) => {
    await compareCommand(base, head, perf, readOptions(COMPARE_OPTIONS, raw));
  });
}
