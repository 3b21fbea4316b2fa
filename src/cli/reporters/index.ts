import { jsonReporter } from './json.js';
import { plainReporter } from './plain.js';
import { ttyReporter } from './tty.js';
import type { Reporter } from './types.js';

export { formatBuilds } from './format.js';
export { formatResults, sweepCurves, type SweepCurves } from './table.js';
export type { Reporter } from './types.js';

/** `--json-events` → JSON lines on stdout; a TTY → the live tree (unless `live: false`); else plain lines (both on stderr). */
export function createReporter(opts: { jsonEvents: boolean; live?: boolean }): Reporter {
  if (opts.jsonEvents) return jsonReporter();
  return process.stderr.isTTY && opts.live !== false ? ttyReporter(process.stderr) : plainReporter(process.stderr);
}
