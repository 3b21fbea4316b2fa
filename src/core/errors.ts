/** Stable error codes: extend, never rename (scripts match on them). */
export type ErrorCode =
  | 'E_USAGE' // a bad option or argument: the message says which and how to fix it
  | 'E_INPUT' // a file or text that cannot be read as what it should be
  | 'E_TASK_INVALID'
  | 'E_TOKENIZER_UNAVAILABLE'
  | 'E_CONNECT'
  | 'E_STORE'
  | 'E_ENGINE'
  | 'E_NO_METRICS'
  | 'E_CANCELLED'
  | 'E_BUSY' // another run holds what this one needs (the store's lease of a task configuration): nothing was done
  | 'E_INTERNAL';

/** An error the user can act on: the CLI prints its message (and hint) without a stack trace. */
export class IsobenchError extends Error {
  override readonly name = 'IsobenchError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? (code === 'E_USAGE' ? 2 : 1);
  }
}

/** A bad option value: names the option and how to fix it. */
export function usageError(option: string, problem: string, fix?: string): IsobenchError {
  return new IsobenchError('E_USAGE', `${option}: ${problem}`, fix === undefined ? {} : { hint: fix });
}

/** The message of any thrown value, for evidence fields and logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
