import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IsobenchError, SERVE_DEFAULTS as D, errorMessage, usageError } from '../core/index.js';
import { burstgptDataset, encodeOpts, specBenchDataset, timedTraceDataset, txtSlicesDataset, type DatasetKit, type Draft } from './datasets.js';
import { DEFAULT_RANDOM_MM, drawItems, mmSampling, randomImage } from './multimodal.js';
import { Prng } from './prng.js';
import type { Tokenizer, Workload, WorkloadConfig } from './types.js';

/** vLLM's defaults for every dataset parameter (core's SERVE_DEFAULTS). */
export function defaultWorkloadConfig(overrides: Partial<WorkloadConfig> = {}): WorkloadConfig {
  return {
    datasetName: 'random',
    datasetPath: null,
    numPrompts: D.numPrompts,
    seed: D.seed,
    randomInputLen: D.randomInputLen,
    randomOutputLen: D.randomOutputLen,
    randomRangeRatio: D.randomRangeRatio,
    randomPrefixLen: D.randomPrefixLen,
    sharegptOutputLen: null,
    sonnetInputLen: D.sonnetInputLen,
    sonnetOutputLen: D.sonnetOutputLen,
    sonnetPrefixLen: D.sonnetPrefixLen,
    prefixRepetitionPrefixLen: D.prefixRepetitionPrefixLen,
    prefixRepetitionSuffixLen: D.prefixRepetitionSuffixLen,
    prefixRepetitionNumPrefixes: D.prefixRepetitionNumPrefixes,
    prefixRepetitionOutputLen: D.prefixRepetitionOutputLen,
    customOutputLen: D.customOutputLen,
    disableShuffle: false,
    noOversample: false,
    skipChatTemplate: false,
    sonnetPromptFormatted: true,
    specBenchOutputLen: D.specBenchOutputLen,
    specBenchCategory: null,
    txtSlicesInputLen: D.txtSlicesInputLen,
    txtSlicesOutputLen: D.txtSlicesOutputLen,
    timedTraceChunkHashSize: D.timedTraceChunkHashSize,
    timedTraceSecMultiplier: D.timedTraceSecMultiplier,
    timedTraceLabels: { ...D.timedTraceLabels },
    randomMm: DEFAULT_RANDOM_MM,
    randomBatchSize: 1,
    reranker: true,
    ...overrides,
  };
}

function turnText(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Builds the deterministic request list of a workload: the same config and tokenizer give the same prompts. */
export async function buildWorkload(cfg: WorkloadConfig, tokenizer: Tokenizer, signal?: AbortSignal): Promise<Workload> {
  let drafts: Draft[];
  switch (cfg.datasetName) {
    case 'random':
      drafts = await randomDataset(cfg, tokenizer, signal);
      break;
    case 'sharegpt':
      drafts = await sharegptDataset(cfg, tokenizer, signal);
      break;
    case 'sonnet':
      drafts = await sonnetDataset(cfg, tokenizer, signal);
      break;
    case 'prefix_repetition':
      drafts = await prefixRepetitionDataset(cfg, tokenizer, signal);
      break;
    case 'custom':
      drafts = await customDataset(cfg, tokenizer, signal);
      break;
    case 'burstgpt':
      drafts = await burstgptDataset(cfg, tokenizer, KIT, signal);
      break;
    case 'spec_bench':
      drafts = await specBenchDataset(cfg, tokenizer, KIT, signal);
      break;
    case 'txt-slices':
      drafts = await txtSlicesDataset(cfg, tokenizer, KIT, signal);
      break;
    case 'timed_trace':
      drafts = await timedTraceDataset(cfg, tokenizer, KIT, signal);
      break;
    case 'random-mm':
      drafts = randomMmItems(cfg, await randomDataset(cfg, tokenizer, signal));
      break;
    case 'random-rerank':
      drafts = await randomRerankDataset(cfg, tokenizer, signal);
      break;
  }
  const notes = templateNote(cfg, tokenizer);
  return { config: cfg, tokenizerId: tokenizer.id, requests: drafts.map((d, index) => ({ index, ...d })), ...(notes.length > 0 ? { notes } : {}) };
}

/**
 * A stable hash of the workload's requests and the tokenizer that counted them (sha256 hex); `request`, when given,
 * is what every request body carries besides prompt and length (sampling, extra body, backend), hashed with them.
 */
export function workloadHash(w: Workload, request?: unknown): string {
  const h = createHash('sha256');
  h.update(`isobench-workload-v1\n${w.tokenizerId}\n`);
  if (request !== undefined) h.update(`request ${JSON.stringify(request)}\n`);
  for (const r of w.requests) {
    h.update(`${r.index}\t${r.promptTokens}\t${r.maxTokens}\t${JSON.stringify(r.prompt)}${r.arrivalMs === undefined ? '' : `\t@${r.arrivalMs}`}\n`);
    for (const item of r.mmContent ?? []) h.update(`\t${item.image_url.url}\n`);
    for (const doc of r.documents ?? []) h.update(`\tdoc ${JSON.stringify(doc)}\n`);
  }
  return h.digest('hex');
}

/** vLLM's decode/re-encode loop: pad with random ids or truncate until the prompt encodes to `target` tokens. */
async function fitToLength(
  tok: Tokenizer,
  seqs: number[][],
  targets: readonly number[],
  pool: readonly number[],
  rng: Prng,
  signal?: AbortSignal,
): Promise<{ prompts: string[]; lengths: number[] }> {
  const prompts = new Array<string>(seqs.length).fill('');
  let pending = seqs.map((_, i) => i);
  for (let attempt = 0; pending.length > 0; attempt++) {
    signal?.throwIfAborted();
    const decoded = await tok.decode(pending.map((i) => seqs[i]!), signal);
    const encoded = await tok.encode(decoded, encodeOpts(false, signal));
    const still: number[] = [];
    pending.forEach((i, k) => {
      prompts[i] = decoded[k]!;
      const ids = encoded[k]!;
      seqs[i] = ids;
      const target = targets[i]!;
      if (attempt >= 10 || ids.length === target) return;
      seqs[i] = ids.length > target ? ids.slice(0, target) : ids.concat(randomIds(pool, target - ids.length, rng));
      still.push(i);
    });
    pending = still;
  }
  return { prompts, lengths: seqs.map((s) => s.length) };
}

function randomIds(pool: readonly number[], n: number, rng: Prng): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(pool[rng.int(0, pool.length - 1)]!);
  return out;
}

async function samplingPool(tok: Tokenizer, signal?: AbortSignal): Promise<number[]> {
  const pool = await tok.samplingIds(signal);
  if (pool.length === 0) throw new IsobenchError('E_TOKENIZER_UNAVAILABLE', `tokenizer ${tok.id} has no usable token ids`);
  return pool;
}

/** --random-range-ratio, refused outside [0, 1). */
function rangeRatio(cfg: WorkloadConfig): number {
  const ratio = cfg.randomRangeRatio;
  if (!(ratio >= 0 && ratio < 1)) throw usageError('--random-range-ratio', `must be in [0, 1), got ${ratio}`);
  return ratio;
}

async function randomDataset(cfg: WorkloadConfig, tok: Tokenizer, signal?: AbortSignal): Promise<Draft[]> {
  const ratio = rangeRatio(cfg);
  const realInput = Math.max(0, cfg.randomInputLen - tok.numSpecialTokens);
  const inLo = Math.floor(realInput * (1 - ratio));
  const inHi = Math.ceil(realInput * (1 + ratio));
  const outLo = Math.max(Math.floor(cfg.randomOutputLen * (1 - ratio)), 1);
  const outHi = Math.max(Math.ceil(cfg.randomOutputLen * (1 + ratio)), 1);
  if (cfg.randomPrefixLen + inLo < 1) {
    throw usageError('--random-input-len', `too small: at least one prompt token is needed (the tokenizer adds ${tok.numSpecialTokens} special tokens)`, 'increase --random-input-len or --random-prefix-len');
  }
  const rng = new Prng(cfg.seed);
  const pool = await samplingPool(tok, signal);
  const n = cfg.numPrompts;
  const inputLens = Array.from({ length: n }, () => rng.int(inLo, inHi));
  const outputLens = Array.from({ length: n }, () => rng.int(outLo, outHi));
  const offsets = Array.from({ length: n }, () => rng.int(0, pool.length - 1));
  const prefix = randomIds(pool, cfg.randomPrefixLen, rng);
  const seqs = inputLens.map((len, i) => {
    const inner: number[] = [];
    for (let j = 0; j < len; j++) inner.push(pool[(offsets[i]! + i + j) % pool.length]!);
    return prefix.concat(inner);
  });
  const targets = inputLens.map((len) => cfg.randomPrefixLen + len);
  const { prompts, lengths } = await fitToLength(tok, seqs, targets, pool, rng, signal);
  return prompts.map((prompt, i) => ({ prompt, promptTokens: lengths[i]!, maxTokens: outputLens[i]!, serverPromptTokens: lengths[i]! + tok.numSpecialTokens }));
}

/**
 * random-mm: the random dataset's prompts, each with its images (vLLM's RandomMultiModalDataset: item count and
 * shapes per request, random RGB pixels), drawn from a generator of their own seeded with --seed.
 */
function randomMmItems(cfg: WorkloadConfig, drafts: Draft[]): Draft[] {
  const sampling = mmSampling(cfg.randomMm);
  const rng = new Prng((cfg.seed ^ 0x6d6d) >>> 0);
  return drafts.map((d) => ({ ...d, mmContent: drawItems(rng, sampling).map(([h, w]) => randomImage(rng, h, w)) }));
}

/**
 * random-rerank (vLLM's RandomDatasetForReranking): one random query of about half --random-input-len (less one
 * separator token) and --num-prompts random documents of the rest, in requests of --random-batch-size documents each;
 * a request's prompt tokens are (query + separator) per document plus its documents. --no-reranker: a query of the
 * whole length and documents of the whole length, one document less and one fewer per batch (vLLM's score mode).
 */
async function randomRerankDataset(cfg: WorkloadConfig, tok: Tokenizer, signal?: AbortSignal): Promise<Draft[]> {
  const ratio = rangeRatio(cfg);
  const sep = cfg.reranker ? 1 : 0;
  let n = cfg.numPrompts;
  let batch = cfg.randomBatchSize;
  if (!cfg.reranker) {
    if (n < 2 || batch < 2) throw usageError('--no-reranker', 'needs --num-prompts and --random-batch-size of at least 2 (the query is one of them)');
    n -= 1;
    batch -= 1;
  }
  const rng = new Prng(cfg.seed);
  const pool = await samplingPool(tok, signal);
  const lengths = (len: number, count: number): number[] => {
    const real = Math.max(0, len - tok.numSpecialTokens);
    return Array.from({ length: count }, () => rng.int(Math.floor(real * (1 - ratio)), Math.ceil(real * (1 + ratio))));
  };
  const [queryLen = 0] = lengths(cfg.reranker ? Math.floor(cfg.randomInputLen / 2) - sep : cfg.randomInputLen, 1);
  const docLens = lengths(cfg.reranker ? cfg.randomInputLen - queryLen - sep : cfg.randomInputLen, n);
  const offsets = Array.from({ length: n + 1 }, () => rng.int(0, pool.length - 1));
  const seqs = [queryLen, ...docLens].map((len, i) => Array.from({ length: len }, (_, j) => pool[(offsets[i]! + i + j) % pool.length]!));
  const { prompts, lengths: got } = await fitToLength(tok, seqs, [queryLen, ...docLens], pool, rng, signal);
  const [query = '', ...docs] = prompts;
  const [queryTokens = 0, ...docTokens] = got;
  const out: Draft[] = [];
  for (let i = 0; i < n; i += batch) {
    const documents = docs.slice(i, i + batch);
    const docSum = docTokens.slice(i, i + batch).reduce((a, b) => a + b, 0);
    const promptTokens = (cfg.reranker ? (queryTokens + sep) * documents.length : queryTokens) + docSum;
    out.push({ prompt: query, documents, promptTokens, maxTokens: 0, serverPromptTokens: promptTokens });
  }
  return out;
}

function readDatasetFile(cfg: WorkloadConfig): string {
  if (cfg.datasetPath === null) {
    throw usageError('--dataset-path', `required for --dataset-name ${cfg.datasetName}`, 'pass the path of a local dataset file');
  }
  try {
    return readFileSync(cfg.datasetPath, 'utf8');
  } catch (err) {
    throw new IsobenchError('E_INPUT', `cannot read --dataset-path ${cfg.datasetPath}: ${errorMessage(err)}`);
  }
}

/** Pads a too-short request list by sampling it with replacement (vLLM's oversampling), unless --no-oversample. */
function oversample(drafts: Draft[], cfg: WorkloadConfig, rng: Prng, what: string): Draft[] {
  if (drafts.length === 0) throw new IsobenchError('E_INPUT', `${what} yields no usable request`);
  const n = cfg.numPrompts;
  const out = drafts.slice(0, n);
  if (cfg.noOversample) return out;
  while (out.length < n) out.push(drafts[rng.int(0, drafts.length - 1)]!);
  return out;
}

/** The prompt through the tokenizer's chat template, or as it is when the tokenizer has none (see templateNote). */
function templated(tok: Tokenizer, prompt: string): string {
  return tok.applyChatTemplate === undefined ? prompt : tok.applyChatTemplate(prompt);
}

/** Says when vLLM would put this workload's prompts through a chat template and the tokenizer has none. */
function templateNote(cfg: WorkloadConfig, tok: Tokenizer): string[] {
  const wants = cfg.datasetName === 'sonnet' || ((cfg.datasetName === 'custom' || cfg.datasetName === 'spec_bench') && !cfg.skipChatTemplate);
  if (!wants || tok.applyChatTemplate !== undefined) return [];
  return [`tokenizer ${tok.id} has no chat template: ${cfg.datasetName} prompts are sent without one (vLLM would apply it)`];
}

/** vLLM's CustomDataset.sample: each prompt through the chat template unless skipped, its length with special tokens. */
async function customDrafts(prompts: string[], outputLen: number, cfg: WorkloadConfig, tok: Tokenizer, rng: Prng, what: string, signal?: AbortSignal): Promise<Draft[]> {
  const sent = cfg.skipChatTemplate ? prompts : prompts.map((p) => templated(tok, p));
  const ids = await tok.encode(sent, encodeOpts(true, signal));
  const out = sent.map((prompt, k) => ({ prompt, promptTokens: ids[k]!.length, maxTokens: outputLen, serverPromptTokens: ids[k]!.length }));
  return oversample(out, cfg, rng, what);
}

const KIT: DatasetKit = { readFile: readDatasetFile, oversample, samplingPool, customDrafts };

/** ShareGPT's pruning: prompts and outputs of at least 4 tokens, prompt ≤ 1024, prompt + output ≤ 2048. */
function validSequence(promptLen: number, outputLen: number, skipMinOutput: boolean): boolean {
  return !(promptLen < 4 || (!skipMinOutput && outputLen < 4) || promptLen > 1024 || promptLen + outputLen > 2048);
}

async function sharegptDataset(cfg: WorkloadConfig, tok: Tokenizer, signal?: AbortSignal): Promise<Draft[]> {
  const text = readDatasetFile(cfg);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: not JSON (${errorMessage(err)})`);
  }
  if (!Array.isArray(data)) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: expected a JSON list of conversations`);
  const convs = (data as { conversations?: { value?: unknown }[] }[])
    .filter((e) => Array.isArray(e?.conversations) && e.conversations.length >= 2)
    .map((e) => [turnText(e.conversations![0]!.value), turnText(e.conversations![1]!.value)] as const);
  const rng = new Prng(cfg.seed);
  if (!cfg.disableShuffle) rng.shuffle(convs);
  const out: Draft[] = [];
  const batch = 64;
  for (let start = 0; start < convs.length && out.length < cfg.numPrompts; start += batch) {
    const slice = convs.slice(start, start + batch);
    const promptIds = await tok.encode(slice.map((c) => c[0]), encodeOpts(true, signal));
    const completionIds = cfg.sharegptOutputLen === null ? await tok.encode(slice.map((c) => c[1]), encodeOpts(true, signal)) : null;
    for (let k = 0; k < slice.length && out.length < cfg.numPrompts; k++) {
      const promptLen = promptIds[k]!.length;
      const outputLen = cfg.sharegptOutputLen ?? completionIds![k]!.length;
      if (!validSequence(promptLen, outputLen, cfg.sharegptOutputLen !== null)) continue;
      out.push({ prompt: slice[k]![0], promptTokens: promptLen, maxTokens: outputLen, serverPromptTokens: promptLen });
    }
  }
  return oversample(out, cfg, rng, `ShareGPT file ${cfg.datasetPath}`);
}

const SONNET_BASE_PROMPT = 'Pick as many lines as you can from these poem lines:\n';

async function sonnetDataset(cfg: WorkloadConfig, tok: Tokenizer, signal?: AbortSignal): Promise<Draft[]> {
  const lines = readDatasetFile(cfg).split(/(?<=\n)/).filter((l) => l.length > 0);
  if (lines.length === 0) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: no lines`);
  // As vLLM: lengths are those of the prompt through the chat template; it is sent formatted except to openai-chat.
  const fmt = (p: string): string => templated(tok, p);
  const [baseIds] = await tok.encode([fmt(SONNET_BASE_PROMPT)], encodeOpts(true, signal));
  const baseOffset = baseIds!.length;
  if (cfg.sonnetInputLen <= baseOffset) {
    throw usageError('--sonnet-input-len', `must be greater than the base prompt's ${baseOffset} tokens`);
  }
  const lineIds = await tok.encode(lines, encodeOpts(true, signal));
  const avgLen = lineIds.reduce((s, ids) => s + ids.length, 0) / lines.length;
  const numPrefixLines = Math.max(Math.round((cfg.sonnetPrefixLen - baseOffset) / avgLen), 0);
  const numInputLines = Math.round((cfg.sonnetInputLen - baseOffset) / avgLen);
  const prefix = lines.slice(0, numPrefixLines).join('');
  const rng = new Prng(cfg.seed);
  const out: Draft[] = [];
  for (let round = 0; out.length < cfg.numPrompts; round++) {
    if (round > 100) throw new IsobenchError('E_INPUT', `sonnet prompts never fit in --sonnet-input-len ${cfg.sonnetInputLen}`);
    const need = cfg.numPrompts - out.length;
    const candidates = Array.from({ length: need }, () => {
      let extra = '';
      for (let k = 0; k < numInputLines - numPrefixLines; k++) extra += lines[rng.int(0, lines.length - 1)]!;
      return `${SONNET_BASE_PROMPT}${prefix}${extra}`;
    });
    const formatted = candidates.map(fmt);
    const ids = await tok.encode(formatted, encodeOpts(true, signal));
    candidates.forEach((prompt, k) => {
      const len = ids[k]!.length;
      if (len > cfg.sonnetInputLen) return;
      const sent = cfg.sonnetPromptFormatted ? formatted[k]! : prompt;
      out.push({ prompt: sent, promptTokens: len, maxTokens: cfg.sonnetOutputLen, serverPromptTokens: len });
    });
  }
  return out;
}

async function prefixRepetitionDataset(cfg: WorkloadConfig, tok: Tokenizer, signal?: AbortSignal): Promise<Draft[]> {
  const perPrefix = Math.floor(cfg.numPrompts / cfg.prefixRepetitionNumPrefixes);
  if (perPrefix === 0) {
    throw usageError('--prefix-repetition-num-prefixes', `(${cfg.prefixRepetitionNumPrefixes}) must not exceed --num-prompts (${cfg.numPrompts})`);
  }
  const rng = new Prng(cfg.seed);
  const pool = await samplingPool(tok, signal);
  const exact = async (lens: number[]): Promise<number[][]> => {
    const seqs = lens.map((len) => randomIds(pool, len, rng));
    await fitToLength(tok, seqs, lens, pool, rng, signal);
    return seqs;
  };
  const prefixes = await exact(Array.from({ length: cfg.prefixRepetitionNumPrefixes }, () => cfg.prefixRepetitionPrefixLen));
  const suffixes = await exact(Array.from({ length: perPrefix * prefixes.length }, () => cfg.prefixRepetitionSuffixLen));
  const combined = suffixes.map((s, k) => prefixes[Math.floor(k / perPrefix)]!.concat(s));
  const prompts = await tok.decode(combined, signal);
  const out = prompts.map((prompt, k) => ({
    prompt,
    promptTokens: combined[k]!.length,
    maxTokens: cfg.prefixRepetitionOutputLen,
    serverPromptTokens: combined[k]!.length + tok.numSpecialTokens,
  }));
  if (!cfg.disableShuffle) rng.shuffle(out);
  return oversample(out, cfg, rng, 'prefix_repetition');
}

async function customDataset(cfg: WorkloadConfig, tok: Tokenizer, signal?: AbortSignal): Promise<Draft[]> {
  const text = readDatasetFile(cfg);
  const prompts: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: { prompt?: unknown };
    try {
      row = JSON.parse(line) as { prompt?: unknown };
    } catch (err) {
      throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath} line ${i + 1}: not JSON (${errorMessage(err)})`);
    }
    if (typeof row?.prompt !== 'string') throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath} line ${i + 1}: no "prompt" string`);
    prompts.push(row.prompt);
  });
  const rng = new Prng(cfg.seed);
  if (!cfg.disableShuffle) rng.shuffle(prompts);
  return customDrafts(prompts.slice(0, cfg.numPrompts), cfg.customOutputLen, cfg, tok, rng, `custom file ${cfg.datasetPath}`, signal);
}
