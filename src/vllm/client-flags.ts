import { SERVING_CLIENT_FLAGS, flagIndex } from './flags.js';
import { parseSlo, type Slo } from '../core/index.js';
import { parsePerfCommand, type ParsedPerfCommand } from './perf-command.js';

/**
 * What isobench does with each client flag of the serving benchmark (benchmark_serving.py / `vllm bench serve`).
 * - `workload`: decides the prompts or output lengths (dataset, lengths, count, seed);
 * - `request`: sent in every request body as vLLM's client sends it (sampling, extra body, ignore_eos, ...);
 * - `load`: shapes the arrivals (rate, burstiness, concurrency, ramp-up, warm-ups);
 * - `target`: names the server and model, which isobench starts itself;
 * - `output`: only changes what the script prints or writes, not what the server sees;
 * - `refused`: isobench cannot send what the script would (the reason says why): the task is refused at plan time.
 */
export type ClientFlagUse = 'workload' | 'request' | 'load' | 'target' | 'output' | 'refused';

interface FlagRule {
  use: ClientFlagUse;
  /** For `refused`, or for a flag refused only for some values: why (the value is passed in). */
  refuse?: (value: string | number | boolean) => string | null;
}

const always =
  (reason: string): ((value: string | number | boolean) => string) =>
  () =>
    reason;

/** Backends whose request function is vLLM's OpenAI completions or chat client (the rest speak other APIs). */
export const COMPLETIONS_BACKENDS: readonly string[] = ['openai', 'vllm', 'lmdeploy', 'scalellm', 'sglang', 'llama.cpp'];
export const CHAT_BACKENDS: readonly string[] = ['openai-chat'];
/** Datasets isobench builds exactly as vLLM's client does. */
export const SERVING_DATASETS: readonly string[] = ['random', 'sharegpt', 'sonnet', 'prefix_repetition', 'custom', 'random-mm'];

const RULES: Record<string, FlagRule> = {
  '--backend': {
    use: 'request',
    refuse: (v) =>
      COMPLETIONS_BACKENDS.includes(String(v)) || CHAT_BACKENDS.includes(String(v))
        ? null
        : `backend ${String(v)} speaks another API than OpenAI completions/chat (isobench sends ${[...COMPLETIONS_BACKENDS, ...CHAT_BACKENDS].join(', ')})`,
  },
  '--endpoint-type': {
    use: 'request',
    refuse: (v) => (['openai', 'vllm', 'openai-chat'].includes(String(v)) ? null : `endpoint type ${String(v)} is not OpenAI completions/chat`),
  },
  '--base-url': { use: 'target' },
  '--host': { use: 'target' },
  '--port': { use: 'target' },
  '--endpoint': { use: 'request' },
  '--dataset': { use: 'workload' },
  '--dataset-name': {
    use: 'workload',
    refuse: (v) =>
      v === 'random-rerank'
        ? "random-rerank benchmarks a reranker (no generated tokens): run's trials check greedy outputs and judge generation, so it is measured only by isobench bench serve --backend vllm-rerank"
        : SERVING_DATASETS.includes(String(v))
          ? null
          : `dataset ${String(v)} is not one isobench builds (${SERVING_DATASETS.join(', ')})`,
  },
  '--dataset-path': { use: 'workload' },
  '--max-concurrency': { use: 'load' },
  '--model': { use: 'target' },
  '--tokenizer': { use: 'target' },
  '--tokenizer-mode': { use: 'target' },
  '--served-model-name': { use: 'request' },
  '--best-of': { use: 'request' },
  '--use-beam-search': { use: 'refused', refuse: always("vLLM's OpenAI request functions reject beam search (the script itself fails)") },
  '--num-prompts': { use: 'workload' },
  '--logprobs': { use: 'request' },
  '--request-rate': { use: 'load' },
  '--burstiness': { use: 'load' },
  '--seed': { use: 'workload' },
  '--trust-remote-code': { use: 'target' },
  '--disable-tqdm': { use: 'output' },
  '--profile': { use: 'refused', refuse: always('it runs the torch profiler on the server during the run: the timings would be of profiling, not serving') },
  '--save-result': { use: 'output' },
  '--save-detailed': { use: 'output' },
  '--append-result': { use: 'output' },
  '--metadata': { use: 'output' },
  '--result-dir': { use: 'output' },
  '--result-filename': { use: 'output' },
  '--ignore-eos': { use: 'request' },
  '--percentile-metrics': { use: 'output' },
  '--metric-percentiles': { use: 'output' },
  // Sets the SLOs of the goodput columns (dataset `slo`, `<variant>_slo_attainment`); a bad one is refused.
  '--goodput': { use: 'output' },
  '--sonnet-input-len': { use: 'workload' },
  '--sonnet-output-len': { use: 'workload' },
  '--sonnet-prefix-len': { use: 'workload' },
  '--sharegpt-output-len': { use: 'workload' },
  '--random-input-len': { use: 'workload' },
  '--random-output-len': { use: 'workload' },
  '--random-range-ratio': { use: 'workload' },
  '--random-prefix-len': { use: 'workload' },
  '--random-mm-base-items-per-request': { use: 'workload' },
  '--random-mm-num-mm-items-range-ratio': { use: 'workload' },
  '--random-mm-limit-mm-per-prompt': { use: 'workload' },
  '--random-mm-bucket-config': { use: 'workload' },
  // Only read by the hf dataset, which is refused by --dataset-name.
  '--hf-subset': { use: 'workload' },
  '--hf-split': { use: 'workload' },
  '--hf-output-len': { use: 'workload' },
  '--temperature': { use: 'request' },
  '--top-p': { use: 'request' },
  '--top-k': { use: 'request' },
  '--min-p': { use: 'request' },
  '--frequency-penalty': { use: 'request' },
  '--presence-penalty': { use: 'request' },
  '--repetition-penalty': { use: 'request' },
  '--extra-body': { use: 'request', refuse: (v) => extraBodyProblem(String(v)) },
  '--num-warmups': { use: 'load' },
  '--ramp-up-strategy': { use: 'load', refuse: (v) => (v === 'linear' || v === 'exponential' ? null : `ramp-up strategy ${String(v)} is not linear or exponential`) },
  '--ramp-up-start-rps': { use: 'load' },
  '--ramp-up-end-rps': { use: 'load' },
  '--label': { use: 'output' },
  '--request-id-prefix': { use: 'request' },
  '--ready-check-timeout-sec': { use: 'target' },
  '--random-batch-size': { use: 'workload', refuse: (v) => (v === 1 ? null : 'batched prompts (embedding benchmarks) are not built by isobench') },
  '--custom-output-len': { use: 'workload' },
  '--prefix-repetition-prefix-len': { use: 'workload' },
  '--prefix-repetition-suffix-len': { use: 'workload' },
  '--prefix-repetition-num-prefixes': { use: 'workload' },
  '--prefix-repetition-output-len': { use: 'workload' },
  // isobench never applies a chat template: chat requests carry the prompt as the user message, as vLLM's client.
  '--skip-chat-template': { use: 'workload' },
  '--no-stream': { use: 'refused', refuse: always('non-streamed requests have no time to first token; isobench measures streamed requests only') },
  '--disable-shuffle': { use: 'refused', refuse: always('isobench samples dataset files in shuffled order as vLLM does by default') },
};

const SERVING_INDEX = flagIndex(SERVING_CLIENT_FLAGS);

/** How isobench treats a serving client flag; undefined for a flag the serving script does not have. */
export function clientFlagUse(flag: string): ClientFlagUse | undefined {
  return RULES[flag]?.use;
}

/** Every serving client flag the tables know, for the test that none is left without a rule. */
export function servingFlagsWithoutRule(): string[] {
  return SERVING_CLIENT_FLAGS.map((f) => f.name).filter((name) => RULES[name] === undefined);
}

/** Why `--extra-body` cannot be sent, or null: it must be a JSON object. */
export function extraBodyProblem(text: string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  return v === null || typeof v !== 'object' || Array.isArray(v) ? 'not a JSON object' : null;
}

/**
 * The SLOs of a client command line's `--goodput` (vLLM's nargs='+': every word after the flag up to the next flag,
 * or `--goodput=KEY:VALUE`), null without the flag. The last `--goodput` wins, as argparse's.
 */
export function goodputOfArgs(args: readonly string[]): { slo: Slo } | { problem: string } | null {
  let words: string[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a.startsWith('--goodput=')) words = [a.slice('--goodput='.length)];
    else if (a === '--goodput') {
      words = [];
      while (i + 1 < args.length && !(args[i + 1] ?? '').startsWith('-')) words.push(args[++i] ?? '');
    }
  }
  return words === null ? null : parseSlo(words);
}

/** The SLOs of a serving perf command's `--goodput` (see goodputOfArgs); null without one or for another mode. */
export function goodputOfCommand(command: string): { slo: Slo } | { problem: string } | null {
  const parsed = parsePerfCommand(command);
  return parsed.status === 'ok' && parsed.mode === 'serving' ? goodputOfArgs(parsed.clientArgs) : null;
}

/**
 * The client flags of a serving perf command that isobench cannot honour as the script would, each as
 * `--flag [value]: reason`; flags no table knows are refused too (the script itself would reject them).
 * Empty for commands of other modes.
 */
export function refusedServingFlags(cmd: Pick<ParsedPerfCommand, 'mode' | 'script' | 'clientArgs' | 'client' | 'unknownArgs'>): string[] {
  if (cmd.mode !== 'serving' || cmd.script === 'api_server' || cmd.script === 'vllm_serve') return [];
  const out: string[] = [];
  for (let i = 0; i < cmd.clientArgs.length; i++) {
    const flag = cmd.clientArgs[i] ?? '';
    if (!flag.startsWith('--')) continue;
    if (flag === '--goodput' || flag.startsWith('--goodput=')) {
      const slo = goodputOfArgs(cmd.clientArgs);
      if (slo !== null && 'problem' in slo) out.push(`--goodput: ${slo.problem}`);
      continue;
    }
    const next = cmd.clientArgs[i + 1];
    const value = next !== undefined && !next.startsWith('--') ? next : undefined;
    const rule = RULES[flag];
    if (rule === undefined) {
      out.push(`${flag}: not a flag isobench knows how to honour`);
      continue;
    }
    const key = SERVING_INDEX.get(flag)?.key;
    const parsed = (key === undefined ? undefined : cmd.client[key]) ?? value ?? true;
    const reason = rule.refuse?.(parsed) ?? null;
    if (reason !== null) out.push(`${flag}${value === undefined ? '' : ` ${value}`}: ${reason}`);
  }
  for (const arg of cmd.unknownArgs) if (arg.startsWith('-')) out.push(`${arg}: not a flag of the serving benchmark (the script would exit with "unrecognized arguments")`);
  return out;
}
