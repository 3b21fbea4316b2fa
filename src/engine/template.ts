/**
 * Command templates such as `{venv}/bin/vllm serve {model} --port {port} {server_args}`: split on whitespace into
 * argv (no shell is ever involved), then each word's `{name}` variables are substituted. A word that is exactly a
 * list variable (`{server_args}`, `{args}`) expands to several argv items, or to none.
 */

const VAR = /\{([a-z_][a-z0-9_]*)\}/g;

/** The variable names used in a template. */
export function templateVariables(template: string): string[] {
  return [...template.matchAll(VAR)].map((m) => m[1] ?? '');
}

/** The names in `template` that are not in `known`, for a config error that names them. */
export function unknownVariables(template: string, known: readonly string[]): string[] {
  return templateVariables(template).filter((v) => !known.includes(v));
}

/** Substitutes scalar variables in one string (env values, paths). */
export function expandString(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(VAR, (whole, name: string) => vars[name] ?? whole);
}

/** Splits a template into argv and expands it; list variables that fill a whole word become several words. */
export function expandArgv(template: string, vars: Readonly<Record<string, string>>, lists: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const word of template.trim().split(/\s+/)) {
    if (word === '') continue;
    const list = /^\{([a-z_][a-z0-9_]*)\}$/.exec(word);
    const listValue = list ? lists[list[1] ?? ''] : undefined;
    if (listValue !== undefined) out.push(...listValue);
    else out.push(expandString(word, vars));
  }
  return out;
}
