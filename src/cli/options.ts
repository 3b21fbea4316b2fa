import { z } from 'zod';
import { IsobenchError, usageError } from '../core/index.js';

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

/** Bounds of a numeric option; `int` asks for a whole number. */
export interface NumberRule {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Exclusive upper bound, with the message that says why. */
  lt?: number;
  /** An example value for the message (default 3, or 0.5 for fractions). */
  example?: string;
  /** `inf` is allowed and means Infinity (`--request-rate inf`). */
  inf?: boolean;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * The one reading of a number on the command line, for every command: decimal digits only. `Number()` would take
 * `0x10` as 16, `1e3` as 1,000, `Infinity`, and an empty `--warmups=` as 0; each of those is a problem message here.
 * Returns the number, or the problem (without the option prefix) when the text is not one.
 */
export function checkNumber(flag: string, raw: string | number, rule: NumberRule = {}): number | string {
  const example = rule.example ?? (rule.int ? '3' : '0.5');
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (text.trim() === '') return `${flag} needs a value, e.g. ${flag} ${example} (got an empty string)`;
  if (rule.inf && text === 'inf') return Infinity;
  if (!(rule.int ? INTEGER : DECIMAL).test(text)) {
    const what = `${rule.int ? 'a whole number' : 'a number'} in decimal digits${rule.inf ? ' or inf' : ''}`;
    return `${flag} must be ${what}, e.g. ${example} (got ${JSON.stringify(text)})`;
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n) && rule.int) return `${flag} is too large (got ${text})`;
  if (rule.gt !== undefined && !(n > rule.gt)) return `${flag} must be > ${rule.gt}`;
  if (rule.min !== undefined && n < rule.min) return `${flag} must be >= ${rule.min}`;
  if (rule.max !== undefined && n > rule.max) return `${flag} must be <= ${rule.max}`;
  if (rule.lt !== undefined && !(n < rule.lt)) return `${flag} must be < ${rule.lt}`;
  return n;
}

/** `checkNumber` for values read outside zod (list items, `KEY:VALUE` pairs): throws the usage error. */
export function parseNumberOption(flag: string, raw: string, rule: NumberRule = {}, where = flag): number {
  const r = checkNumber(flag, raw, rule);
  if (typeof r === 'string') throw usageError(where, r);
  return r;
}

/** A zod schema of a number option given as text (or as a number, for defaults), read by `checkNumber`. */
function numberOption(flag: string, rule: NumberRule) {
  return z.union([z.string(), z.number()], { error: `${flag} needs a value` }).transform((v, ctx) => {
    const r = checkNumber(flag, v, rule);
    if (typeof r === 'number') return r;
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  });
}

/** zod helpers for option values that arrive as strings from commander; all read numbers with `checkNumber`. */
export const opt = {
  /** A number within `rule`. */
  number: numberOption,
  /** A positive integer given as text. */
  posInt: (name: string, rule: Omit<NumberRule, 'int' | 'gt'> = {}) => numberOption(name, { ...rule, int: true, gt: 0 }),
  /** A non-negative integer given as text. */
  nonNegInt: (name: string, rule: Omit<NumberRule, 'int' | 'min'> = {}) => numberOption(name, { ...rule, int: true, min: 0 }),
  /** A finite number given as text. */
  num: (name: string, rule: Omit<NumberRule, 'int'> = {}) => numberOption(name, rule),
};
