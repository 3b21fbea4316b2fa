import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { VARIANT_KINDS, WORKLOAD_DEFAULTS } from '../core/index.js';
import type { AgentSource, RunSettings } from '../run/index.js';
import { addOptionsAction, opt, type OptionTable, type OptionsOf } from './options.js';
import { executeRun, exitCodeOf, newRunId, printResults, resolveEngineConfig } from './run.js';
import { writeDemoOutputs } from './demo-outputs.js';


const DEMO_OPTIONS = {
  out: opt.text('--out <dir>', 'where the demo writes its store, dataset and report', { default: 'isobench-demo' }),
  store: opt.text('--store <file.sqlite|postgres://...>', 'record into this store instead of a fresh <out>/demo.sqlite (resumes)'),
  jsonEvents: opt.bool('--json-events', 'print progress as one JSON object per line on stdout'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { demo: DEMO_OPTIONS };

/** The demo's settings: three interleaved trials, two warm-ups, tight timeouts (the sim starts in milliseconds). */
function demoSettings(engineSettingsKey: string): RunSettings {
  return {
    trials: 3,
    warmups: 2,
    variants: VARIANT_KINDS,
    only: [],
    timeoutStartupS: 30,
    timeoutTrialS: 120,
    gpuCount: null,
    oomFallbackMaxModelLen: WORKLOAD_DEFAULTS.oomFallbackMaxModelLen,
    datasetDir: null,
    missingDataset: 'refuse',
    engineSettingsKey,
  };
}

function demoAgents({ DEMO_AGENTS, agentPatch }: typeof import('../run/index.js')): AgentSource[] {
  return DEMO_AGENTS.map((a) => ({
    name: a.name,
    model: a.model,
    patchPath: `built-in:${a.name}`,
    patchFor(commit: string) {
      const text = a.patches[commit];
      return text === undefined ? null : agentPatch(text, `built-in:${a.name}/${commit}.patch`);
    },
  }));
}

async function demoCommand(opts: OptionsOf<typeof DEMO_OPTIONS>): Promise<void> {
  const [runStage, { TaskSchema }, { redactUrl }, { createEngine }] = await Promise.all([import('../run/index.js'), import('../task/index.js'), import('../store/index.js'), import('../engine/index.js')]);
  const outDir = path.resolve(opts.out);
  mkdirSync(outDir, { recursive: true });
  // The demo's own store is fresh every time (a demo shows a whole run); --store keeps trials and resumes.
  const store = opts.store ?? path.join(outDir, 'demo.sqlite');
  if (opts.store === undefined) for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${store}${suffix}`, { force: true });
  const runId = newRunId();
  const engineConfig = await resolveEngineConfig('sim', undefined, runId);
  const t0 = performance.now();
  const { summary, rows, tasks } = await executeRun({
    tasks: runStage.DEMO_TASKS.map((t) => TaskSchema.parse(t)),
    agents: demoAgents(runStage),
    settings: demoSettings(engineConfig.key),
    engine: createEngine(engineConfig.config),
    store,
    runId,
    jsonEvents: opts.jsonEvents,
    config: { demo: true, out: outDir },
  });
  printResults(rows, summary, opts.jsonEvents, tasks);
  const written = summary.status === 'finished' ? await writeDemoOutputs(store, outDir) : [];
  const lines = [
    '',
    `demo ${summary.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    `  store:   ${redactUrl(store)}`,
    ...written.map((w) => `  ${`${w.what}:`.padEnd(8)} ${w.path}`),
    `  next:    isobench status --store ${redactUrl(store)}`,
  ];
  (opts.jsonEvents ? process.stderr : process.stdout).write(`${lines.join('\n')}\n`);
  process.exitCode = exitCodeOf(summary);
}

/** `isobench demo`: the whole pipeline on the sim engine with a built-in catalog, in about a minute. */
export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('Run a built-in catalog of three tasks with two agents on the simulated engine, then write the dataset and report');
  addOptionsAction(cmd, DEMO_OPTIONS, demoCommand);
}
