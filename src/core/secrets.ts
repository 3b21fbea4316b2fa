/**
 * Secrets never reach logs, stores, datasets or reports. Everything that persists or prints text that came from
 * outside (server logs, benchmark output, commands, environments) passes through `redactSecrets` first.
 */
const SECRET_ENV_NAMES = /^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HUGGINGFACE_TOKEN|OPENAI_API_KEY|ANTHROPIC_API_KEY|.*_(TOKEN|API_KEY|SECRET|PASSWORD))$/;

const PATTERNS: RegExp[] = [
  /\bhf_[A-Za-z0-9]{20,}\b/g, // Hugging Face tokens
  /\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}\b/g, // OpenAI / Anthropic keys
  /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b((?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|[A-Z0-9_]*(?:_TOKEN|_API_KEY|_SECRET|_PASSWORD))\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/g,
  /(postgres(?:ql)?:\/\/[^:/\s]+:)([^@\s]+)(@)/g, // passwords inside connection strings
];

/** Replaces tokens, keys and passwords in `text` with `***`. */
export function redactSecrets(text: string): string {
  let out = text;
  out = out.replace(PATTERNS[0]!, '***');
  out = out.replace(PATTERNS[1]!, '***');
  out = out.replace(PATTERNS[2]!, '$1 ***');
  out = out.replace(PATTERNS[3]!, '$1***');
  out = out.replace(PATTERNS[4]!, '$1***$3');
  return out;
}

/** True for environment variable names whose values are secrets (never logged, stored or shown). */
export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV_NAMES.test(name);
}

/** A copy of `env` with secret values replaced by `***`, for display and storage. */
export function redactEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = isSecretEnvName(k) ? '***' : redactSecrets(v);
  return out;
}
