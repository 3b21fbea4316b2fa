import { redactDeep } from '../../core/index.js';
import type { RunEvent } from '../../run/index.js';
import type { Reporter } from './types.js';

/** `--json-events`: one JSON object per line on stdout, nothing else; secrets redacted in every string. */
export function jsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return {
    onEvent(event: RunEvent) {
      out.write(`${JSON.stringify(redactDeep({ ts: new Date().toISOString(), ...event }))}\n`);
    },
    close() {},
  };
}
