import { usageError } from '../core/index.js';
import { API_SERVER_FLAGS, ENGINE_FLAGS, type FlagSpec } from '../vllm/index.js';
import { parseSimProfile, type SimProfile } from './profile.js';

type Kind = 'int' | 'num' | 'bool' | 'str' | 'strs';

/** The kind of value of every profile key; each key is also a flag (`max_num_seqs` is `--max-num-seqs`). */
export const SIM_KNOBS: Readonly<Record<keyof SimProfile, Kind>> = {
  model: 'str',
  served_model_name: 'strs',
  max_model_len: 'int',
  max_num_seqs: 'int',
  kv_cache_tokens: 'int',
  prefill_tokens_per_s: 'num',
  decode_base_ms: 'num',
  decode_per_seq_ms: 'num',
  startup_delay_ms: 'num',
  noise: 'num',
  seed: 'int',
  noise_seed: 'int',
  start_level_sd: 'num',
  drift: 'num',
  drift_period_s: 'num',
  periodic_amplitude: 'num',
  periodic_period_s: 'num',
  position_effect: 'num',
  trial_position: 'int',
  vocab_size: 'int',
  eos_min_tokens: 'int',
  eos_max_tokens: 'int',
  wrong_output: 'bool',
  tensor_parallel_size: 'int',
  enable_prefix_caching: 'bool',
  gpu_memory_utilization: 'num',
  standalone_time: 'num',
  exact: 'bool',
  exact_first_ms: 'num',
  exact_interval_ms: 'num',
  record: 'bool',
  listen_backlog: 'int',
  crash_at_start: 'str',
  oom_above_max_model_len: 'int',
  die_after_chunks: 'int',
  die_after_requests: 'int',
  error_rate: 'num',
  error_every: 'int',
  stall_after_chunks: 'int',
  stall_every: 'int',
};

/** Short and legacy spellings of vLLM flags that map onto profile keys. */
const ALIASES: Readonly<Record<string, keyof SimProfile>> = {
  '-tp': 'tensor_parallel_size',
  '--tp': 'tensor_parallel_size',
};

/** vLLM's own server flags (engine and API server) by every spelling, from src/vllm's flag table. */
const VLLM_FLAGS: ReadonlyMap<string, FlagSpec> = new Map(
  [...ENGINE_FLAGS, ...API_SERVER_FLAGS].flatMap((spec) => [spec.name, ...(spec.aliases ?? [])].map((name) => [name, spec] as const)),
);

/** What `sim serve` arguments (or a perf command's server arguments) resolve to, before validation. */
export interface SimServeArgs {
  /** Profile keys set by flags (flags override the profile file). */
  overrides: Record<string, unknown>;
  profileFile?: string;
  host?: string;
  port?: number;
  /** One line per unknown flag that was ignored. */
  warnings: string[];
}

/** Reads vLLM's `1k` / `1K` / `2m` shorthands for token counts (k = 1000, K = 1024) as well as plain numbers. */
function parseNumber(flag: string, raw: string, kind: 'int' | 'num'): number {
  const m = /^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)([kKmMgG]?)$/.exec(raw.trim());
  const scale = { '': 1, k: 1e3, K: 1024, m: 1e6, M: 1024 ** 2, g: 1e9, G: 1024 ** 3 } as const;
  if (!m) throw usageError(flag, `expected a number, got "${raw}"`);
  const value = Number(m[1]) * scale[(m[2] ?? '') as keyof typeof scale];
  if (kind === 'int' && !Number.isInteger(value)) throw usageError(flag, `expected a whole number, got "${raw}"`);
  return value;
}

function parseBool(flag: string, raw: string): boolean {
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw usageError(flag, `expected true or false, got "${raw}"`);
}

const isFlag = (s: string | undefined): boolean => s !== undefined && /^-[-A-Za-z]/.test(s);

/**
 * Parses `sim serve` arguments: every profile key as a flag, `--profile`, `--host`, `--port`, vLLM's server flags
 * (known ones mapped or ignored, unknown ones ignored with a warning) and `vllm serve`'s positional model.
 */
export function parseSimServeArgs(argv: readonly string[]): SimServeArgs {
  const out: SimServeArgs = { overrides: {}, warnings: [] };
  const args = [...argv];
  if (args[0] === 'serve') args.shift();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!isFlag(arg)) {
      if (out.overrides.model === undefined) out.overrides.model = arg;
      else out.warnings.push(`WARNING: ignoring extra argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || (isFlag(next) && !/^-\d/.test(next))) throw usageError(flag, 'expects a value');
      i++;
      return next;
    };
    if (flag === '--profile') out.profileFile = takeValue();
    else if (flag === '--host') out.host = takeValue();
    else if (flag === '--port') out.port = parseNumber(flag, takeValue(), 'int');
    else if (flag === '--served-model-name') {
      const names: string[] = inline !== undefined ? [inline] : [];
      while (inline === undefined && args[i + 1] !== undefined && !isFlag(args[i + 1])) names.push(args[++i] ?? '');
      if (names.length === 0) throw usageError(flag, 'expects at least one name');
      out.overrides.served_model_name = names;
    } else {
      const negated = flag.startsWith('--no-') ? flag.slice(5) : undefined;
      const key = ALIASES[flag] ?? (negated ?? flag.replace(/^--?/, '')).replace(/-/g, '_');
      const kind = (SIM_KNOBS as Record<string, Kind | undefined>)[key];
      const known = kind === undefined ? VLLM_FLAGS.get(flag) : undefined;
      if (known !== undefined) {
        // A flag of vLLM's that does not change the simulation: consume its value, if any, and move on.
        if (known.arity === 'value') takeValue();
        else if (known.arity === 'optbool' && inline === undefined && /^(true|false)$/i.test(args[i + 1] ?? '')) i++;
        continue;
      }
      if (kind === undefined) {
        const value = inline ?? (args[i + 1] !== undefined && !isFlag(args[i + 1]) ? args[++i] : undefined);
        out.warnings.push(`WARNING: isobench sim ignores unknown flag ${flag}${value === undefined ? '' : ` ${value}`}`);
        continue;
      }
      if (kind === 'bool') {
        const value = inline === undefined ? true : parseBool(flag, inline);
        out.overrides[key] = negated === undefined ? value : !value;
      } else if (kind === 'str') out.overrides[key] = takeValue();
      else if (kind === 'strs') out.overrides[key] = [takeValue()];
      else out.overrides[key] = parseNumber(flag, takeValue(), kind);
    }
  }
  return out;
}

/**
 * Applies vLLM server arguments (e.g. a perf command's `--max-model-len 4096 -tp 2`) on top of a profile, as the
 * sim engine needs: returns the new profile and the warnings for unknown flags; bad values throw E_USAGE.
 */
export function applyServerArgs(profile: SimProfile, argv: readonly string[]): { profile: SimProfile; warnings: string[] } {
  const parsed = parseSimServeArgs(argv);
  return { profile: parseSimProfile({ ...profile, ...parsed.overrides }, 'server arguments', true), warnings: parsed.warnings };
}
