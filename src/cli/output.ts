/** Prints a command's result: `value` as indented JSON with `--json`, else the human text (built only when needed). */
export function writeResult(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text());
}
