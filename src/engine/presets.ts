import { IsobenchError } from '../core/index.js';
import { API_SERVER_FLAGS, ENGINE_FLAGS, type FlagSpec } from '../vllm/index.js';

/**
 * Engine presets: what isobench knows of each inference server it can start. Perf commands are written against
 * vLLM (`vllm serve` flags); a preset translates each of those flags to its server's own flag, or names it as one
 * the server does not have, so that a task is refused at plan time instead of being run with a flag dropped or passed
 * to a server that does not know it.
 */

import { PRESET_NAMES, type PresetName } from '../core/index.js';

export { PRESET_NAMES, type PresetName };

/** The shape of a server's /tokenize and /detokenize. */
export type TokenizerApi = 'vllm' | 'sglang' | 'llama.cpp';

export interface EnginePreset {
  name: PresetName;
  /** The program, for messages (`llama-server`). */
  server: string;
  /** The process engine's server command (see docs/engines.md for the variables). */
  processServerTemplate: string;
  /** The docker engine's server command (inside the container). */
  dockerServerTemplate: string;
  /** Paths polled in order until each answers 200 (llama-server's /health answers 503 while the model loads). */
  readiness: readonly string[];
  tokenizerApi: TokenizerApi;
}

export const PRESETS: Readonly<Record<PresetName, EnginePreset>> = {
  vllm: {
    name: 'vllm',
    server: 'vllm serve',
    processServerTemplate: '{venv}/bin/vllm serve {model} --port {port} {server_args}',
    dockerServerTemplate: 'python3 -m vllm.entrypoints.openai.api_server --model {model} --host 0.0.0.0 --port {port} {server_args}',
    readiness: ['/health', '/v1/models'],
    tokenizerApi: 'vllm',
  },
  sglang: {
    name: 'sglang',
    server: 'sglang.launch_server',
    processServerTemplate: '{venv}/bin/python -m sglang.launch_server --model-path {model} --host 127.0.0.1 --port {port} {server_args}',
    dockerServerTemplate: 'python3 -m sglang.launch_server --model-path {model} --host 0.0.0.0 --port {port} {server_args}',
    readiness: ['/health', '/v1/models'],
    tokenizerApi: 'sglang',
  },
  'llama.cpp': {
    name: 'llama.cpp',
    server: 'llama-server',
    processServerTemplate: '{source}/build/bin/llama-server -m {model} --host 127.0.0.1 --port {port} {server_args}',
    dockerServerTemplate: '/app/llama-server -m {model} --host 0.0.0.0 --port {port} {server_args}',
    readiness: ['/health', '/v1/models'],
    tokenizerApi: 'llama.cpp',
  },
};

/** A vLLM server flag as given: its canonical name and value (undefined for a bare boolean). */
interface GivenFlag {
  name: string;
  value: string | undefined;
}

/** What a preset makes of a perf command's (vLLM) server arguments. */
export interface ServerArgsTranslation {
  /** The server's own arguments. */
  args: string[];
  /** vLLM flags the server has no equivalent of, each with the reason: the task cannot run as written. */
  refused: string[];
  /** Flags left out because they change nothing on this server (logging, the port the engine sets). */
  ignored: string[];
}

const VLLM_INDEX = (() => {
  const index = new Map<string, FlagSpec>();
  for (const spec of [...ENGINE_FLAGS, ...API_SERVER_FLAGS]) {
    index.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) index.set(alias, spec);
  }
  return index;
})();

/** Splits vLLM server arguments (as the perf-command parser writes them) into flags with their values. */
function givenFlags(args: readonly string[]): { flags: GivenFlag[]; stray: string[] } {
  const flags: GivenFlag[] = [];
  const stray: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const token = args[i] ?? '';
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const raw = eq > 0 ? token.slice(0, eq) : token;
    const inline = eq > 0 ? token.slice(eq + 1) : undefined;
    const negated = raw.startsWith('--no-') ? VLLM_INDEX.get(`--${raw.slice(5)}`) : undefined;
    const spec = VLLM_INDEX.get(raw) ?? (negated && negated.arity !== 'value' ? { ...negated, name: raw, arity: 'bool' as const } : undefined);
    if (!spec) {
      stray.push(token);
      continue;
    }
    let value = inline;
    if (value === undefined && spec.arity === 'value') value = args[++i];
    else if (value === undefined && spec.arity === 'optbool' && /^(true|false)$/i.test(args[i + 1] ?? '')) value = args[++i];
    flags.push({ name: spec.name, value });
  }
  return { flags, stray };
}

const isTrue = (f: GivenFlag): boolean => f.value === undefined || /^true$/i.test(f.value);
const int = (f: GivenFlag | undefined): number | undefined => (f?.value !== undefined && /^\d+$/.test(f.value) ? Number(f.value) : undefined);

/** Flags that change nothing a benchmark measures, on every server: left out for servers other than vLLM. */
const NO_EFFECT = new Set(['--disable-log-requests', '--disable-log-stats', '--uvicorn-log-level', '--host', '--port']);

type Rule = (f: GivenFlag, all: ReadonlyMap<string, GivenFlag>) => { args: string[] } | { refuse: string } | { ignore: string };

const pass = (flag: string): Rule => (f) => ({ args: f.value === undefined ? [flag] : [flag, f.value] });

const SGLANG_RULES: Record<string, Rule> = {
  '--max-model-len': pass('--context-length'),
  '--tensor-parallel-size': pass('--tp-size'),
  '--pipeline-parallel-size': pass('--pp-size'),
  '--data-parallel-size': pass('--dp-size'),
  // SGLang's radix (prefix) cache is on unless disabled.
  '--enable-prefix-caching': () => ({ args: [] }),
  '--no-enable-prefix-caching': () => ({ args: ['--disable-radix-cache'] }),
  '--enable-chunked-prefill': (f) => ({ args: isTrue(f) ? [] : ['--chunked-prefill-size', '-1'] }),
  '--dtype': pass('--dtype'),
  '--quantization': pass('--quantization'),
  '--kv-cache-dtype': pass('--kv-cache-dtype'),
  '--load-format': pass('--load-format'),
  '--trust-remote-code': pass('--trust-remote-code'),
  '--served-model-name': pass('--served-model-name'),
  '--tokenizer': pass('--tokenizer-path'),
  '--revision': pass('--revision'),
  '--seed': pass('--random-seed'),
  '--max-num-seqs': pass('--max-running-requests'),
  '--gpu-memory-utilization': pass('--mem-fraction-static'),
  '--enforce-eager': () => ({ args: ['--disable-cuda-graph'] }),
};

/** llama-server's default context size (`-c`), the whole of it for one slot. */
export const LLAMA_SERVER_DEFAULT_CTX = 4096;

const LLAMA_CPP_RULES: Record<string, Rule> = {
  // -c is the context of all slots together: each of the -np slots gets c / np tokens.
  '--max-model-len': (f, all) => {
    const len = int(f);
    if (len === undefined) return { refuse: `--max-model-len ${f.value ?? ''} is not a number of tokens` };
    return { args: ['-c', String(len * (int(all.get('--max-num-seqs')) ?? 1))] };
  },
  '--max-num-seqs': (f, all) => {
    const n = int(f);
    if (n === undefined) return { refuse: `--max-num-seqs ${f.value ?? ''} is not a number` };
    // Without --max-model-len every slot keeps llama-server's default context.
    return { args: ['-np', String(n), ...(all.has('--max-model-len') ? [] : ['-c', String(LLAMA_SERVER_DEFAULT_CTX * n)])] };
  },
  '--tensor-parallel-size': (f) => {
    const n = int(f);
    if (n === 1) return { args: [] };
    return { refuse: `--tensor-parallel-size ${f.value ?? ''}: llama-server splits a model across GPUs by layers or rows (--split-mode), which is not vLLM's tensor parallelism` };
  },
  '--pipeline-parallel-size': (f) => (int(f) === 1 ? { args: [] } : { refuse: `--pipeline-parallel-size ${f.value ?? ''}: llama-server has no pipeline parallelism` }),
  '--data-parallel-size': (f) => (int(f) === 1 ? { args: [] } : { refuse: `--data-parallel-size ${f.value ?? ''}: llama-server has no data parallelism` }),
  // llama-server caches each slot's prompt unless a request says cache_prompt: false; there is no server flag.
  '--enable-prefix-caching': () => ({ args: [] }),
  '--no-enable-prefix-caching': () => ({ refuse: '--no-enable-prefix-caching: llama-server has no flag to turn its prompt cache off (it is per request, cache_prompt)' }),
  '--dtype': (f) => (f.value === 'auto' ? { args: [] } : { refuse: `--dtype ${f.value ?? ''}: llama-server computes in the types stored in the GGUF file` }),
  '--seed': pass('--seed'),
  '--served-model-name': pass('--alias'),
  '--trust-remote-code': () => ({ ignore: '--trust-remote-code (llama-server runs no model code)' }),
  '--tokenizer': () => ({ ignore: '--tokenizer (the GGUF file holds the tokenizer; the load generator still reads it)' }),
};

const RULES: Record<Exclude<PresetName, 'vllm'>, Record<string, Rule>> = { sglang: SGLANG_RULES, 'llama.cpp': LLAMA_CPP_RULES };

/**
 * The server arguments of `preset` for a perf command's vLLM server arguments (the OOM fallback's
 * `--max-model-len` included). vLLM gets them as they are; other servers get their own flags, and every flag they
 * have no equivalent of is in `refused` (never passed on).
 */
export function translateServerArgs(preset: PresetName, vllmArgs: readonly string[]): ServerArgsTranslation {
  if (preset === 'vllm') return { args: [...vllmArgs], refused: [], ignored: [] };
  const { server } = PRESETS[preset];
  const { flags, stray } = givenFlags(vllmArgs);
  const all = new Map(flags.map((f) => [f.name, f]));
  const out: ServerArgsTranslation = { args: [], refused: stray.map((s) => `${s}: not a vLLM server flag isobench can translate for ${server}`), ignored: [] };
  const rules = RULES[preset];
  for (const f of flags) {
    if (NO_EFFECT.has(f.name)) {
      out.ignored.push(`${f.name} (${f.name === '--host' || f.name === '--port' ? 'the engine sets it' : 'logging only'})`);
      continue;
    }
    const rule = rules[f.name];
    if (!rule) {
      out.refused.push(`${f.name}${f.value === undefined ? '' : ` ${f.value}`}: ${server} has no equivalent flag`);
      continue;
    }
    const r = rule(f, all);
    if ('args' in r) out.args.push(...r.args);
    else if ('refuse' in r) out.refused.push(r.refuse);
    else out.ignored.push(r.ignore);
  }
  return out;
}

/**
 * The arguments an engine passes to its server: the translation, or an E_USAGE error naming every refused flag
 * (the plan refuses such a task before anything starts; this is the engine's own guard).
 */
export function serverArgsFor(preset: PresetName, vllmArgs: readonly string[]): string[] {
  const t = translateServerArgs(preset, vllmArgs);
  if (t.refused.length > 0) {
    throw new IsobenchError('E_USAGE', `${PRESETS[preset].server} cannot run with these server flags: ${t.refused.join('; ')}`, {
      hint: 'such a task is refused at plan time (task_invalid); see docs/engines.md, "Presets"',
    });
  }
  return t.args;
}

/** The preset named, or undefined for a name isobench does not know. */
export function presetNamed(name: string): EnginePreset | undefined {
  return (PRESET_NAMES as readonly string[]).includes(name) ? PRESETS[name as PresetName] : undefined;
}
