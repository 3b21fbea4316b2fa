import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { buildWorkload, defaultWorkloadConfig, loadTokenizerFile, type Tokenizer } from '../../src/loadgen/index.js';
import { writeTinyTokenizer } from './helpers.js';

// Ids in the tiny tokenizer: <s> 0, <unk> 1, w0 2, w1 3, w2 4; this file adds </s> 202 and <bos> 203.
const BOS = 0;
const EOS = 202;
const GEMMA_BOS = 203;
const W1_W2 = [3, 4];

interface Variant {
  /** Keep the tiny tokenizer's BOS template (true) or write `post_processor: null` like DeepSeek-V3's file. */
  bosTemplate: boolean;
  config?: Record<string, unknown>;
  specialTokensMap?: Record<string, unknown>;
}

/** The tiny tokenizer with </s> and <bos> as added tokens, its post-processor and the JSON files beside it as asked. */
function writeVariant(v: Variant): string {
  const file = writeTinyTokenizer();
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { added_tokens: object[] };
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  json.added_tokens.push(added(EOS, '</s>'), added(GEMMA_BOS, '<bos>'));
  if (!v.bosTemplate) json.post_processor = null;
  writeFileSync(file, JSON.stringify(json));
  const dir = path.dirname(file);
  if (v.config) writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(v.config));
  if (v.specialTokensMap) writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify(v.specialTokensMap));
  return file;
}

async function ids(tok: Tokenizer, addSpecialTokens: boolean): Promise<number[]> {
  return (await tok.encode(['w1 w2'], { addSpecialTokens }))[0]!;
}

describe('loadTokenizerFile: add_bos_token / add_eos_token as transformers applies them', () => {
  it('a Llama class with add_bos_token: true adds the BOS that tokenizer.json does not (DeepSeek-V3)', async () => {
    const plain = loadTokenizerFile(writeVariant({ bosTemplate: false }));
    expect(plain.numSpecialTokens).toBe(0);
    const tok = loadTokenizerFile(
      writeVariant({ bosTemplate: false, config: { tokenizer_class: 'LlamaTokenizerFast', add_bos_token: true, bos_token: '<s>' } }),
    );
    expect(await ids(tok, true)).toEqual([BOS, ...W1_W2]);
    expect(await ids(tok, false)).toEqual(W1_W2);
    expect(tok.numSpecialTokens).toBe(1);
  });

  it('add_bos_token: false drops the BOS template of tokenizer.json', async () => {
    const tok = loadTokenizerFile(
      writeVariant({ bosTemplate: true, config: { tokenizer_class: 'LlamaTokenizerFast', add_bos_token: false, bos_token: '<s>' } }),
    );
    expect(await ids(tok, true)).toEqual(W1_W2);
    expect(tok.numSpecialTokens).toBe(0);
  });

  it('classes that do not read the flags keep tokenizer.json post-processor', async () => {
    const noTemplate = loadTokenizerFile(
      writeVariant({ bosTemplate: false, config: { tokenizer_class: 'PreTrainedTokenizerFast', add_bos_token: true, bos_token: '<s>' } }),
    );
    expect(await ids(noTemplate, true)).toEqual(W1_W2);
    expect(noTemplate.numSpecialTokens).toBe(0);
    const withTemplate = loadTokenizerFile(
      writeVariant({ bosTemplate: true, config: { tokenizer_class: 'Qwen2TokenizerFast', add_bos_token: false, add_eos_token: true, eos_token: '</s>' } }),
    );
    expect(await ids(withTemplate, true)).toEqual([BOS, ...W1_W2]);
    expect(withTemplate.numSpecialTokens).toBe(1);
  });

  it('bos_token as an AddedToken object, and the slow class name', async () => {
    const tok = loadTokenizerFile(
      writeVariant({
        bosTemplate: false,
        config: { tokenizer_class: 'LlamaTokenizer', add_bos_token: true, bos_token: { __type: 'AddedToken', content: '<bos>', special: true } },
      }),
    );
    expect(await ids(tok, true)).toEqual([GEMMA_BOS, ...W1_W2]);
  });

  it('the class defaults when the config leaves the keys out (Gemma: BOS <bos>, no EOS)', async () => {
    const tok = loadTokenizerFile(writeVariant({ bosTemplate: false, config: { tokenizer_class: 'GemmaTokenizerFast' } }));
    expect(await ids(tok, true)).toEqual([GEMMA_BOS, ...W1_W2]);
    expect(tok.numSpecialTokens).toBe(1);
  });

  it('special_tokens_map.json names the token when tokenizer_config.json does not', async () => {
    const tok = loadTokenizerFile(
      writeVariant({ bosTemplate: false, config: { tokenizer_class: 'CodeLlamaTokenizerFast', add_bos_token: true }, specialTokensMap: { bos_token: { content: '<bos>' } } }),
    );
    expect(await ids(tok, true)).toEqual([GEMMA_BOS, ...W1_W2]);
  });

  it('add_eos_token appends the EOS, alone or after a BOS', async () => {
    const eosOnly = loadTokenizerFile(
      writeVariant({ bosTemplate: true, config: { tokenizer_class: 'LlamaTokenizerFast', add_bos_token: false, add_eos_token: true, eos_token: '</s>' } }),
    );
    expect(await ids(eosOnly, true)).toEqual([...W1_W2, EOS]);
    expect(eosOnly.numSpecialTokens).toBe(1);
    const both = loadTokenizerFile(
      writeVariant({ bosTemplate: false, config: { tokenizer_class: 'CohereTokenizerFast', add_bos_token: true, bos_token: '<s>', add_eos_token: true, eos_token: '</s>' } }),
    );
    expect(await ids(both, true)).toEqual([BOS, ...W1_W2, EOS]);
    expect(await ids(both, false)).toEqual(W1_W2);
    expect(both.numSpecialTokens).toBe(2);
  });

  it('a flagged token missing from the vocabulary, or null, is an E_TOKENIZER_UNAVAILABLE error', () => {
    const missing = writeVariant({ bosTemplate: false, config: { tokenizer_class: 'LlamaTokenizerFast', add_bos_token: true, bos_token: '<nope>' } });
    expect(() => loadTokenizerFile(missing)).toThrow(IsobenchError);
    expect(() => loadTokenizerFile(missing)).toThrow(/"<nope>" is not in its vocabulary/);
    const nullBos = writeVariant({ bosTemplate: false, config: { tokenizer_class: 'LlamaTokenizerFast', add_bos_token: true, bos_token: null } });
    expect(() => loadTokenizerFile(nullBos)).toThrow(/add_bos_token is true but bos_token is null/);
  });
});

describe('loadTokenizerFile: decode', () => {
  it('decodes an empty id list to an empty string', async () => {
    const tok = loadTokenizerFile(writeTinyTokenizer());
    expect(await tok.decode([[], W1_W2, []])).toEqual(['', 'w1 w2', '']);
  });
});

describe('buildWorkload with a DeepSeek-V3-style tokenizer (BOS from the config only)', () => {
  it('random: the prompt plus the BOS is exactly --random-input-len tokens, as vLLM counts it', async () => {
    const tok = loadTokenizerFile(
      writeVariant({ bosTemplate: false, config: { tokenizer_class: 'LlamaTokenizerFast', add_bos_token: true, bos_token: '<s>' } }),
    );
    const w = await buildWorkload(defaultWorkloadConfig({ numPrompts: 12, randomInputLen: 17, randomOutputLen: 5, randomPrefixLen: 4 }), tok);
    expect(w.requests).toHaveLength(12);
    for (const r of w.requests) {
      expect(r.promptTokens).toBe(4 + 16);
      const [withBos] = await tok.encode([r.prompt], { addSpecialTokens: true });
      expect(withBos).toHaveLength(4 + 17);
      expect(withBos![0]).toBe(BOS);
    }
  });
});
