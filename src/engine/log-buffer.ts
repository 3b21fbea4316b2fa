import { isSecretEnvName, MIN_SECRET_LENGTH, redactValues } from '../core/index.js';

/** Default bound of a captured server log: the last 2 MB are kept. */
export const DEFAULT_LOG_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * The tail of a process's output, bounded in size, read back with secrets redacted: both the known token patterns
 * and the literal values of secret variables that were passed to the process (a token in no known format included).
 */
export class LogBuffer {
  private chunks: string[] = [];
  private size = 0;
  private dropped = 0;
  private readonly secrets: string[];

  constructor(
    private readonly limitBytes = DEFAULT_LOG_LIMIT_BYTES,
    env: Readonly<Record<string, string>> = {},
  ) {
    this.secrets = secretValues(env);
  }

  /** Appends output; older output beyond the limit is dropped. */
  append(chunk: string | Buffer): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text === '') return;
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limitBytes && this.chunks.length > 1) {
      const first = this.chunks.shift() ?? '';
      this.size -= first.length;
      this.dropped += first.length;
    }
    if (this.size > this.limitBytes && this.chunks.length === 1) {
      const only = this.chunks[0] ?? '';
      const cut = only.length - this.limitBytes;
      this.chunks[0] = only.slice(cut);
      this.size -= cut;
      this.dropped += cut;
    }
  }

  /** The kept output, secrets redacted, with a note when older output was dropped. */
  text(): string {
    const body = redactValues(this.chunks.join(''), this.secrets);
    return this.dropped > 0 ? `[isobench: ${this.dropped} earlier characters dropped]\n${body}` : body;
  }
}

/** The values of secret variables in `env`, longest first, for literal redaction. */
export function secretValues(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env)
    .filter(([k, v]) => isSecretEnvName(k) && v.length >= MIN_SECRET_LENGTH)
    .map(([, v]) => v)
    .sort((a, b) => b.length - a.length);
}
