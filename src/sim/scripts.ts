import { writeFile } from 'node:fs/promises';
import { IsobenchError, errorMessage } from '../core/index.js';
import { LATENCY_CLIENT_FLAGS, PREFIX_CACHING_CLIENT_FLAGS, THROUGHPUT_CLIENT_FLAGS, type FlagSpec } from '../vllm/index.js';
import { parseSimServeArgs } from './args.js';
import { Prng } from './prng.js';
import { kvCapacity, parseSimProfile, type SimProfile } from './profile.js';
import { drawNoiseSeed } from './noise.js';
import { fitsKv, noiseFactors, noiseSeedOf, stepTimeMs } from './scheduler.js';
import { startupFailureLines } from './server.js';

/** The vLLM standalone benchmark scripts the sim can stand in for. */
export type SimScriptKind = 'latency' | 'throughput' | 'prefix_caching';

export interface SimScriptResult {
  exitCode: number;
  /** What the script would have printed (stdout and stderr interleaved). */
  output: string;
}

/** One offline request of a script: its prompt length, the prompt tokens already in the prefix cache, output length. */
interface OfflineRequest {
  prompt: number;
  cached: number;
  output: number;
}

/**
 * Simulates the offline engine (vLLM's LLM.generate) on virtual time with the server's batching model:
 * returns the elapsed ms for the whole list. Nothing sleeps, so a 1,000-prompt run takes milliseconds.
 */
export function simulateOffline(profile: SimProfile, requests: readonly OfflineRequest[], noise: Prng): number {
  const capacity = kvCapacity(profile);
  const left: number[] = [];
  const need: number[] = [];
  let next = 0;
  let kvUsed = 0;
  let elapsed = 0;
  const running: number[] = [];
  // The noise model's level of this run (start level, position, drift and disturbance now) scales every step.
  const factor = noiseFactors(profile).at(Date.now() / 1000);
  while (next < requests.length || running.length > 0) {
    let prefill = 0;
    while (next < requests.length && running.length < profile.max_num_seqs) {
      const r = requests[next];
      if (!r) break;
      const kv = r.prompt + r.output;
      if (!fitsKv(kvUsed, kv, capacity, running.length)) break;
      kvUsed += kv;
      need[next] = kv;
      left[next] = r.output;
      prefill += Math.max(0, r.prompt - r.cached);
      running.push(next++);
    }
    elapsed += stepTimeMs(profile, running.length, prefill, noise.next(), factor);
    let kept = 0;
    for (const i of running) {
      const remaining = (left[i] ?? 1) - 1;
      left[i] = remaining;
      if (remaining <= 0) kvUsed -= need[i] ?? 0;
      else running[kept++] = i;
    }
    running.length = kept;
  }
  return elapsed * profile.standalone_time;
}

type Flags = Record<string, string | true>;

/** Splits the script's own flags from the engine arguments that go to the profile. */
function splitArgs(argv: readonly string[], specs: readonly FlagSpec[]): { flags: Flags; engine: string[] } {
  const flags: Flags = {};
  const engine: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(0, eq) : arg).replace(/_/g, '-');
    const spec = specs.find((f) => f.name === name || f.aliases?.includes(name));
    if (spec?.arity === 'value') {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new IsobenchError('E_USAGE', `error: argument ${name}: expected one argument`);
      flags[name] = value;
    } else if (spec) flags[name] = true;
    else engine.push(arg);
  }
  return { flags, engine };
}

function intFlag(flags: Flags, name: string, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isInteger(value) || value < 0) throw new IsobenchError('E_USAGE', `error: argument ${name}: invalid int value: '${String(raw)}'`);
  return value;
}

/** numpy.percentile with linear interpolation. */
function percentile(sorted: readonly number[], q: number): number {
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const a = sorted[lo] ?? 0;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? a;
  return a + (b - a) * (pos - lo);
}

const ENGINE_NOTE = 'INFO isobench sim: times are computed from the performance model, not slept';

async function writeJson(path: string | true | undefined, data: unknown): Promise<void> {
  if (typeof path !== 'string') return;
  try {
    await writeFile(path, JSON.stringify(data, null, 4));
  } catch (err) {
    throw new IsobenchError('E_INPUT', `cannot write --output-json ${path}: ${errorMessage(err)}`);
  }
}

async function latency(flags: Flags, profile: SimProfile, out: string[]): Promise<void> {
  const inputLen = intFlag(flags, '--input-len', 32);
  const outputLen = intFlag(flags, '--output-len', 128);
  const batch = intFlag(flags, '--batch-size', 8);
  const warmup = intFlag(flags, '--num-iters-warmup', 10);
  const iters = intFlag(flags, '--num-iters', 30);
  const noise = new Prng(noiseSeedOf(profile) ^ 0x1a7e);
  const requests = Array.from({ length: batch }, () => ({ prompt: inputLen, cached: 0, output: Math.max(1, outputLen) }));
  out.push('Warming up...');
  for (let i = 0; i < warmup; i++) simulateOffline(profile, requests, noise);
  const latencies = Array.from({ length: Math.max(1, iters) }, () => simulateOffline(profile, requests, noise) / 1000);
  out.push(`Profiling iterations: 100%|##########| ${iters}/${iters}`);
  const sorted = [...latencies].sort((a, b) => a - b);
  const avg = latencies.reduce((s, x) => s + x, 0) / latencies.length;
  const percentages = [10, 25, 50, 75, 90, 99];
  out.push(`Avg latency: ${avg} seconds`);
  for (const p of percentages) out.push(`${p}% percentile latency: ${percentile(sorted, p)} seconds`);
  await writeJson(flags['--output-json'], {
    avg_latency: avg,
    latencies,
    percentiles: Object.fromEntries(percentages.map((p) => [String(p), percentile(sorted, p)])),
  });
}

async function throughput(flags: Flags, profile: SimProfile, out: string[]): Promise<void> {
  const numPrompts = intFlag(flags, '--num-prompts', 1000);
  const inputLen = intFlag(flags, '--input-len', intFlag(flags, '--random-input-len', 1024));
  const outputLen = intFlag(flags, '--output-len', intFlag(flags, '--random-output-len', 128));
  const requests = Array.from({ length: numPrompts }, () => ({ prompt: inputLen, cached: 0, output: Math.max(1, outputLen) }));
  const elapsed = simulateOffline(profile, requests, new Prng(noiseSeedOf(profile) ^ 0x7a2)) / 1000;
  const promptTokens = numPrompts * inputLen;
  const outputTokens = numPrompts * Math.max(1, outputLen);
  const total = promptTokens + outputTokens;
  out.push(`Processed prompts: 100%|##########| ${numPrompts}/${numPrompts}`);
  out.push(
    `Throughput: ${(numPrompts / elapsed).toFixed(2)} requests/s, ${(total / elapsed).toFixed(2)} total tokens/s, ${(outputTokens / elapsed).toFixed(2)} output tokens/s`,
  );
  out.push(`Total num prompt tokens:  ${promptTokens}`, `Total num output tokens:  ${outputTokens}`);
  await writeJson(flags['--output-json'], {
    elapsed_time: elapsed,
    num_requests: numPrompts,
    total_num_tokens: total,
    requests_per_second: numPrompts / elapsed,
    tokens_per_second: total / elapsed,
  });
}

function prefixCaching(flags: Flags, profile: SimProfile, out: string[]): void {
  const numPrompts = intFlag(flags, '--num-prompts', 1);
  const repeat = intFlag(flags, '--repeat-count', 1);
  const prefixLen = intFlag(flags, '--prefix-len', 0);
  const outputLen = intFlag(flags, '--output-len', 10);
  const range = typeof flags['--input-length-range'] === 'string' ? flags['--input-length-range'] : '128:256';
  const m = /^(\d+):(\d+)$/.exec(range);
  if (!m) throw new IsobenchError('E_USAGE', `error: argument --input-length-range: expected MIN:MAX, got '${range}'`);
  const lo = Number(m[1]);
  const hi = Math.max(lo, Number(m[2]));
  const rng = new Prng(profile.seed ^ 0x9f);
  const base = Array.from({ length: numPrompts }, () => prefixLen + lo + Math.floor(rng.next() * (hi - lo + 1)));
  const lengths = base.flatMap((len) => Array.from({ length: repeat }, () => len));
  const run = (cache: Set<number>) =>
    simulateOffline(
      profile,
      lengths.map((len, i) => {
        const id = i % numPrompts;
        // With prefix caching on, a prompt seen before is cached but for its last token; a shared prefix after the first.
        const cached = !profile.enable_prefix_caching ? 0 : cache.has(id) ? len - 1 : cache.size > 0 ? prefixLen : 0;
        cache.add(id);
        return { prompt: len, cached, output: Math.max(1, outputLen) };
      }),
      rng,
    ) / 1000;
  const cache = new Set<number>();
  out.push('------warm up------', `cost time ${run(cache)}`, '------start generating------', `cost time ${run(cache)}`);
}

/** Flags of `vllm bench throughput` that the script table of src/vllm does not list (its newer dataset flags). */
const EXTRA_THROUGHPUT_FLAGS: readonly FlagSpec[] = ['--random-input-len', '--random-output-len', '--random-prefix-len'].map((name) => ({ name, arity: 'value' }));

/** Each script's own flags, from src/vllm's flag tables: the rest of argv are engine arguments. */
const SCRIPT_FLAGS: Record<SimScriptKind, readonly FlagSpec[]> = {
  latency: LATENCY_CLIENT_FLAGS,
  throughput: [...THROUGHPUT_CLIENT_FLAGS, ...EXTRA_THROUGHPUT_FLAGS],
  prefix_caching: [...PREFIX_CACHING_CLIENT_FLAGS, { name: '--detokenize', arity: 'bool' }, { name: '--disable-detokenize', arity: 'bool' }],
};

/**
 * Runs a simulated vLLM standalone benchmark script (benchmark_latency.py, benchmark_throughput.py,
 * benchmark_prefix_caching.py or their `vllm bench` forms) and returns what it prints, in vLLM's formats.
 * Engine arguments in argv (--model, -tp, --max-model-len, --enable-prefix-caching...) apply to the profile.
 */
export async function runSimScript(kind: SimScriptKind, argv: readonly string[], profile: SimProfile, signal?: AbortSignal): Promise<SimScriptResult> {
  const out: string[] = [];
  try {
    signal?.throwIfAborted();
    const { flags, engine } = splitArgs(argv, SCRIPT_FLAGS[kind]);
    const parsed = parseSimServeArgs(engine);
    out.push(...parsed.warnings);
    const effective = parseSimProfile({ ...profile, ...parsed.overrides }, 'script arguments', true);
    // A script run is a start of its own: its own noise unless the profile fixes the seed (recorded in the output).
    if (effective.noise_seed === undefined) effective.noise_seed = drawNoiseSeed();
    out.push(ENGINE_NOTE, `isobench sim: noise_seed=${effective.noise_seed}`);
    const failure = startupFailureLines(effective);
    if (failure) return { exitCode: 1, output: [...out, ...failure].join('\n') + '\n' };
    if (kind === 'latency') await latency(flags, effective, out);
    else if (kind === 'throughput') await throughput(flags, effective, out);
    else prefixCaching(flags, effective, out);
    return { exitCode: 0, output: out.join('\n') + '\n' };
  } catch (err) {
    if (signal?.aborted) return { exitCode: 130, output: [...out, 'KeyboardInterrupt (cancelled)'].join('\n') + '\n' };
    if (err instanceof IsobenchError) return { exitCode: err.exitCode, output: [...out, err.message].join('\n') + '\n' };
    throw err;
  }
}
