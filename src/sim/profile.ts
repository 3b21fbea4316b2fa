import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { IsobenchError, errorMessage } from '../core/index.js';

/** Speed and failure effects of one variant on the `sim` engine (multipliers on the sim's performance model). */
export const SimEffectsSchema = z
  .object({
    /** Multiplies the prefill rate (tokens/s): > 1 is faster. */
    prefill_speed: z.number().positive().optional(),
    /** Multiplies the decode step time: < 1 is faster. */
    decode_step: z.number().positive().optional(),
    /** Multiplies every time of the standalone script simulators: < 1 is faster. */
    standalone_time: z.number().positive().optional(),
    /** Injected failure: the server crashes at start-up printing this log line. */
    crash_at_start: z.string().optional(),
    /** Injected failure: the server runs out of KV cache memory unless max_model_len <= this value. */
    oom_above_max_model_len: z.number().int().positive().optional(),
    /** Injected failure: outputs differ from the baseline's (a correctness bug). */
    wrong_output: z.boolean().optional(),
  })
  .strict();
export type SimEffects = z.infer<typeof SimEffectsSchema>;

const posInt = () => z.number().int().positive();
const nonNeg = () => z.number().nonnegative();

/**
 * Every knob of the simulated server. Keys are snake_case so that a profile file, a CLI flag (`--max-num-seqs`)
 * and vLLM's own flag names line up one to one: flag `--a-b` sets key `a_b`.
 */
export const SimProfileSchema = z
  .object({
    /** The model name the server reports (vLLM's `--model`). */
    model: z.string().min(1).default('sim-model'),
    /** Names the API accepts and reports instead of `model` (vLLM's `--served-model-name`); the first is reported. */
    served_model_name: z.array(z.string().min(1)).min(1).optional(),
    /** Longest prompt + completion accepted (vLLM's `--max-model-len`). */
    max_model_len: posInt().default(8192),
    /** Most sequences decoded together in one step (vLLM's `--max-num-seqs`). */
    max_num_seqs: posInt().default(256),
    /** KV-cache capacity in tokens: a request reserves prompt + output tokens; requests wait when it is full. */
    kv_cache_tokens: posInt().default(262_144),
    /** Prefill rate in prompt tokens per second. */
    prefill_tokens_per_s: z.number().positive().default(50_000),
    /** Decode step time with an empty batch, in ms. */
    decode_base_ms: nonNeg().default(8),
    /** Added to the decode step time per running sequence, in ms. */
    decode_per_seq_ms: nonNeg().default(0.04),
    /** Time from start to ready (model loading), in ms. */
    startup_delay_ms: nonNeg().default(0),
    /** Relative noise on every step time: each step is multiplied by (1 + noise * u), u uniform in [-1, 1]. */
    noise: z.number().min(0).max(0.9).default(0),
    /** Seed of sampling at temperature > 0 without a request seed, of error injection, and of the noise when `noise_seed` is unset in exact mode. */
    seed: z.number().int().default(0),
    /**
     * Seed of this server start's noise (step jitter, start level). Unset: drawn at every start and printed in the log
     * (`noise_seed=N`), so repeated starts differ as real servers do; set it for identical runs (tests).
     */
    noise_seed: z.number().int().min(0).max(0x7fffffff).optional(),
    /** Noise model (src/sim/noise.ts): sd of the log level drawn at each start (0.03 = 3%). */
    start_level_sd: z.number().min(0).max(1).default(0),
    /** Noise model: amplitude of the slow drift (relative), shared by every server on the host (wall clock). */
    drift: z.number().min(0).max(0.9).default(0),
    drift_period_s: z.number().positive().default(1800),
    /** Noise model: relative slowdown at the peak of the periodic disturbance. */
    periodic_amplitude: z.number().min(0).max(5).default(0),
    periodic_period_s: z.number().positive().default(60),
    /** Noise model: relative slowdown per position after the first in the trial's round. */
    position_effect: z.number().min(0).max(1).default(0),
    /** The trial's position in its round (set by the sim engine from the run; used by position_effect). */
    trial_position: posInt().optional(),
    /** Size of the deterministic word vocabulary (token ids are 0 .. vocab_size - 1). */
    vocab_size: z.number().int().min(100).max(737_190).default(32_000),
    /** Without `ignore_eos`, each prompt stops at a deterministic EOS point in [eos_min_tokens, eos_max_tokens]. */
    eos_min_tokens: posInt().default(16),
    eos_max_tokens: posInt().default(256),
    /** Greedy outputs differ from those of an unaffected profile (an injected correctness bug). */
    wrong_output: z.boolean().default(false),
    /** Accepted for vLLM compatibility; reported in the log, no effect on timing. */
    tensor_parallel_size: posInt().default(1),
    /** vLLM's `--enable-prefix-caching`: the prefix-caching script simulator skips prefill of cached prefixes. */
    enable_prefix_caching: z.boolean().default(false),
    /** vLLM's `--gpu-memory-utilization`: scales kv_cache_tokens relative to vLLM's default of 0.9. */
    gpu_memory_utilization: z.number().positive().max(1).default(0.9),
    /** Multiplies every time the standalone script simulators report. */
    standalone_time: z.number().positive().default(1),
    /** Exact mode: chunks on a fixed schedule, ignoring the batching model, with every send time recorded. */
    exact: z.boolean().default(false),
    /** Exact mode: first chunk this many ms after the request arrived. */
    exact_first_ms: nonNeg().default(20),
    /** Exact mode: then one chunk every this many ms. */
    exact_interval_ms: nonNeg().default(10),
    /** Record chunk send times outside exact mode too (memory grows with every chunk). */
    record: z.boolean().default(false),
    /** The listen backlog: connections the kernel queues before the server accepts them (uvicorn's default 2048; Node's 511). */
    listen_backlog: posInt().default(4096),
    /** Failure: the server crashes at start printing this log line (after startup_delay_ms). */
    crash_at_start: z.string().min(1).optional(),
    /** Failure: the server fails at start with vLLM's KV-cache error when max_model_len is above this value. */
    oom_above_max_model_len: posInt().optional(),
    /** Failure: the server dies (every socket destroyed) once this many content chunks were sent in total. */
    die_after_chunks: posInt().optional(),
    /** Failure: the server dies when a generation request arrives after this many were accepted. */
    die_after_requests: posInt().optional(),
    /** Failure: this fraction of generation requests gets HTTP 500 (seeded). */
    error_rate: z.number().min(0).max(1).default(0),
    /** Failure: every Nth generation request gets HTTP 500. */
    error_every: posInt().optional(),
    /** Failure: affected streams stop sending after this many content chunks and never finish. */
    stall_after_chunks: z.number().int().nonnegative().optional(),
    /** Failure: which streams stall: every Nth generation request (1 = all). */
    stall_every: posInt().default(1),
  })
  .strict()
  .refine((p) => p.eos_min_tokens <= p.eos_max_tokens, { message: 'eos_min_tokens must be <= eos_max_tokens', path: ['eos_min_tokens'] });

export type SimProfile = z.output<typeof SimProfileSchema>;
/** A partial profile as written in a file or given by flags (defaults not applied). */
export type SimProfileInput = z.input<typeof SimProfileSchema>;

/** The profile with every default. */
export const defaultSimProfile: SimProfile = Object.freeze(SimProfileSchema.parse({}));

/** Validates a partial profile; `origin` names where it came from in the error ("profile file x.yaml", "flags"). */
export function parseSimProfile(input: unknown, origin: string, flagStyle = false): SimProfile {
  const result = SimProfileSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const name = flagStyle ? `--${key.replace(/_/g, '-')}` : key || '(profile)';
    return `${name}: ${issue.message}`;
  });
  throw new IsobenchError(flagStyle ? 'E_USAGE' : 'E_INPUT', `invalid sim profile (${origin}):\n${lines.join('\n')}`, {
    hint: 'see docs/sim.md for every profile key, its type and default',
  });
}

/** Reads a raw profile file (JSON or YAML) without applying defaults, for merging under flags. */
export async function readSimProfileFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new IsobenchError('E_INPUT', `cannot read sim profile ${file}: ${errorMessage(err)}`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new IsobenchError('E_INPUT', `sim profile ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${errorMessage(err)}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new IsobenchError('E_INPUT', `sim profile ${file} must be a mapping of keys to values, got ${Array.isArray(data) ? 'a list' : typeof data}`);
  }
  return data as Record<string, unknown>;
}

/** Loads and validates a profile file (JSON or YAML); missing keys take their defaults. */
export async function loadSimProfile(file: string): Promise<SimProfile> {
  return parseSimProfile(await readSimProfileFile(file), `profile file ${file}`);
}

/** Applies a variant's effects (src/task SimEffects) to a profile; returns a new profile. */
export function applySimEffects(profile: SimProfile, effects: SimEffects): SimProfile {
  const out: SimProfile = { ...profile };
  if (effects.prefill_speed !== undefined) out.prefill_tokens_per_s = profile.prefill_tokens_per_s * effects.prefill_speed;
  if (effects.decode_step !== undefined) {
    out.decode_base_ms = profile.decode_base_ms * effects.decode_step;
    out.decode_per_seq_ms = profile.decode_per_seq_ms * effects.decode_step;
  }
  if (effects.standalone_time !== undefined) out.standalone_time = profile.standalone_time * effects.standalone_time;
  if (effects.crash_at_start !== undefined) out.crash_at_start = effects.crash_at_start;
  if (effects.oom_above_max_model_len !== undefined) out.oom_above_max_model_len = effects.oom_above_max_model_len;
  if (effects.wrong_output) out.wrong_output = true;
  return out;
}

/** The model name the API reports. */
export function servedModelName(profile: SimProfile): string {
  return profile.served_model_name?.[0] ?? profile.model;
}

/** The KV-cache capacity after gpu_memory_utilization scaling. */
export function kvCapacity(profile: SimProfile): number {
  return Math.max(1, Math.floor((profile.kv_cache_tokens * profile.gpu_memory_utilization) / 0.9));
}
