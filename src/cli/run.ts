import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Command } from '@commander-js/extra-typings';
import { IsobenchError, PRESET_NAMES, VARIANT_KINDS, WORKLOAD_DEFAULTS, errorMessage, redactDeep, redactSecrets, usageError } from '../core/index.js';
import type { Engine, parseEngineConfig as parseEngineConfigFn } from '../engine/index.js';
import type { AgentSource, ResultRow, RunSettings, RunSummary, TaskPlan, TaskSummary } from '../run/index.js';
import type { Task, VariantKind } from '../task/index.js';

type ResolvedEngineConfig = ReturnType<typeof parseEngineConfigFn>;
import { addOptions, opt, readOptions, type OptionTable, type OptionsOf } from './options.js';
import { createReporter, formatBuilds, formatResults, sweepCurves } from './reporters/index.js';

/** The engines a run (and a worker, a launcher) can use. */
export const ENGINES = ['sim', 'process', 'docker'] as const;

/** Every option of `isobench run`, declared once: commander's options, their strict reading and RunOptions come from it. */
export const RUN_OPTIONS = {
  tasks: opt.text('--tasks <catalog>', 'task catalog (JSON or YAML)', { required: 'the task catalog (JSON or YAML)' }),
  engine: opt.choice('--engine <kind>', 'engine that runs the variants', ENGINES, { default: 'sim' }),
  engineConfig: opt.text('--engine-config <file>', 'engine settings (JSON or YAML; see docs/engines.md)'),
  preset: opt.choice('--preset <server>', 'the server the process/docker engine starts: its command, readiness, tokenizer API and flags (default vllm)', PRESET_NAMES),
  tokenizer: opt.text('--tokenizer <path|name>', "tokenizer of the workload: a tokenizer.json, a folder holding one, or a Hugging Face name (default: the server's /tokenize)"),
  store: opt.text('--store <file.sqlite|postgres://...>', 'where trials are recorded (default: isobench.sqlite here)'),
  agent: opt.strings('--agent <name:model=patch>', 'an agent and its patch file or directory of <commit>.patch files (repeatable)'),
  trials: opt.posInt('--trials <n|auto>', 'trials (rounds) per variant, or auto: stop each task once its primary verdicts are settled', { default: WORKLOAD_DEFAULTS.trials, keywords: ['auto'] }),
  minTrials: opt.posInt('--min-trials <n>', 'with --trials auto: rounds before the first look', { default: WORKLOAD_DEFAULTS.minTrials }),
  maxTrials: opt.posInt('--max-trials <n>', 'with --trials auto: rounds at most', { default: WORKLOAD_DEFAULTS.maxTrials }),
  aa: opt.bool('--aa', "add a second baseline variant (baseline′) to every round: its spread is the task's noise floor"),
  primaryMetric: opt.text('--primary-metric <spec>', 'primary metric per mode instead of the one the perf command implies, e.g. serving=ttft_mean'),
  warmups: opt.nonNegInt('--warmups <n>', 'warm-up requests before each measured serving run', { default: WORKLOAD_DEFAULTS.warmups }),
  only: opt.list('--only <commits>', 'comma-separated commit prefixes to run', { pattern: /^[0-9a-fA-F]{4,40}$/, problem: 'give commit hashes or prefixes (hex, 4+ characters), comma-separated' }),
  variants: opt.list('--variants <kinds>', `comma-separated subset of ${VARIANT_KINDS.join(',')}`, { choices: VARIANT_KINDS, default: VARIANT_KINDS, problem: `give a comma-separated subset of ${VARIANT_KINDS.join(',')}` }),
  timeoutStartup: opt.posInt('--timeout-startup <s>', 'seconds a server may take to become ready', { default: WORKLOAD_DEFAULTS.timeoutStartupS }),
  timeoutTrial: opt.posInt('--timeout-trial <s>', 'seconds the probe, warm-up and measured run (or standalone script) may take', { default: WORKLOAD_DEFAULTS.timeoutTrialS }),
  gpus: opt.nonNegInt('--gpus <n>', 'GPUs on this host for the tensor-parallel check (default: nvidia-smi; sim: no check)'),
  oomFallbackMaxModelLen: opt.nonNegInt('--oom-fallback-max-model-len <n>', '--max-model-len for every variant of a task whose server runs out of memory at start (0: off)', { default: WORKLOAD_DEFAULTS.oomFallbackMaxModelLen }),
  datasetDir: opt.text('--dataset-dir <dir>', 'directory of the dataset files perf commands name (ShareGPT JSON, sonnet text, custom JSONL), looked up by path then by file name'),
  missingDataset: opt.choice('--missing-dataset <what>', 'a serving task whose dataset file is not found: refuse it, or run random prompts instead (recorded as a deviation)', ['refuse', 'random'], { default: 'refuse' }),
  orderSeed: opt.nonNegInt('--order-seed <n>', 'seed of the order of the variants inside each round (default: drawn per run, recorded)', { max: 0x7fffffff }),
  jsonEvents: opt.bool('--json-events', 'print progress as one JSON object per line on stdout'),
  queue: opt.bool('--queue', 'enqueue one job per task in the PostgreSQL store for `isobench worker` processes instead of running here'),
  wait: opt.bool('--wait', 'with --queue: follow the workers with the usual progress and print the results table at the end'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { run: RUN_OPTIONS };
export type RunOptions = OptionsOf<typeof RUN_OPTIONS>;

async function readConfigFile(file: string): Promise<unknown> {
  const { default: YAML } = await import('yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError('--engine-config', `cannot read ${file}: ${errorMessage(err)}`);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw usageError('--engine-config', `${file} is not valid JSON/YAML: ${errorMessage(err)}`);
  }
}

/** GPUs on this host: `--gpus`, else `nvidia-smi -L` for real engines; null (no check) for sim or when unknown. */
function detectGpus(engine: RunOptions['engine'], given: number | undefined): number | null {
  if (given !== undefined) return given;
  if (engine === 'sim') return null;
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    return out.split('\n').filter((l) => l.startsWith('GPU ')).length;
  } catch {
    return null;
  }
}

/**
 * Engine config from `--engine-config` with the kind, run id and `--preset` filled in; its hash goes into every
 * trial key.
 */
export async function resolveEngineConfig(
  engine: RunOptions['engine'],
  file: string | undefined,
  runId: string,
  preset?: RunOptions['preset'],
): Promise<{ config: ResolvedEngineConfig; key: string }> {
  const { parseEngineConfig } = await import('../engine/index.js');
  const raw = file === undefined ? {} : await readConfigFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw usageError('--engine-config', 'must hold an object of engine settings');
  const given = raw as Record<string, unknown>;
  if (given.kind !== undefined && given.kind !== engine) throw usageError('--engine-config', `is for engine ${JSON.stringify(given.kind)} but --engine is ${engine}`, 'make them agree');
  if (preset !== undefined && engine === 'sim') throw usageError('--preset', 'applies to the process and docker engines (the sim engine simulates vLLM)', 'use --engine process or docker');
  if (preset !== undefined && given.preset !== undefined && given.preset !== preset) {
    throw usageError('--preset', `is ${preset} but --engine-config says preset ${JSON.stringify(given.preset)}`, 'make them agree');
  }
  const config = parseEngineConfig({ ...given, ...(preset === undefined ? {} : { preset }), kind: engine, runId });
  const { runId: _ignored, ...settings } = config;
  void _ignored;
  return { config, key: createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16) };
}

/** Stops servers and containers of earlier runs whose runner is gone (kill -9); a live run's are left alone. */
async function leftoversOf(config: ResolvedEngineConfig): Promise<unknown> {
  const { cleanupLeftovers } = await import('../engine/index.js');
  if (config.kind === 'process') return cleanupLeftovers(undefined, { registryDir: config.registryDir, workDir: config.workDir });
  if (config.kind === 'docker') return cleanupLeftovers(undefined, { workDir: config.workDir, ...(config.dockerHost === undefined ? {} : { dockerHost: config.dockerHost }) });
  return Promise.resolve();
}

/** `--dataset-dir` as an absolute path; a directory that does not exist is a usage error, not a missing dataset. */
function datasetDirOf(dir: string | undefined): string | null {
  if (dir === undefined) return null;
  const abs = path.resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw usageError('--dataset-dir', `${dir} is not a directory`, 'give the directory that holds the dataset files');
  return abs;
}

/** A fresh run id: sortable by time, safe as a label value. */
export function newRunId(): string {
  return `run-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Everything `run` and `demo` share once their inputs are resolved. */
export interface ExecuteRunInput {
  tasks: readonly Task[];
  /** Where the tasks came from, for messages (`--tasks`). */
  catalog?: string;
  agents: readonly AgentSource[];
  settings: RunSettings;
  engine: Engine;
  store?: string;
  runId: string;
  jsonEvents: boolean;
  config: unknown;
  /** Removes what an earlier runner killed with -9 left behind (its servers), before anything starts. */
  cleanupLeftovers?: () => Promise<unknown>;
}

/** Plans, runs with a reporter, handles Ctrl-C, prints the results table; returns the summary and the table rows. */
export async function executeRun(input: ExecuteRunInput): Promise<{ summary: RunSummary; rows: ResultRow[]; tasks: TaskSummary[]; plans: TaskPlan[]; storeLocation: string }> {
  if (input.tasks.length === 0) throw usageError('--tasks', `${input.catalog ?? 'the catalog'} holds no task`, 'add tasks to the catalog (see docs/tasks.md) or give another file');
  const [{ planRun, runBenchmarks, summarizeResults, summarizeTasks }, { openStore }] = await Promise.all([import('../run/index.js'), import('../store/index.js')]);
  const plans = planRun(input.tasks, input.agents, input.settings);
  if (plans.length === 0) throw usageError('--only', `matches no task of the catalog (${input.settings.only.join(', ')})`, 'give a prefix of a task commit');
  await input.cleanupLeftovers?.().catch(() => undefined);
  const store = await openStore(input.store);
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort(new IsobenchError('E_CANCELLED', `cancelled by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reporter = createReporter({ jsonEvents: input.jsonEvents });
  try {
    const summary = await runBenchmarks({
      plans,
      engine: input.engine,
      store,
      settings: input.settings,
      config: input.config,
      runId: input.runId,
      onEvent: (e) => reporter.onEvent(e),
      signal: abort.signal,
    });
    reporter.close();
    const rows = await summarizeResults(store, plans, input.settings);
    const tasks = await summarizeTasks(store, plans, input.settings);
    return { summary, rows, tasks, plans, storeLocation: store.location };
  } finally {
    reporter.close();
    await input.engine.cleanup().catch(() => undefined);
    await store.close().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Exit code of a run: 130 when cancelled, 1 when it failed, 0 otherwise (failed trials are data, not errors). */
export function exitCodeOf(summary: RunSummary): number {
  if (summary.status === 'cancelled') return 130;
  return summary.status === 'failed' ? 1 : 0;
}

/** Prints the table (human output) or nothing (JSON events carry everything). */
export function printResults(rows: readonly ResultRow[], summary: RunSummary, jsonEvents: boolean, tasks: readonly TaskSummary[] = []): void {
  if (jsonEvents) {
    process.stdout.write(`${JSON.stringify(redactDeep({ type: 'results', rows, tasks, sweeps: sweepCurves(rows) }))}\n`);
    return;
  }
  process.stdout.write(`\n${formatResults(rows, tasks)}\n`);
  const builds = formatBuilds(summary.builds ?? [], summary.durationS, (id) => rows.find((r) => r.variantId === id)?.label ?? id);
  if (builds !== '') process.stdout.write(`\n${builds}\n`);
  if (summary.error) process.stderr.write(`run failed: ${redactSecrets(summary.error)}\n`);
  if (summary.status === 'cancelled') process.stderr.write('run cancelled: finished trials are stored; run the same command again to resume\n');
}

/** What `run` (and `compare`) resolve from their options before anything runs. */
export interface ResolvedRun {
  tasks: Task[];
  agents: AgentSource[];
  settings: RunSettings;
  runId: string;
  engineConfig: { config: ResolvedEngineConfig; key: string };
  config: unknown;
}

/** Reads the catalog, agents and engine config of validated run options and resolves every run setting. */
export async function resolveRun(opts: RunOptions): Promise<ResolvedRun> {
  if (!existsSync(opts.tasks)) throw usageError('--tasks', `${opts.tasks} does not exist`, 'give the path of a task catalog (JSON or YAML; see docs/tasks.md)');
  if (opts.wait && !opts.queue) throw usageError('--wait', 'only goes with --queue', 'add --queue, or drop --wait (a local run always waits)');
  if (opts.queue && (opts.store === undefined || !/^postgres(ql)?:\/\//i.test(opts.store))) {
    throw usageError('--queue', 'needs a PostgreSQL store: the job queue lives in it', 'give --store postgres://...');
  }
  const [{ loadCatalog }, { loadAgent, parseAgentArg }] = await Promise.all([import('../task/index.js'), import('../run/index.js')]);
  const tasks = await loadCatalog(opts.tasks);
  const agents = opts.agent.map((a) => loadAgent(parseAgentArg(a)));
  const runId = newRunId();
  const engineConfig = await resolveEngineConfig(opts.engine, opts.engineConfig, runId, opts.preset);
  if (opts.trials === 'auto' && opts.minTrials > opts.maxTrials) throw usageError('--min-trials', `${opts.minTrials} is above --max-trials ${opts.maxTrials}`, 'e.g. --min-trials 3 --max-trials 10');
  if (opts.trials === 'auto' && opts.minTrials < 2) throw usageError('--min-trials', 'must be at least 2 (an interval needs 2 paired rounds)', 'e.g. --min-trials 3');
  const settings: RunSettings = {
    trials: opts.trials === 'auto' ? opts.maxTrials : opts.trials,
    adaptive: opts.trials === 'auto' ? { minTrials: opts.minTrials } : null,
    aa: opts.aa,
    primaryMetrics: opts.primaryMetric === undefined ? {} : (await import('../analysis/index.js')).parsePrimaryMetricSpec(opts.primaryMetric),
    warmups: opts.warmups,
    variants: opts.variants as VariantKind[],
    only: opts.only ?? [],
    timeoutStartupS: opts.timeoutStartup,
    timeoutTrialS: opts.timeoutTrial,
    // Queued tasks go to workers whose GPUs meet each task's needs: this host's GPUs do not matter.
    gpuCount: opts.queue ? null : detectGpus(opts.engine, opts.gpus),
    oomFallbackMaxModelLen: opts.oomFallbackMaxModelLen,
    engineSettingsKey: engineConfig.key,
    datasetDir: datasetDirOf(opts.datasetDir),
    ...(engineConfig.config.kind === 'sim' ? {} : { serverPreset: engineConfig.config.preset }),
    ...(opts.tokenizer === undefined ? {} : { tokenizer: opts.tokenizer }),
    missingDataset: opts.missingDataset,
    // Drawn per run unless given; recorded with the run's options and on every trial.
    orderSeed: opts.orderSeed ?? Math.floor(Math.random() * 0x7fffffff),
  };
  const config = { ...opts, orderSeed: settings.orderSeed, agent: agents.map((a) => ({ name: a.name, model: a.model, patchPath: a.patchPath })), store: opts.store === undefined ? undefined : redactSecrets(opts.store) };
  return { tasks, agents, settings, runId, engineConfig, config };
}

/** Runs resolved options here: the reporter, Ctrl-C, the results table; returns the table rows. */
export async function runHere(opts: RunOptions, r: ResolvedRun): Promise<{ summary: RunSummary; rows: ResultRow[] }> {
  const { createEngine } = await import('../engine/index.js');
  const engine = createEngine(r.engineConfig.config);
  const { summary, rows, tasks: taskSummaries } = await executeRun({
    tasks: r.tasks,
    catalog: opts.tasks,
    agents: r.agents,
    settings: r.settings,
    engine,
    ...(opts.store === undefined ? {} : { store: opts.store }),
    runId: r.runId,
    jsonEvents: opts.jsonEvents,
    config: r.config,
    cleanupLeftovers: () => leftoversOf(r.engineConfig.config),
  });
  printResults(rows, summary, opts.jsonEvents, taskSummaries);
  return { summary, rows };
}

async function runCommand(raw: Record<string, unknown>): Promise<void> {
  const opts = readOptions(RUN_OPTIONS, raw);
  const r = await resolveRun(opts);
  if (opts.queue && opts.store !== undefined) {
    await queueRun({ tasks: r.tasks, agents: r.agents, settings: r.settings, runId: r.runId, url: opts.store, engine: opts.engine, engineKey: r.engineConfig.key, config: r.config, jsonEvents: opts.jsonEvents, wait: opts.wait });
    return;
  }
  const { summary } = await runHere(opts, r);
  process.exitCode = exitCodeOf(summary);
}

/** `run --queue`: one job per task into the store's queue; with `--wait`, follows the workers until the run ends. */
async function queueRun(input: {
  tasks: readonly Task[];
  agents: readonly AgentSource[];
  settings: RunSettings;
  runId: string;
  url: string;
  engine: RunOptions['engine'];
  engineKey: string;
  config: unknown;
  jsonEvents: boolean;
  wait: boolean;
}): Promise<void> {
  if (input.tasks.length === 0) throw usageError('--tasks', 'the catalog holds no task', 'add tasks to the catalog (see docs/tasks.md) or give another file');
  const [{ planRun, summarizeResults }, { openStore }, { enqueueRun, followRun }] = await Promise.all([import('../run/index.js'), import('../store/index.js'), import('../queue/index.js')]);
  const plans = planRun(input.tasks, input.agents, input.settings);
  if (plans.length === 0) throw usageError('--only', `matches no task of the catalog (${input.settings.only.join(', ')})`, 'give a prefix of a task commit');
  const store = await openStore(input.url);
  try {
    const queued = await enqueueRun({ url: input.url, store, plans, settings: input.settings, runId: input.runId, engineKind: input.engine, engineKey: input.engineKey, config: input.config });
    const count = (s: string) => queued.tasks.filter((t) => t.status === s).length;
    if (input.jsonEvents) process.stdout.write(`${JSON.stringify({ type: 'queued', ...queued })}\n`);
    else {
      const what = queued.runId === null ? 'nothing to enqueue' : `run ${queued.runId}: ${count('added')} task(s) with ${queued.trialsToRun} trial(s) queued`;
      process.stderr.write(`${what} (queue ${queued.queueSchema} in ${store.location}); ${count('queued')} task(s) already queued by an earlier run, ${count('stored')} already stored\n`);
      if (queued.runId !== null && !input.wait) process.stderr.write(`start workers with \`isobench worker --store <url> --engine ${input.engine}\` (see docs/queue.md); \`isobench status --store <url>\` shows the fleet\n`);
    }
    if (!input.wait || queued.runId === null) return;
    const runId = queued.runId;
    const mine = plans.filter((p) => queued.tasks.some((t) => t.taskCommit === p.task.commit && t.status === 'added'));
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const reporter = createReporter({ jsonEvents: input.jsonEvents });
    try {
      const followed = await followRun({ store, plans: mine, runId, engine: input.engine, onEvent: (e) => reporter.onEvent(e), signal: abort.signal });
      reporter.close();
      const rows = await summarizeResults(store, mine);
      const status = followed.status === 'finished' ? 'finished' : followed.status === 'cancelled' ? 'cancelled' : 'failed';
      const summary: RunSummary = { runId, status, outcomes: followed.outcomes, durationS: followed.durationS, error: status === 'failed' ? 'a task of the run failed on every attempt (isobench status shows the last error)' : null };
      if (status === 'cancelled' && !input.jsonEvents) process.stderr.write(`stopped following: the jobs of ${runId} stay queued; \`isobench status\` shows them\n`);
      else printResults(rows, summary, input.jsonEvents);
      process.exitCode = exitCodeOf(summary);
    } finally {
      reporter.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } finally {
    await store.close();
  }
}

/** `isobench run`: baseline, human and agent variants of every task, interleaved trials, recorded in the store. */
export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('Benchmark the baseline, human and agent variants of each task with interleaved trials; re-running resumes');
  addOptions(cmd, RUN_OPTIONS);
  cmd.action(async (raw) => {
    await runCommand(raw);
  });
}
