/**
 * Secrets never reach logs, stores, datasets or reports. Everything that persists or prints text that came from
 * outside (server logs, benchmark output, commands, environments) passes through `redactSecrets` first.
 *
 * Two nets: by value, every secret isobench was given (the secret-named variables of its own environment, every
 * `--header` value, the secret env values, flags and headers of every perf command it parsed) is replaced wherever it
 * appears, in any format and of any length from MIN_SECRET_LENGTH; by pattern, known token formats and `NAME=value`,
 * `--flag value` and `Header: value` forms that carry secrets, for text whose secrets isobench was never given.
 */
const SECRET_ENV_NAMES = /^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HUGGINGFACE_TOKEN|OPENAI_API_KEY|ANTHROPIC_API_KEY|PGPASSWORD|.*_(TOKEN|API_KEY|SECRET|PASSWORD))$/;

/** Command-line flags whose value is a secret: `--hf-token X`, `--api-key=X`, `--openai-api-key X`... */
const SECRET_FLAG = /^--(?:hf[-_]token|token|api[-_]key|password|secret|[a-z0-9-]*[-_](?:token|api[-_]key|secret|password))$/i;

/** Header names whose value is a secret (every `--header` value isobench is given is redacted by value anyway). */
const SECRET_HEADER = /^(?:authorization|proxy-authorization|x-api-key|api-key|x-auth-token|x-hf-token|cookie|set-cookie)$/i;

/** Shorter values are not redacted by value: replacing every `ab` in a log would destroy it and hide nothing. */
export const MIN_SECRET_LENGTH = 4;

const VALUE = String.raw`("[^"]*"|'[^']*'|[^\s"']+)`;
const FLAG_NAMES = String.raw`--(?:hf[-_]token|token|api[-_]key|password|secret|[a-z0-9-]*[-_](?:token|api[-_]key|secret|password))`;
const HEADER_NAMES = String.raw`authorization|proxy-authorization|x-api-key|api-key|x-auth-token|x-hf-token|cookie`;

/** [pattern, replacement] in the order they apply. */
const PATTERNS: [RegExp, string][] = [
  // Hugging Face tokens (`hf_` + 34 today) and OpenAI / Anthropic keys, short ones included; a token has a digit or
  // a capital, which keeps `hf_transfer` and `sk-learn` as they are.
  [/\bhf_(?=[A-Za-z0-9]*[A-Z0-9])[A-Za-z0-9]{4,}/g, '***'],
  [/\bsk-(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{4,}/g, '***'],
  // `Authorization: Bearer x`, `x-api-key=x`, `"authorization": "x"` (JSON), `cookie: x`.
  [new RegExp(String.raw`(\b(?:${HEADER_NAMES})["']?\s*[=:]\s*["']?(?:Bearer\s+|Basic\s+|Token\s+)?)[^\s"',}]+`, 'gi'), '$1***'],
  [/\b([Bb]earer)\s+[^\s"',}]+/g, '$1 ***'],
  // `--hf-token x`, `--api-key=x`; an unquoted value with a digit, a capital or a sign (not the `for` of a sentence).
  [new RegExp(String.raw`(${FLAG_NAMES}(?:=|\s+))("[^"]*"|'[^']*'|(?=[^\s"']*[^a-z\s"'])[^\s"']+)`, 'g'), '$1***'],
  // `HF_TOKEN=x`, `MY_API_KEY: x`.
  [new RegExp(String.raw`\b((?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|PGPASSWORD|[A-Z0-9_]*(?:_TOKEN|_API_KEY|_SECRET|_PASSWORD))\s*[=:]\s*)${VALUE}`, 'g'), '$1***'],
  // Passwords inside connection strings.
  [/(postgres(?:ql)?:\/\/[^:/\s]+:)([^@\s]+)(@)/g, '$1***$3'],
];

/** Values registered with `addSecretValues` (headers from the command line, secrets of parsed perf commands). */
const given = new Set<string>();
let envCache: { snapshot: string; values: string[] } | undefined;

/** Makes `values` secrets of this process: from now on `redactSecrets` replaces them wherever they appear. */
export function addSecretValues(values: Iterable<string>): void {
  for (const v of values) {
    const t = v.trim();
    if (t.length >= MIN_SECRET_LENGTH && t !== '***') given.add(t);
  }
}

/** The values of the secret-named variables of this process's environment (re-read when the environment changes). */
function envSecretValues(): string[] {
  const entries = Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string' && isSecretEnvName(e[0]));
  const snapshot = entries.map(([k, v]) => `${k}=${v}`).join('\0');
  if (envCache?.snapshot !== snapshot) envCache = { snapshot, values: entries.map(([, v]) => v.trim()).filter((v) => v.length >= MIN_SECRET_LENGTH) };
  return envCache.values;
}

/** Every secret value known to this process, longest first (so a value containing another goes whole). */
export function knownSecretValues(): string[] {
  return longestFirst([...envSecretValues(), ...given]);
}

/**
 * Replaces every known secret value and `extra` (values passed to one process, say) wherever they appear in `text`,
 * then every token, key and password pattern (see the module comment), with `***`.
 */
export function redactValues(text: string, extra: readonly string[]): string {
  return redactWith(text, extra.length === 0 ? knownSecretValues() : longestFirst([...extra, ...knownSecretValues()]));
}

/** Replaces every known secret value and every token, key and password pattern in `text` with `***`. */
export function redactSecrets(text: string): string {
  return redactWith(text, knownSecretValues());
}

function redactWith(text: string, values: readonly string[]): string {
  let out = text;
  for (const s of values) if (s.length >= MIN_SECRET_LENGTH && out.includes(s)) out = out.split(s).join('***');
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}

function longestFirst(values: readonly string[]): string[] {
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

/** True for environment variable names whose values are secrets (never logged, stored or shown). */
export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV_NAMES.test(name);
}

/** True for a command-line flag whose value is a secret (`--hf-token`, `--api-key`, `--openai-api-key`). */
export function isSecretFlag(flag: string): boolean {
  return SECRET_FLAG.test(flag);
}

/** True for an HTTP header whose value is a secret (`Authorization`, `X-Api-Key`, `Cookie`). */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name.trim());
}

/** The value of a header and, for `Bearer x` / `Basic x`, the credential alone: both are secrets by value. */
export function headerSecretValues(value: string): string[] {
  const v = value.trim();
  const m = /^(?:Bearer|Basic|Token)\s+(.+)$/i.exec(v);
  return m?.[1] === undefined ? [v] : [v, m[1]];
}

/**
 * The secret values in an argument list: the values of secret flags (`--hf-token X`, `--api-key=X`) and of every
 * `--header` / `-H` (`KEY=VALUE` or `KEY: VALUE`, one or more words after the flag), plus the credential of
 * `Bearer X`. Values of secret-named `NAME=value` words (an environment prefix) too.
 */
export function secretsOfArgs(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    const eq = w.indexOf('=');
    const env = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w);
    if (env?.[1] !== undefined && isSecretEnvName(env[1])) out.push(env[2] ?? '');
    if (w.startsWith('--') && eq > 0) {
      const flag = w.slice(0, eq);
      if (isSecretFlag(flag)) out.push(w.slice(eq + 1));
      else if (flag === '--header') out.push(...headerValueSecrets(w.slice(eq + 1)));
      continue;
    }
    if (isSecretFlag(w) && i + 1 < words.length) out.push(words[++i] ?? '');
    else if (w === '--header' || w === '-H') {
      while (i + 1 < words.length && !(words[i + 1] ?? '').startsWith('-')) out.push(...headerValueSecrets(words[++i] ?? ''));
    }
  }
  return out.filter((v) => v.trim().length >= MIN_SECRET_LENGTH);
}

/** `KEY=VALUE` or `KEY: VALUE` → the secret values of VALUE (the whole word when it has no separator). */
function headerValueSecrets(item: string): string[] {
  const at = item.search(/[=:]/);
  return headerSecretValues(at < 0 ? item : item.slice(at + 1));
}

/** A copy of `env` with secret values replaced by `***`, for display and storage. */
export function redactEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = isSecretEnvName(k) ? '***' : redactSecrets(v);
  return out;
}

/**
 * A copy of a JSON-like value with every string redacted and the values of secret-named keys (`HF_TOKEN`,
 * `authorization`) replaced: redacting the serialized JSON instead could break its quoting.
 */
export function redactDeep<T>(value: T): T {
  const values = knownSecretValues();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactWith(v, values);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, (isSecretEnvName(k) || isSecretHeader(k)) && typeof x === 'string' ? '***' : walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
