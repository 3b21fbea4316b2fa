import { redactDeep, redactSecrets } from '../core/index.js';

/**
 * Prints a command's result: `value` as indented JSON with `--json`, else the human text (built only when needed).
 * Secrets are redacted on the way out (the JSON value by value, so its quoting stays valid).
 */
export function writeResult(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(redactDeep(value), null, 2)}\n` : redactSecrets(text()));
}
