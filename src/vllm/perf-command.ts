import { existsSync } from 'node:fs';
import { addSecretValues, secretsOfArgs, type BenchmarkMode } from '../core/index.js';
import {
  API_SERVER_FLAGS,
  ENGINE_FLAGS,
  LATENCY_CLIENT_FLAGS,
  PREFIX_CACHING_CLIENT_FLAGS,
  SERVING_CLIENT_FLAGS,
  SHARED_SERVING_FLAGS,
  THROUGHPUT_CLIENT_FLAGS,
  flagIndex,
  type FlagSpec,
} from './flags.js';
import { splitShellWords } from './shell-words.js';

/** Which program a perf command runs. */
export type ScriptKind =
  | 'benchmark_serving'
  | 'benchmark_latency'
  | 'benchmark_throughput'
  | 'benchmark_prefix_caching'
  | 'vllm_bench_serve'
  | 'vllm_bench_latency'
  | 'vllm_bench_throughput'
  | 'api_server'
  | 'vllm_serve'
  | 'other';

export type PerfMode = BenchmarkMode | 'unknown';

type ConfigValue = string | number | boolean;

/** Engine-side settings, structured (camelCase of the vLLM flag). `gpus` = tp × pp × dp. */
export interface ServerConfig {
  model?: string;
  tokenizer?: string;
  tensorParallelSize?: number;
  pipelineParallelSize?: number;
  dataParallelSize?: number;
  maxModelLen?: number;
  dtype?: string;
  quantization?: string;
  loadFormat?: string;
  kvCacheDtype?: string;
  enablePrefixCaching?: boolean;
  enableChunkedPrefill?: boolean;
  maxNumBatchedTokens?: number;
  maxNumSeqs?: number;
  gpuMemoryUtilization?: number;
  speculativeModel?: string;
  numSpeculativeTokens?: number;
  speculativeConfig?: string;
  enforceEager?: boolean;
  trustRemoteCode?: boolean;
  useV2BlockManager?: boolean;
  servedModelName?: string;
  seed?: number;
  gpus: number;
  [key: string]: ConfigValue | undefined;
}

/** Load-generator or script-side settings, structured (camelCase of the flag). */
export interface ClientConfig {
  model?: string;
  tokenizer?: string;
  backend?: string;
  endpoint?: string;
  datasetName?: string;
  datasetPath?: string;
  randomInputLen?: number;
  randomOutputLen?: number;
  randomRangeRatio?: number;
  randomPrefixLen?: number;
  sharegptOutputLen?: number;
  numPrompts?: number;
  /** Requests per second; `'inf'` sends everything at once (vLLM's default). */
  requestRate?: number | 'inf';
  burstiness?: number;
  maxConcurrency?: number;
  seed?: number;
  ignoreEos?: boolean;
  inputLen?: number;
  outputLen?: number;
  batchSize?: number;
  numIters?: number;
  numItersWarmup?: number;
  n?: number;
  prefixLen?: number;
  repeatCount?: number;
  [key: string]: ConfigValue | undefined;
}

/** A perf command understood: env, script, mode, server and client arguments, and every fix and doubt. */
export interface ParsedPerfCommand {
  status: 'ok';
  command: string;
  env: Record<string, string>;
  /** The interpreter or executable, e.g. `python3`, `vllm`. */
  program: string;
  script: ScriptKind;
  /** The script path as written (after path fixes), for `python <script>` forms. */
  scriptPath?: string;
  mode: PerfMode;
  modeReason: string;
  model?: string;
  /** Flags for `vllm serve <model>` (serving) or the engine flags a standalone script reads; `--model` excluded. */
  serverArgs: string[];
  server: ServerConfig;
  /** Load-generator flags (serving) or the script's own flags (standalone); `--model` excluded. */
  clientArgs: string[];
  client: ClientConfig;
  /** The whole normalized argument list for the script itself (fixes applied), `--model` included. */
  scriptArgs: string[];
  /** Flags no table knows, kept verbatim (with their value) and reported in `warnings`. */
  unknownArgs: string[];
  fixes: string[];
  warnings: string[];
  /** Values that cannot be right (a placeholder where a number belongs): the task cannot run as written. */
  invalid: string[];
}

export type PerfCommand = ParsedPerfCommand | { status: 'error'; message: string; command: string };

interface ScriptInfo {
  script: ScriptKind;
  mode: PerfMode;
  client: readonly FlagSpec[];
}

const SCRIPTS: Record<string, ScriptInfo> = {
  benchmark_serving: { script: 'benchmark_serving', mode: 'serving', client: SERVING_CLIENT_FLAGS },
  benchmark_latency: { script: 'benchmark_latency', mode: 'latency', client: LATENCY_CLIENT_FLAGS },
  benchmark_throughput: { script: 'benchmark_throughput', mode: 'throughput', client: THROUGHPUT_CLIENT_FLAGS },
  benchmark_prefix_caching: { script: 'benchmark_prefix_caching', mode: 'prefix_caching', client: PREFIX_CACHING_CLIENT_FLAGS },
  'vllm bench serve': { script: 'vllm_bench_serve', mode: 'serving', client: SERVING_CLIENT_FLAGS },
  'vllm bench latency': { script: 'vllm_bench_latency', mode: 'latency', client: LATENCY_CLIENT_FLAGS },
  'vllm bench throughput': { script: 'vllm_bench_throughput', mode: 'throughput', client: THROUGHPUT_CLIENT_FLAGS },
  api_server: { script: 'api_server', mode: 'serving', client: [] },
  'vllm serve': { script: 'vllm_serve', mode: 'serving', client: [] },
};

const ENGINE_INDEX = flagIndex(ENGINE_FLAGS);
const API_SERVER_INDEX = flagIndex(API_SERVER_FLAGS);
const ENV_ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const PYTHON = /^(?:.*\/)?python(?:\d+(?:\.\d+)?)?$/;
/** `MODEL`, `BS`, `$INPUT_LEN`, `${X}`, `<model>`: template text someone forgot to fill in. */
const PLACEHOLDER = /^(?:[A-Z][A-Z0-9_]+|\$\{?[A-Za-z_]\w*\}?|<[^>]+>)$/;
const NUMBER_LIKE = /^-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;

/**
 * Parses a benchmark command without a shell; never throws (bad quoting is a `status: 'error'` result). The secret
 * values it carries (env tokens, `--hf-token`, `--header` values) become secrets of this process (see core/secrets.ts).
 */
export function parsePerfCommand(command: string): PerfCommand {
  const split = splitShellWords(command);
  if (split.status === 'error') return { status: 'error', message: split.message, command };
  const fixes: string[] = [];
  const warnings: string[] = [];
  if (split.rest !== undefined) warnings.push(`ignored everything after a shell operator: ${split.rest}`);
  const words = split.words;
  // Its tokens, keys and header values are secrets isobench was given: redacted by value wherever they show up.
  addSecretValues(secretsOfArgs(words));
  const env: Record<string, string> = {};
  let i = 0;
  if (words[i] === 'env') i++;
  for (let m = ENV_ASSIGNMENT.exec(words[i] ?? ''); m; m = ENV_ASSIGNMENT.exec(words[i] ?? '')) {
    env[m[1] ?? ''] = m[2] ?? '';
    i++;
  }
  const program = words[i];
  if (program === undefined) return { status: 'error', message: 'the command is empty (no program after the environment assignments)', command };
  const target = identifyTarget(words, i, fixes);
  const args = stripBrackets(words.slice(target.argsStart), fixes);
  const parsed = splitArguments(target.info, args, fixes, warnings);
  if (target.positionalModel !== undefined && parsed.server.model === undefined) parsed.server.model = target.positionalModel;
  const finalModel = parsed.server.model ?? parsed.client.model;
  const modelRejected = parsed.invalid.some((m) => m.startsWith('--model '));
  if (finalModel === undefined && !modelRejected && target.info.mode !== 'unknown') warnings.push('no --model given: the script would use its default model');
  else if (finalModel !== undefined && (finalModel.startsWith('/') || finalModel.startsWith('./')) && !existsSync(finalModel)) {
    // A model file or folder on this machine (a GGUF for llama.cpp) is fine; one that is not here cannot be served.
    parsed.invalid.push(`--model ${finalModel} is a local path that does not exist on this machine (a Hugging Face model id, or a model file or folder that exists here, is needed)`);
  }
  return {
    status: 'ok',
    command,
    env,
    program,
    script: target.info.script,
    ...(target.scriptPath === undefined ? {} : { scriptPath: target.scriptPath }),
    mode: target.info.mode,
    modeReason: target.reason,
    ...(finalModel === undefined ? {} : { model: finalModel }),
    serverArgs: parsed.serverArgs,
    server: parsed.server,
    clientArgs: parsed.clientArgs,
    client: parsed.client,
    scriptArgs: parsed.scriptArgs,
    unknownArgs: parsed.unknownArgs,
    fixes,
    warnings,
    invalid: parsed.invalid,
  };
}

interface Target {
  info: ScriptInfo;
  reason: string;
  argsStart: number;
  scriptPath?: string;
  positionalModel?: string;
}

const OTHER: ScriptInfo = { script: 'other', mode: 'unknown', client: [] };

function identifyTarget(words: readonly string[], start: number, fixes: string[]): Target {
  const program = words[start] ?? '';
  if (program === 'vllm') return identifyVllmCli(words, start + 1);
  if (!PYTHON.test(program)) return { info: OTHER, reason: `unknown program "${program}": expected python or vllm`, argsStart: start + 1 };
  let i = start + 1;
  // Interpreter options such as -u or -O come before the script or module.
  while ((words[i] ?? '').startsWith('-') && words[i] !== '-m') i++;
  if (words[i] === '-m') {
    const mod = words[i + 1] ?? '';
    if (mod === 'vllm.entrypoints.openai.api_server') {
      return { info: SCRIPTS.api_server ?? OTHER, reason: 'python -m vllm.entrypoints.openai.api_server starts the OpenAI server: serving with the default workload', argsStart: i + 2 };
    }
    if (mod === 'vllm.entrypoints.cli.main') return identifyVllmCli(words, i + 2);
    const base = mod.split('.').pop() ?? '';
    const info = SCRIPTS[base];
    if (info) return { info, reason: `module ${mod} is vLLM's ${base}.py`, argsStart: i + 2, scriptPath: `benchmarks/${base}.py` };
    return { info: OTHER, reason: `module ${mod} is not a vLLM benchmark script`, argsStart: i + 2 };
  }
  const path = words[i] ?? '';
  const file = path.split('/').pop() ?? '';
  const base = file.replace(/\.py$/, '');
  const info = SCRIPTS[base];
  if (!info || !file.endsWith('.py')) {
    return { info: OTHER, reason: `${path || '(no script)'} is not one of vLLM's benchmark scripts (benchmark_serving, benchmark_latency, benchmark_throughput, benchmark_prefix_caching)`, argsStart: i + 1, ...(path ? { scriptPath: path } : {}) };
  }
  const canonical = `benchmarks/${file}`;
  if (path !== canonical) fixes.push(`script path ${path} → ${canonical} (the script lives in vLLM's benchmarks/ folder)`);
  return { info, reason: `script ${file} is vLLM's ${info.mode.replace('_', ' ')} benchmark`, argsStart: i + 1, scriptPath: canonical };
}

function identifyVllmCli(words: readonly string[], i: number): Target {
  const sub = words[i];
  if (sub === 'bench') {
    const kind = words[i + 1] ?? '';
    const info = SCRIPTS[`vllm bench ${kind}`];
    if (info) return { info, reason: `vllm bench ${kind} is vLLM's ${info.mode} benchmark`, argsStart: i + 2 };
    return { info: OTHER, reason: `vllm bench ${kind || '(missing)'} is not a supported benchmark (serve, latency, throughput)`, argsStart: i + 2 };
  }
  if (sub === 'serve') {
    const next = words[i + 1];
    const positional = next !== undefined && !next.startsWith('-') ? next : undefined;
    return {
      info: SCRIPTS['vllm serve'] ?? OTHER,
      reason: 'vllm serve starts the OpenAI server: serving with the default workload',
      argsStart: positional === undefined ? i + 1 : i + 2,
      ...(positional === undefined ? {} : { positionalModel: positional }),
    };
  }
  return { info: OTHER, reason: `vllm ${sub ?? ''} is not a benchmark command`.trim(), argsStart: i + 1 };
}

/** `[--flag]` and `[--flag value]` come from copying argparse usage text: the brackets are not part of the flag. */
function stripBrackets(args: readonly string[], fixes: string[]): string[] {
  const out: string[] = [];
  let open = false;
  for (const arg of args) {
    let word = arg;
    if (word.startsWith('[-')) {
      word = word.slice(1);
      open = true;
    }
    if (open && word.endsWith(']')) {
      word = word.slice(0, -1);
      open = false;
    }
    if (word !== arg) fixes.push(`removed usage-text brackets: ${arg} → ${word}`);
    out.push(word);
  }
  return out;
}

type SplitResult = Pick<ParsedPerfCommand, 'serverArgs' | 'server' | 'clientArgs' | 'client' | 'scriptArgs' | 'unknownArgs' | 'invalid'>;

/** Flags whose value is several words (argparse nargs='+'): `--goodput ttft:500 tpot:50`. */
const MANY_VALUES: ReadonlySet<string> = new Set(['--goodput']);

function isValueToken(token: string | undefined): token is string {
  return token !== undefined && (!token.startsWith('-') || NUMBER_LIKE.test(token));
}

function splitArguments(info: ScriptInfo, args: readonly string[], fixes: string[], warnings: string[]): SplitResult {
  const out: SplitResult = { serverArgs: [], server: { gpus: 1 }, clientArgs: [], client: {}, scriptArgs: [], unknownArgs: [], invalid: [] };
  const clientIndex = flagIndex(info.client);
  const serving = info.mode === 'serving';
  const serverIndex = info.script === 'api_server' || info.script === 'vllm_serve' ? new Map([...ENGINE_INDEX, ...API_SERVER_INDEX]) : ENGINE_INDEX;
  for (let i = 0; i < args.length; i++) {
    const token = args[i] ?? '';
    if (!token.startsWith('-') || NUMBER_LIKE.test(token)) {
      out.unknownArgs.push(token);
      warnings.push(`positional argument "${token}" is not expected here; kept in unknownArgs`);
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    let flag = eq > 0 ? token.slice(0, eq) : token;
    const inlineValue = eq > 0 ? token.slice(eq + 1) : undefined;
    if (flag.startsWith('--') && flag.includes('_')) {
      const dashed = flag.replace(/_/g, '-');
      fixes.push(`${flag} → ${dashed} (vLLM's flags use dashes)`);
      flag = dashed;
    }
    if (serving && info.client.length > 0) flag = fixServingFlag(flag, fixes);
    const negClient = negatedSpec(clientIndex, flag);
    const negServer = negatedSpec(serverIndex, flag);
    if (flag.startsWith('--') && !clientIndex.has(flag) && !serverIndex.has(flag) && !negClient && !negServer) {
      flag = expandPrefix(flag, [clientIndex, serverIndex], fixes);
    }
    const clientSpec = clientIndex.get(flag) ?? negClient;
    const serverSpec = serverIndex.get(flag) ?? negServer;
    const spec = clientSpec ?? serverSpec;
    if (!spec) {
      const value = inlineValue ?? (isValueToken(args[i + 1]) ? args[++i] : undefined);
      const kept = value === undefined ? [token] : inlineValue === undefined ? [token, value] : [token];
      out.unknownArgs.push(...kept);
      out.scriptArgs.push(...kept);
      const where = info.script === 'other' ? 'this program' : info.script;
      warnings.push(`unknown flag ${flag} for ${where}: kept in unknownArgs, not passed to the server or the load generator`);
      continue;
    }
    const taken = takeValue(spec, inlineValue, args[i + 1]);
    if (taken.consumed) i++;
    if (taken.missing) {
      out.invalid.push(`${spec.name} needs a value`);
      continue;
    }
    // A flag of nargs='+' (vLLM's --goodput ttft:500 tpot:50) takes every following word up to the next flag.
    const more: string[] = [];
    if (MANY_VALUES.has(spec.name) && inlineValue === undefined && taken.value !== undefined) while (isValueToken(args[i + 1])) more.push(args[++i]!);
    const argv = taken.value === undefined ? [spec.name] : [spec.name, taken.value, ...more];
    if (flag === '--dataset' && serving && info.client.length > 0 && taken.value !== undefined) {
      fixes.push(`--dataset ${taken.value} → --dataset-name sharegpt --dataset-path ${taken.value} (--dataset was removed from the serving script)`);
      record(out, clientIndex.get('--dataset-name'), 'sharegpt', 'client', out.invalid);
      record(out, clientIndex.get('--dataset-path'), taken.value, 'client', out.invalid);
      out.clientArgs.push('--dataset-name', 'sharegpt', '--dataset-path', taken.value);
      out.scriptArgs.push('--dataset-name', 'sharegpt', '--dataset-path', taken.value);
      continue;
    }
    out.scriptArgs.push(...argv);
    const toClient = clientSpec !== undefined;
    const toServer = serverSpec !== undefined && (!toClient || (serving && SHARED_SERVING_FLAGS.has(spec.name)));
    if (toClient) {
      record(out, clientSpec, more.length > 0 ? [taken.value, ...more].join(' ') : taken.value, 'client', out.invalid);
      if (spec.name !== '--model') out.clientArgs.push(...argv);
    }
    if (toServer) {
      record(out, serverSpec, taken.value, 'server', out.invalid);
      if (spec.name !== '--model') out.serverArgs.push(...argv);
    }
  }
  if (serving && info.client.length > 0) addDatasetName(out, fixes);
  out.server.gpus = (out.server.tensorParallelSize ?? 1) * (out.server.pipelineParallelSize ?? 1) * (out.server.dataParallelSize ?? 1);
  return out;
}

/** `--no-X` for a boolean `--X` (argparse BooleanOptionalAction in newer vLLM) sets it to false. */
function negatedSpec(index: ReadonlyMap<string, FlagSpec>, flag: string): FlagSpec | undefined {
  if (!flag.startsWith('--no-')) return undefined;
  const positive = index.get(`--${flag.slice(5)}`);
  if (!positive || positive.arity === 'value') return undefined;
  return { name: flag, arity: 'bool', type: 'bool', sets: false, ...(positive.key === undefined ? {} : { key: positive.key }) };
}

/** argparse accepts any unique prefix of a long flag (`--random-input 512`); the full name is what others read. */
function expandPrefix(flag: string, indexes: readonly Map<string, FlagSpec>[], fixes: string[]): string {
  const names = new Set<string>();
  for (const index of indexes) for (const spec of index.values()) if (spec.name.startsWith(flag)) names.add(spec.name);
  if (names.size !== 1) return flag;
  const [full = flag] = names;
  fixes.push(`${flag} → ${full} (argparse accepted the abbreviation; isobench passes the full flag)`);
  return full;
}

/** Flags the serving script never had but people pass anyway, with the flag they meant. */
const SERVING_RENAMES: Record<string, string> = {
  '--input-len': '--random-input-len',
  '--output-len': '--random-output-len',
  '--range-ratio': '--random-range-ratio',
};

function fixServingFlag(flag: string, fixes: string[]): string {
  const renamed = SERVING_RENAMES[flag];
  if (renamed === undefined) return flag;
  fixes.push(`${flag} → ${renamed} (the serving benchmark has no ${flag}; its random dataset reads ${renamed})`);
  return renamed;
}

/**
 * Random lengths only apply to the random dataset, and a ShareGPT file path only to sharegpt: when no dataset was
 * named, that is the one meant (the script's default changed from sharegpt to random over the years).
 */
function addDatasetName(out: SplitResult, fixes: string[]): void {
  const c = out.client;
  if (c.datasetName !== undefined) return;
  const hasRandom = c.randomInputLen !== undefined || c.randomOutputLen !== undefined;
  const name = c.datasetPath === undefined ? (hasRandom ? 'random' : undefined) : /sharegpt/i.test(c.datasetPath) ? 'sharegpt' : undefined;
  if (name === undefined) return;
  c.datasetName = name;
  out.clientArgs.push('--dataset-name', name);
  out.scriptArgs.push('--dataset-name', name);
  fixes.push(name === 'random' ? 'added --dataset-name random (random input/output lengths were given without a dataset)' : `added --dataset-name sharegpt (--dataset-path ${c.datasetPath ?? ''} is a ShareGPT file)`);
}

interface Taken {
  value: string | undefined;
  consumed: boolean;
  missing: boolean;
}

function takeValue(spec: FlagSpec, inline: string | undefined, next: string | undefined): Taken {
  if (spec.arity === 'bool') return { value: inline, consumed: false, missing: false };
  if (spec.arity === 'optbool') {
    if (inline !== undefined) return { value: inline, consumed: false, missing: false };
    if (next !== undefined && /^(true|false)$/i.test(next)) return { value: next, consumed: true, missing: false };
    return { value: undefined, consumed: false, missing: false };
  }
  if (inline !== undefined) return { value: inline, consumed: false, missing: false };
  if (isValueToken(next)) return { value: next, consumed: true, missing: false };
  return { value: undefined, consumed: false, missing: true };
}

function record(out: SplitResult, spec: FlagSpec | undefined, raw: string | undefined, side: 'client' | 'server', invalid: string[]): void {
  if (spec?.key === undefined) return;
  // Upper-case words are legitimate for some string flags (--attention-backend FLASHINFER), not for these.
  const checkPlaceholder = spec.type !== 'string' || spec.key === 'model' || spec.key === 'tokenizer';
  if (raw !== undefined && checkPlaceholder && PLACEHOLDER.test(raw)) {
    invalid.push(`${spec.name} ${raw}: looks like an unfilled placeholder, not a value`);
    return;
  }
  const value = convert(spec, raw);
  if (value === undefined) {
    invalid.push(`${spec.name} ${raw ?? ''}: expected ${spec.type === 'rate' ? 'a number or inf' : `a${spec.type === 'int' ? 'n integer' : ' number'}`}`.trim());
    return;
  }
  if (side === 'client') out.client[spec.key] = value;
  else out.server[spec.key] = value;
}

function convert(spec: FlagSpec, raw: string | undefined): ConfigValue | undefined {
  switch (spec.type) {
    case 'bool':
      if (raw === undefined) return spec.sets ?? true;
      return /^true$/i.test(raw);
    case 'int':
      return raw !== undefined && /^-?\d+$/.test(raw) ? Number(raw) : undefined;
    case 'float':
      return raw !== undefined && NUMBER_LIKE.test(raw) ? Number(raw) : undefined;
    case 'rate':
      if (raw !== undefined && /^inf$/i.test(raw)) return 'inf';
      return raw !== undefined && NUMBER_LIKE.test(raw) ? Number(raw) : undefined;
    default:
      return raw ?? '';
  }
}
