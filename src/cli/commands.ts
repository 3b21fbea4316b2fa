import type { Command } from '@commander-js/extra-typings';
import { register as registerDataset } from './dataset.js';

/**
 * Every command of the CLI. Each command lives in its own file and exports `register(program)`.
 * Add one import and one call per command; keep the list sorted by command name.
 */
export function registerCommands(program: Command): void {
  void program;
  registerDataset(program);
}
