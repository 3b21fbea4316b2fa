import type { Command } from '@commander-js/extra-typings';
import { register as registerBenchServe } from './bench-serve.js';
import { register as registerBuilds } from './builds.js';
import { register as registerClassify } from './classify.js';
import { register as registerCompare } from './compare.js';
import { register as registerDataset } from './dataset.js';
import { register as registerDemo } from './demo.js';
import { register as registerDeploy } from './deploy.js';
import { register as registerImport } from './import.js';
import { register as registerParse } from './parse.js';
import { register as registerPerfCommand } from './perf-command.js';
import { register as registerReport } from './report.js';
import { register as registerRun } from './run.js';
import { register as registerSim } from './sim.js';
import { register as registerStatus } from './status.js';
import { register as registerTasks } from './tasks.js';
import { register as registerWorker } from './worker.js';

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
