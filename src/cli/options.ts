import { z } from 'zod';
import { IsobenchError } from '../core/index.js';

/**
 * Validates a command's parsed options with its zod schema, once, at the boundary.
 * A bad value fails at once with an E_USAGE error that names the option (as typed on the command line) and the fix.
 */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const flag = key ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : 'options';
    return `${flag}: ${issue.message}`;
  });
  throw new IsobenchError('E_USAGE', lines.join('\n'), { hint: 'run the command with --help to see every option' });
}

/** zod helpers for option values that arrive as strings from commander. */
export const opt = {
  /** A positive integer given as text. */
  posInt: (name: string) =>
    z.coerce.number({ error: `${name} must be a number` }).int(`${name} must be a whole number`).positive(`${name} must be > 0`),
  /** A non-negative integer given as text. */
  nonNegInt: (name: string) =>
    z.coerce.number({ error: `${name} must be a number` }).int(`${name} must be a whole number`).min(0, `${name} must be >= 0`),
  /** A finite number given as text. */
  num: (name: string) => z.coerce.number({ error: `${name} must be a number` }).refine(Number.isFinite, `${name} must be finite`),
};
