import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWorkload, defaultWorkloadConfig, loadTokenizerFile, parseCsv, type WorkloadConfig } from '../../src/loadgen/index.js';
import { locatePackageTokenizer } from '../../src/loadgen/tokenizer-packages.js';
import { tempDir, writeTinyTokenizer } from './helpers.js';

const tiny = loadTokenizerFile(writeTinyTokenizer());

let llama: ReturnType<typeof loadTokenizerFile> | undefined;
function llama3() {
  if (llama) return llama;
  const found = locatePackageTokenizer('meta-llama/Llama-3.1-8B-Instruct');
  if (found.status !== 'found') throw new Error(found.reason);
  llama = loadTokenizerFile(found.file, { id: found.id, source: 'package' });
  return llama;
}

function file(name: string, text: string): string {
  const p = path.join(tempDir(), name);
  writeFileSync(p, text);
  return p;
}

const cfg = (o: Partial<WorkloadConfig>) => defaultWorkloadConfig({ numPrompts: 4, ...o });

describe('burstgpt', () => {
  const csv = [
    'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type',
    '5,ChatGPT,11,22,33,Conversation log',
    '6,GPT-4,12,7,19,Conversation log',
    '7,GPT-4,30,0,30,Conversation log',
    '8,GPT-4,9,5,14,"API, log"',
  ].join('\n');

  it('uses the GPT-4 rows with a positive response: synthetic prompts of the request tokens, the response as max tokens', async () => {
    const w = await buildWorkload(cfg({ datasetName: 'burstgpt', datasetPath: file('b.csv', csv), numPrompts: 2 }), tiny);
    expect(w.requests.map((r) => [r.promptTokens, r.maxTokens]).sort()).toEqual([
      [12, 7],
      [9, 5],
    ]);
    // Prompt ids are pool[(i + j) % |pool|], decoded; the server counts them again with its BOS.
    for (const r of w.requests) expect(r.serverPromptTokens).toBe(r.promptTokens + 1);
  });

  it('samples with replacement beyond the usable rows, and names a missing column', async () => {
    const w = await buildWorkload(cfg({ datasetName: 'burstgpt', datasetPath: file('b.csv', csv), numPrompts: 6 }), tiny);
    expect(w.requests).toHaveLength(6);
    expect(new Set(w.requests.map((r) => r.maxTokens))).toEqual(new Set([7, 5]));
    await expect(buildWorkload(cfg({ datasetName: 'burstgpt', datasetPath: file('c.csv', 'Model,Response tokens\nGPT-4,3\n') }), tiny)).rejects.toThrow(/no "Request tokens" column/);
  });

  it('reads quoted CSV fields', () => {
    expect(parseCsv('a,"b,""c"""\r\n1,2\n')).toEqual([
      ['a', 'b,"c"'],
      ['1', '2'],
    ]);
  });
});

describe('spec_bench and custom', () => {
  const questions = [
    { question_id: 1, category: 'writing', turns: ['w1 w2', 'second turn'] },
    { question_id: 2, category: 'math_reasoning', turns: ['w3 w4 w5'] },
    { question_id: 3, category: 'writing', turns: ['w6'] },
  ]
    .map((q) => JSON.stringify(q))
    .join('\n');

  it('takes the first turn of each question of the category, through the chat template (as vLLM)', async () => {
    const tok = llama3();
    const w = await buildWorkload(cfg({ datasetName: 'spec_bench', datasetPath: file('q.jsonl', questions), specBenchCategory: 'writing', numPrompts: 2, disableShuffle: true }), tok);
    expect(w.requests.map((r) => r.prompt)).toEqual([
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nw1 w2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nw6<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    ]);
    expect(w.requests.every((r) => r.maxTokens === 256)).toBe(true);
    const [ids] = await tok.encode([w.requests[0]!.prompt], { addSpecialTokens: true });
    expect(w.requests[0]!.promptTokens).toBe(ids!.length);
  });

  it('custom: --skip-chat-template sends the prompt as it is; --disable-shuffle keeps the order; --no-oversample gives fewer', async () => {
    const tok = llama3();
    const jsonl = ['alpha', 'beta', 'gamma'].map((prompt) => JSON.stringify({ prompt })).join('\n');
    const path1 = file('c.jsonl', jsonl);
    const raw = await buildWorkload(cfg({ datasetName: 'custom', datasetPath: path1, numPrompts: 5, skipChatTemplate: true, disableShuffle: true, noOversample: true }), tok);
    expect(raw.requests.map((r) => r.prompt)).toEqual(['alpha', 'beta', 'gamma']);
    const over = await buildWorkload(cfg({ datasetName: 'custom', datasetPath: path1, numPrompts: 5 }), tok);
    expect(over.requests).toHaveLength(5);
    expect(over.requests.every((r) => r.prompt.startsWith('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n'))).toBe(true);
  });

  it('sonnet: formatted with the chat template for completions, the plain prompt for openai-chat, lengths of the formatted one', async () => {
    const tok = llama3();
    const lines = Array.from({ length: 40 }, (_, i) => `line number ${i} of the poem\n`).join('');
    const p = file('sonnet.txt', lines);
    const base = { datasetName: 'sonnet' as const, datasetPath: p, sonnetInputLen: 120, sonnetPrefixLen: 40, sonnetOutputLen: 10 };
    const formatted = await buildWorkload(cfg(base), tok);
    const plain = await buildWorkload(cfg({ ...base, sonnetPromptFormatted: false }), tok);
    expect(formatted.requests[0]!.prompt).toMatch(/^<\|begin_of_text\|><\|start_header_id\|>user<\|end_header_id\|>\n\nPick as many lines/);
    expect(plain.requests[0]!.prompt).toMatch(/^Pick as many lines/);
    expect(plain.requests.map((r) => r.promptTokens)).toEqual(formatted.requests.map((r) => r.promptTokens));
  });

  it('a tokenizer without a chat template sends the prompt as it is', async () => {
    const w = await buildWorkload(cfg({ datasetName: 'custom', datasetPath: file('c.jsonl', JSON.stringify({ prompt: 'w1 w2' })), numPrompts: 1 }), tiny);
    expect(w.requests[0]!.prompt).toBe('w1 w2');
  });
});

describe('txt-slices', () => {
  it('slices --txt-slices-input-len tokens of the tokenized text from seeded starts, wrapping around', async () => {
    const words = Array.from({ length: 30 }, (_, i) => `w${i.toString(36)}`);
    const p = file('t.txt', words.join(' '));
    const c = cfg({ datasetName: 'txt-slices', datasetPath: p, txtSlicesInputLen: 50, txtSlicesOutputLen: 9, numPrompts: 3 });
    const w = await buildWorkload(c, tiny);
    const again = await buildWorkload(c, tiny);
    expect(w.requests.map((r) => r.prompt)).toEqual(again.requests.map((r) => r.prompt));
    for (const r of w.requests) {
      const got = r.prompt.split(' ');
      expect(got).toHaveLength(50);
      const start = words.indexOf(got[0]!);
      expect(got).toEqual(Array.from({ length: 50 }, (_, j) => words[(start + j) % 30]));
      expect(r.maxTokens).toBe(9);
      expect(r.promptTokens).toBe(51);
    }
  });
});

describe('timed_trace', () => {
  const trace = [
    { timestamp: 1000, input_length: 6, output_length: 3, hash_ids: [7, 11] },
    { timestamp: 1000, input_length: 8, output_length: 2, hash_ids: [7, 12] },
    { timestamp: 4000, input_length: 4, output_length: 5, hash_ids: [7] },
    { timestamp: 9000, input_length: 2, output_length: 1, hash_ids: [] },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n');

  it('builds prompts from hash-id blocks (shared ids share a prefix) and send times from the timestamps', async () => {
    const w = await buildWorkload(cfg({ datasetName: 'timed_trace', datasetPath: file('t.jsonl', trace), timedTraceChunkHashSize: 4, timedTraceSecMultiplier: 0.001, numPrompts: 10 }), tiny);
    expect(w.requests).toHaveLength(4);
    const words = w.requests.map((r) => r.prompt.split(' '));
    expect(words.map((x) => x.length)).toEqual([6, 8, 4, 2]);
    expect(words[0]!.slice(0, 4)).toEqual(words[1]!.slice(0, 4));
    expect(words[2]).toEqual(words[0]!.slice(0, 4));
    expect(words[0]!.slice(4)).not.toEqual(words[1]!.slice(4, 6));
    expect(w.requests.map((r) => r.maxTokens)).toEqual([3, 2, 5, 1]);
    expect(w.requests.map((r) => r.arrivalMs)).toEqual([0, 0, 3000, 8000]);
  });

  it('refuses a trace out of time order, and a row without its fields', async () => {
    const swapped = [JSON.stringify({ timestamp: 5, input_length: 2, output_length: 1, hash_ids: [] }), JSON.stringify({ timestamp: 1, input_length: 2, output_length: 1, hash_ids: [] })].join('\n');
    await expect(buildWorkload(cfg({ datasetName: 'timed_trace', datasetPath: file('s.jsonl', swapped) }), tiny)).rejects.toThrow(/time order/);
    await expect(buildWorkload(cfg({ datasetName: 'timed_trace', datasetPath: file('m.jsonl', JSON.stringify({ timestamp: 0 })) }), tiny)).rejects.toThrow(/"input_length" must be a number/);
  });
});
