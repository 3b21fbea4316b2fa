import type { Command } from '@commander-js/extra-typings';
import { register as registerBenchServe, TABLES as benchServeTables } from './bench-serve.js';
import { register as registerBuilds, TABLES as buildsTables } from './builds.js';
import { register as registerClassify, TABLES as classifyTables } from './classify.js';
import { register as registerCompare, TABLES as compareTables } from './compare.js';
import { register as registerDataset, TABLES as datasetTables } from './dataset.js';
import { register as registerDemo, TABLES as demoTables } from './demo.js';
import { register as registerDeploy, TABLES as deployTables } from './deploy.js';
import { register as registerImport, TABLES as importTables } from './import.js';
import { register as registerParse, TABLES as parseTables } from './parse.js';
import { register as registerPerfCommand, TABLES as perfCommandTables } from './perf-command.js';
import { register as registerReport, TABLES as reportTables } from './report.js';
import { register as registerRun, TABLES as runTables } from './run.js';
import { register as registerSim } from './sim.js';
import { register as registerStatus, TABLES as statusTables } from './status.js';
import { register as registerTasks, TABLES as tasksTables } from './tasks.js';
import { register as registerWorker, TABLES as workerTables } from './worker.js';

/** The options table of every command that has options, by command path (`dataset build`). */
export const COMMAND_TABLES = {
  ...benchServeTables,
  ...buildsTables,
  ...classifyTables,
  ...compareTables,
  ...datasetTables,
  ...demoTables,
  ...deployTables,
  ...importTables,
  ...parseTables,
  ...perfCommandTables,
  ...reportTables,
  ...runTables,
  ...statusTables,
  ...tasksTables,
  ...workerTables,
};

/**
 * Every command of the CLI. Each command lives in its own file and exports `register(program)`.
 * Add one import and one call per command; keep the list sorted by command name.
 */
export function registerCommands(program: Command): void {
  registerBenchServe(program);
  registerBuilds(program);
  registerClassify(program);
  registerCompare(program);
  registerDataset(program);
  registerDemo(program);
  registerDeploy(program);
  registerImport(program);
  registerParse(program);
  registerPerfCommand(program);
  registerReport(program);
  registerRun(program);
  registerSim(program);
  registerStatus(program);
  registerTasks(program);
  registerWorker(program);
}
