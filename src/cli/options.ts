import { Option } from '@commander-js/extra-typings';
import { IsobenchError, usageError } from '../core/index.js';

/**
 * Options declared once. Each command has one table, `{ key: spec }`, from which come its commander options (flag,
 * help with the default, choices, mandatory), the strict reading of what was typed (numbers in decimal digits within
 * a named range, enums, lists, patterns) and the typed options object (`OptionsOf<typeof TABLE>`). A default lives
 * in core/ or in the stage that owns it; the table refers to that constant, so `--help` shows the value used.
 */

/** Bounds of a numeric option; `int` asks for a whole number. */
export interface NumberRule {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Exclusive upper bound. */
  lt?: number;
  /** An example value for the message (default 3, or 0.5 for fractions). */
  example?: string;
  /** `inf` is allowed and means Infinity (`--request-rate inf`). */
  inf?: boolean;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** The range problem of `n` under `rule`, or null. */
function rangeProblem(flag: string, n: number, rule: NumberRule): string | null {
  if (rule.int && !Number.isSafeInteger(n)) return Number.isInteger(n) ? `${flag} is too large (got ${n})` : `${flag} must be a whole number`;
  if (rule.gt !== undefined && !(n > rule.gt)) return `${flag} must be > ${rule.gt}`;
  if (rule.min !== undefined && n < rule.min) return `${flag} must be >= ${rule.min}`;
  if (rule.max !== undefined && n > rule.max) return `${flag} must be <= ${rule.max}`;
  if (rule.lt !== undefined && !(n < rule.lt)) return `${flag} must be < ${rule.lt}`;
  return null;
}

/**
 * The one reading of a number on the command line, for every command: decimal digits only. `Number()` would take
 * `0x10` as 16, `1e3` as 1,000, `Infinity`, and an empty `--warmups=` as 0; each of those is a problem message here.
 * A number (a table's default, a value set by code) is checked against the range only.
 * Returns the number, or the problem (without the option prefix) when the text is not one.
 */
export function checkNumber(flag: string, raw: string | number, rule: NumberRule = {}): number | string {
  const example = rule.example ?? (rule.int ? '3' : '0.5');
  if (typeof raw === 'number') return (rule.inf && raw === Infinity) || Number.isFinite(raw) ? (rangeProblem(flag, raw, rule) ?? raw) : `${flag} must be a finite number`;
  if (raw.trim() === '') return `${flag} needs a value, e.g. ${flag} ${example} (got an empty string)`;
  if (rule.inf && raw === 'inf') return rangeProblem(flag, Infinity, rule) ?? Infinity;
  if (!(rule.int ? INTEGER : DECIMAL).test(raw)) {
    const what = `${rule.int ? 'a whole number' : 'a number'} in decimal digits${rule.inf ? ' or inf' : ''}`;
    return `${flag} must be ${what}, e.g. ${example} (got ${JSON.stringify(raw)})`;
  }
  const n = Number(raw);
  if (rule.int && !Number.isSafeInteger(n)) return `${flag} is too large (got ${raw})`;
  return rangeProblem(flag, n, rule) ?? n;
}

/** `checkNumber` for values read outside a table (`KEY:VALUE` pairs): throws the usage error. */
export function parseNumberOption(flag: string, raw: string, rule: NumberRule = {}, where = flag): number {
  const r = checkNumber(flag, raw, rule);
  if (typeof r === 'string') throw usageError(where, r);
  return r;
}

/** What every spec may say, besides its kind. */
interface Common {
  /** Commander's flag text, e.g. `--num-prompts <n>`, `--json`, `--no-raw`, `--lora-modules <names...>`. */
  readonly flag: string;
  readonly help: string;
  /** Missing is an error: commander says so; the message is for values set by code (`--tasks: is required: ...`). */
  readonly required?: string;
  /** A vLLM flag isobench cannot honour: declared so that giving it fails with this reason (exit 2). */
  readonly refused?: string;
  /** Accepted so vLLM command lines run unchanged, and ignored (a note says so). */
  readonly ignored?: boolean;
  /** The help of the `--no-` form of a boolean that has both (`--self-timed` / `--no-self-timed`). */
  readonly negation?: string;
}

export interface IntSpec extends Common { readonly kind: 'int'; readonly rule: NumberRule; readonly default?: number; readonly keywords?: readonly string[] }
export interface NumSpec extends Common { readonly kind: 'number'; readonly rule: NumberRule; readonly default?: number }
export interface EnumSpec extends Common { readonly kind: 'enum'; readonly choices: readonly string[]; readonly default?: string; readonly refusedChoices?: Readonly<Record<string, string>> }
export interface StringSpec extends Common { readonly kind: 'string'; readonly default?: string; readonly empty?: boolean; readonly pattern?: readonly [RegExp, string]; readonly maxLength?: number; readonly check?: (v: string) => string | null }
export interface BoolSpec extends Common { readonly kind: 'bool'; readonly default?: boolean }
/** A comma-separated list (`--variants baseline,human`). */
export interface ListSpec extends Common { readonly kind: 'list'; readonly noEmptyItems?: boolean; readonly default?: readonly (string | number)[]; readonly item?: NumberRule & { name: string }; readonly choices?: readonly string[]; readonly pattern?: RegExp; readonly problem?: string }
/** A repeatable (`--agent a --agent b`) or variadic (`--mappings a b`) option. */
export interface StringsSpec extends Common { readonly kind: 'strings'; readonly default?: readonly string[]; readonly pattern?: readonly [RegExp, string] }

export type OptionSpec = IntSpec | NumSpec | EnumSpec | StringSpec | BoolSpec | ListSpec | StringsSpec;
export type OptionKind = OptionSpec['kind'];
export type OptionTable = Readonly<Record<string, OptionSpec & Typed<unknown, boolean>>>;

/** The value type a spec yields (`T`) and whether it always has one (`Always`: a default or required). */
export interface Typed<T, Always extends boolean> {
  readonly __value?: T;
  readonly __always?: Always;
}

/** The typed options object of a table. */
export type OptionsOf<Table> = {
  -readonly [K in keyof Table]: Table[K] extends Typed<infer T, infer A> ? (A extends true ? T : T | undefined) : never;
};

type Has<O, K extends string> = O extends Record<K, unknown> ? true : false;
type Always<O> = Has<O, 'default'> extends true ? true : Has<O, 'required'>;
type Opts<S> = Omit<S, 'kind' | 'flag' | 'help'>;
type Extra = Pick<Common, 'required' | 'refused' | 'ignored'>;
type IntOptions = NumberRule & Extra & { default?: number; keywords?: readonly string[] };
type NumOptions = Omit<NumberRule, 'int'> & Extra & { default?: number };
type Keyword<O> = O extends { keywords: readonly (infer K)[] } ? K : never;
const RULE_KEYS = ['int', 'min', 'max', 'gt', 'lt', 'example', 'inf'] as const;

/** Splits builder options into the number rule and the rest of the spec. */
function splitRule(o: object): { rule: NumberRule; rest: Record<string, unknown> } {
  const rule: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) ((RULE_KEYS as readonly string[]).includes(k) ? rule : rest)[k] = v;
  return { rule: rule, rest };
}

/** The builders of table entries; each returns data (kind, flag, help, range, default...). */
export const opt = {
  /** A whole number within the rule; `keywords` are words taken as themselves (`--trials auto`). */
  int<const O extends IntOptions = object>(flag: string, help: string, o: O = {} as O) {
    const { rule, rest } = splitRule(o);
    return { kind: 'int', flag, help, rule: { ...rule, int: true }, ...rest } as IntSpec & Typed<number | Keyword<O>, Always<O>>;
  },
  /** A whole number > 0. */
  posInt<const O extends Omit<IntOptions, 'gt'> = object>(flag: string, help: string, o: O = {} as O) {
    return opt.int(flag, help, { ...o, gt: 0 }) as IntSpec & Typed<number | Keyword<O>, Always<O>>;
  },
  /** A whole number >= 0. */
  nonNegInt<const O extends Omit<IntOptions, 'min'> = object>(flag: string, help: string, o: O = {} as O) {
    return opt.int(flag, help, { ...o, min: 0 }) as IntSpec & Typed<number | Keyword<O>, Always<O>>;
  },
  /** A number within the rule (fractions allowed). */
  num<const O extends NumOptions = object>(flag: string, help: string, o: O = {} as O) {
    const { rule, rest } = splitRule(o);
    return { kind: 'number', flag, help, rule, ...rest } as NumSpec & Typed<number, Always<O>>;
  },
  /** One of `choices` (commander lists them in --help and refuses others); `refusedChoices` fail with their reason. */
  choice<const C extends readonly string[], const O extends Extra & { default?: C[number]; refusedChoices?: Readonly<Record<string, string>> } = object>(flag: string, help: string, choices: C, o: O = {} as O) {
    return { kind: 'enum', flag, help, choices, ...o } as EnumSpec & Typed<C[number], Always<O>>;
  },
  /** A non-empty text; `pattern` [regex, what to give], `maxLength`, `check` (returns the problem or null). */
  text<const O extends Opts<StringSpec> = object>(flag: string, help: string, o: O = {} as O) {
    return { kind: 'string', flag, help, ...o } as StringSpec & Typed<string, Always<O>>;
  },
  /** A switch: false unless given (`--no-x`: true unless given); with `negation` (the --no-x help), undefined unless given. */
  bool<const O extends Opts<BoolSpec> = object>(flag: string, help: string, o: O = {} as O) {
    return { kind: 'bool', flag, help, ...o } as BoolSpec & Typed<boolean, O extends { negation: string } ? Has<O, 'default'> : true>;
  },
  /** A comma-separated list of non-empty items, each among `choices` or matching `pattern` (`problem` says what to give). */
  list<const O extends Opts<ListSpec> = object>(flag: string, help: string, o: O = {} as O) {
    return { kind: 'list', flag, help, ...o } as ListSpec & Typed<string[], Always<O>>;
  },
  /** A comma-separated list of numbers, each read as `checkNumber(item.name, ...)` reads one. */
  numbers<const O extends Omit<Opts<ListSpec>, 'choices' | 'pattern' | 'default'> & { item: NumberRule & { name: string }; default?: readonly number[] }>(flag: string, help: string, o: O) {
    return { kind: 'list', flag, help, ...o } as ListSpec & Typed<number[], Always<O>>;
  },
  /** Repeatable (`<v>`: each use adds one; none by default) or variadic (`<v...>`) values. */
  strings<const F extends string, const O extends Opts<StringsSpec> = object>(flag: F, help: string, o: O = {} as O) {
    const repeatable = !flag.includes('...');
    return { kind: 'strings', flag, help, ...(repeatable ? { default: [] } : {}), ...o } as StringsSpec & Typed<string[], F extends `${string}...${string}` ? Always<O> : true>;
  },
  /** A vLLM flag isobench refuses, with the reason (shown in --help and in the error). */
  refused(flag: string, reason: string) {
    return { kind: flag.includes('<') ? 'string' : 'bool', flag, help: `refused: ${reason}`, refused: reason } as OptionSpec & Typed<never, false>;
  },
};

/** `--num-prompts <n>` → `--num-prompts`. */
export function flagName(spec: Pick<OptionSpec, 'flag'>): string {
  return spec.flag.split(/[ =]/)[0]!;
}

/** The key commander gives a flag: `--num-prompts` → `numPrompts`, `--no-raw` → `raw`. */
function attributeOf(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** How --help shows a default (a list as it is typed). */
function defaultText(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.join(',');
  if (v === Infinity) return 'inf';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** What --help shows as a spec's default, or undefined (none, or a switch's false). */
export function helpDefault(spec: OptionSpec): string | undefined {
  if (spec.default === undefined || spec.kind === 'bool') return undefined;
  return defaultText(spec.default);
}

/** Registers `table`'s options on `cmd` and makes `action`, given the options read by the table, what it runs. */
export function addOptionsAction<T extends OptionTable>(
  cmd: { addOption: (option: never) => unknown; action: (fn: (raw: Readonly<Record<string, unknown>>) => Promise<void>) => unknown },
  table: T,
  action: (opts: OptionsOf<T>) => Promise<void>,
): void {
  addOptions(cmd, table);
  cmd.action(async (raw) => {
    await action(readOptions(table, raw));
  });
}

/** Registers every option of `table` on `cmd`; a key that is not the flag's commander name is a programming error. */
export function addOptions(cmd: { addOption: (option: never) => unknown }, table: OptionTable): void {
  for (const [key, spec] of Object.entries(table)) {
    if (attributeOf(flagName(spec)) !== key) throw new Error(`options table: key ${key} does not match ${spec.flag}`);
    const o = new Option(spec.flag, spec.help);
    // An enum with refused values takes any word at parse time (help still lists the choices), so that a refused
    // one fails in readOptions with its reason instead of commander's "Allowed choices are".
    if (spec.kind === 'enum' && spec.refusedChoices !== undefined) o.argChoices = [...spec.choices];
    else if (spec.kind === 'enum') o.choices(spec.choices);
    if (spec.kind === 'strings' && !spec.flag.includes('...')) o.argParser((v: string, acc: unknown) => [...(Array.isArray(acc) ? (acc as string[]) : []), v]);
    const shown = helpDefault(spec);
    // A switch's false and an empty list are not shown (commander would print `[]`).
    if (shown !== undefined) o.default(spec.default, shown);
    if (spec.required !== undefined) o.makeOptionMandatory();
    cmd.addOption(o as never);
    if (spec.kind === 'bool' && spec.negation !== undefined) cmd.addOption(new Option(flagName(spec).replace(/^--/, '--no-'), spec.negation) as never);
  }
}

/** One option's problem (without the flag prefix), or its value. */
function readOne(spec: OptionSpec, flag: string, v: unknown): { value: unknown } | { problem: string } {
  const problem = (p: string) => ({ problem: p });
  switch (spec.kind) {
    case 'int':
    case 'number': {
      if (spec.kind === 'int' && typeof v === 'string' && spec.keywords?.includes(v)) return { value: v };
      if (typeof v !== 'string' && typeof v !== 'number') return problem(`${flag} needs a value`);
      const r = checkNumber(flag, v, spec.rule);
      return typeof r === 'number' ? { value: r } : problem(r);
    }
    case 'enum': {
      if (typeof v === 'string' && spec.refusedChoices?.[v] !== undefined) return problem(`${v} is not supported: ${spec.refusedChoices[v]}`);
      return typeof v === 'string' && spec.choices.includes(v) ? { value: v } : problem(`must be one of ${spec.choices.join(', ')}`);
    }
    case 'string': {
      if (typeof v !== 'string' || (v === '' && !spec.empty)) return problem('needs a value');
      if (spec.maxLength !== undefined && v.length > spec.maxLength) return problem(`at most ${spec.maxLength} characters`);
      if (spec.pattern && !spec.pattern[0].test(v)) return problem(spec.pattern[1]);
      const p = spec.check?.(v) ?? null;
      return p === null ? { value: v } : problem(p);
    }
    case 'bool':
      return typeof v === 'boolean' ? { value: v } : problem('takes no value');
    case 'list': {
      const split = typeof v === 'string' ? v.split(',').map((x) => x.trim()) : null;
      if (split !== null && spec.noEmptyItems && split.includes('')) return problem(`"${String(v)}" has an empty entry`);
      const items = Array.isArray(v) ? (v as (string | number)[]) : split === null ? null : split.filter(Boolean);
      if (items === null || items.length === 0) return problem(`${flag} needs at least one value`);
      if (spec.item !== undefined) {
        const numbers: number[] = [];
        for (const x of items) {
          const r = checkNumber(spec.item.name, x, spec.item);
          if (typeof r === 'string') return problem(r);
          numbers.push(r);
        }
        return { value: numbers };
      }
      const bad = items.map(String).find((x) => (spec.choices !== undefined && !spec.choices.includes(x)) || (spec.pattern !== undefined && !spec.pattern.test(x)));
      if (bad !== undefined) return problem(spec.problem ?? `"${bad}" is not allowed${spec.choices ? `: give a comma-separated subset of ${spec.choices.join(',')}` : ''}`);
      return { value: items };
    }
    case 'strings': {
      const items = Array.isArray(v) ? (v as unknown[]) : [v];
      if (!items.every((x): x is string => typeof x === 'string' && x !== '')) return problem('needs a value');
      const bad = spec.pattern ? items.find((x) => !spec.pattern![0].test(x)) : undefined;
      return bad === undefined ? { value: items } : problem(spec.pattern![1]);
    }
  }
}

/**
 * Reads a command's options (commander's values, or values set by code) by its table, once, at the boundary: every
 * default filled in, every bad value an E_USAGE error (exit 2) that names the option, what was wrong and the fix;
 * keys the table does not know are left out.
 */
export function readOptions<T extends OptionTable>(table: T, raw: Readonly<Record<string, unknown>>): OptionsOf<T> {
  const out: Record<string, unknown> = {};
  const lines: string[] = [];
  for (const [key, spec] of Object.entries(table)) {
    const flag = flagName(spec);
    const v = raw[key];
    if (spec.refused !== undefined) {
      // A refused `--no-x` is the switch x set to false (commander's default for it is true).
      if (flag.startsWith('--no-') ? v === false : v !== undefined) lines.push(`${flag}: not supported: ${spec.refused}`);
      continue;
    }
    if (v === undefined) {
      if (spec.ignored) continue;
      if (spec.required !== undefined) lines.push(`${flag}: is required: ${spec.required}`);
      else if (spec.default !== undefined) out[key] = Array.isArray(spec.default) ? [...(spec.default as unknown[])] : spec.default;
      else if (spec.kind === 'bool' && spec.negation === undefined) out[key] = flag.startsWith('--no-');
      continue;
    }
    const r = readOne(spec, flag, v);
    if ('problem' in r) lines.push(`${flag}: ${r.problem}`);
    else out[key] = r.value;
  }
  if (lines.length > 0) throw new IsobenchError('E_USAGE', lines.join('\n'), { hint: 'run the command with --help to see every option' });
  return out as OptionsOf<T>;
}
