import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { buildWorkload, defaultWorkloadConfig, loadTokenizerFile, resolveTokenizer, workloadHash, type Tokenizer } from '../../src/loadgen/index.js';
import { parseSimProfile, startSimServer } from '../../src/sim/index.js';
import { tempDir, writeTinyTokenizer } from './helpers.js';

async function simTokenizer(): Promise<Tokenizer> {
  const sim = await startSimServer(parseSimProfile({ startup_delay_ms: 0 }, 'test'), { port: 0 });
  await sim.ready;
  const { onTestFinished } = await import('vitest');
  onTestFinished(() => sim.close());
  return resolveTokenizer({ baseUrl: sim.url, model: 'sim-model' });
}

function datasetFiles(): { sharegpt: string; sonnet: string; custom: string } {
  const dir = tempDir();
  const words = (n: number, off: number) => Array.from({ length: n }, (_, i) => `w${((i + off) % 200).toString(36)}`).join(' ');
  const sharegpt = path.join(dir, 'sharegpt.json');
  writeFileSync(
    sharegpt,
    JSON.stringify([
      ...Array.from({ length: 12 }, (_, i) => ({ id: `c${i}`, conversations: [{ from: 'human', value: words(10 + i, i) }, { from: 'gpt', value: words(8 + i, i * 3) }] })),
      { id: 'short', conversations: [{ from: 'human', value: 'w1' }, { from: 'gpt', value: words(10, 0) }] },
      { id: 'one-turn', conversations: [{ from: 'human', value: words(10, 0) }] },
    ]),
  );
  const sonnet = path.join(dir, 'sonnet.txt');
  writeFileSync(sonnet, Array.from({ length: 40 }, (_, i) => words(6, i * 5)).join('\n') + '\n');
  const custom = path.join(dir, 'custom.jsonl');
  writeFileSync(custom, Array.from({ length: 7 }, (_, i) => JSON.stringify({ prompt: words(5 + i, i) })).join('\n') + '\n');
  return { sharegpt, sonnet, custom };
}

describe('buildWorkload with a local tokenizer.json', () => {
  const tok = loadTokenizerFile(writeTinyTokenizer());

  it('random: exact prompt lengths (minus the BOS the tokenizer adds), output lengths, same seed same prompts', async () => {
    const cfg = defaultWorkloadConfig({ numPrompts: 20, randomInputLen: 17, randomOutputLen: 9, randomPrefixLen: 4 });
    const a = await buildWorkload(cfg, tok);
    const b = await buildWorkload(cfg, tok);
    const c = await buildWorkload({ ...cfg, seed: 1 }, tok);
    expect(a.requests).toHaveLength(20);
    for (const r of a.requests) {
      expect(r.promptTokens).toBe(4 + 16);
      expect(r.maxTokens).toBe(9);
      expect((await tok.encode([r.prompt], { addSpecialTokens: false }))[0]).toHaveLength(20);
    }
    const prefixes = new Set(a.requests.map((r) => r.prompt.split(' ').slice(0, 4).join(' ')));
    expect(prefixes.size).toBe(1);
    expect(workloadHash(a)).toBe(workloadHash(b));
    expect(a.requests).toEqual(b.requests);
    expect(workloadHash(a)).not.toBe(workloadHash(c));
    expect(workloadHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('random: the range ratio spreads lengths within [len*(1-r), len*(1+r)]', async () => {
    const w = await buildWorkload(defaultWorkloadConfig({ numPrompts: 50, randomInputLen: 21, randomOutputLen: 10, randomRangeRatio: 0.5 }), tok);
    const ins = w.requests.map((r) => r.promptTokens);
    const outs = w.requests.map((r) => r.maxTokens);
    expect(Math.min(...ins)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...ins)).toBeLessThanOrEqual(30);
    expect(new Set(ins).size).toBeGreaterThan(5);
    expect(Math.min(...outs)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...outs)).toBeLessThanOrEqual(15);
  });

  it('sharegpt: first two turns, pruned, shuffled by seed, oversampled to --num-prompts', async () => {
    const { sharegpt } = datasetFiles();
    const cfg = defaultWorkloadConfig({ datasetName: 'sharegpt', datasetPath: sharegpt, numPrompts: 15 });
    const w = await buildWorkload(cfg, tok);
    expect(w.requests).toHaveLength(15);
    for (const r of w.requests) {
      expect(r.promptTokens).toBe(r.prompt.split(' ').length + 1);
      expect(r.maxTokens).toBeGreaterThanOrEqual(9); // the completion's own length (+ BOS)
      expect(r.prompt).not.toBe('w1');
    }
    const fixed = await buildWorkload({ ...cfg, sharegptOutputLen: 3 }, tok);
    expect(fixed.requests.every((r) => r.maxTokens === 3)).toBe(true);
    expect((await buildWorkload(cfg, tok)).requests).toEqual(w.requests);
  });

  it('sonnet: base prompt + shared prefix lines + random lines within --sonnet-input-len', async () => {
    const { sonnet } = datasetFiles();
    const w = await buildWorkload(defaultWorkloadConfig({ datasetName: 'sonnet', datasetPath: sonnet, numPrompts: 5, sonnetInputLen: 60, sonnetPrefixLen: 30, sonnetOutputLen: 7 }), tok);
    expect(w.requests).toHaveLength(5);
    const firstLine = 'Pick as many lines as you can from these poem lines:\n';
    for (const r of w.requests) {
      expect(r.prompt.startsWith(firstLine)).toBe(true);
      expect(r.promptTokens).toBeLessThanOrEqual(60);
      expect(r.maxTokens).toBe(7);
    }
  });

  it('prefix_repetition: num_prefixes shared prefixes, each prompt prefix + suffix tokens', async () => {
    const w = await buildWorkload(
      defaultWorkloadConfig({ datasetName: 'prefix_repetition', numPrompts: 12, prefixRepetitionPrefixLen: 8, prefixRepetitionSuffixLen: 4, prefixRepetitionNumPrefixes: 3, prefixRepetitionOutputLen: 5 }),
      tok,
    );
    expect(w.requests).toHaveLength(12);
    expect(w.requests.every((r) => r.promptTokens === 12 && r.maxTokens === 5)).toBe(true);
    const prefixes = new Set(w.requests.map((r) => r.prompt.split(' ').slice(0, 8).join(' ')));
    expect(prefixes.size).toBe(3);
  });

  it('custom: JSONL prompts with --custom-output-len, oversampled when the file is short', async () => {
    const { custom } = datasetFiles();
    const w = await buildWorkload(defaultWorkloadConfig({ datasetName: 'custom', datasetPath: custom, numPrompts: 10, customOutputLen: 11 }), tok);
    expect(w.requests).toHaveLength(10);
    expect(w.requests.every((r) => r.maxTokens === 11 && r.promptTokens === r.prompt.split(' ').length + 1)).toBe(true);
  });

  it('a missing or bad dataset file is a clear error', async () => {
    await expect(buildWorkload(defaultWorkloadConfig({ datasetName: 'custom', numPrompts: 2 }), tok)).rejects.toThrow(/--dataset-path: required/);
    const dir = tempDir();
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"prompt": "w1"}\nnot json\n');
    await expect(buildWorkload(defaultWorkloadConfig({ datasetName: 'custom', datasetPath: bad, numPrompts: 2 }), tok)).rejects.toThrow(/line 2: not JSON/);
  });
});

describe('tokenizer resolution', () => {
  it('uses the server /tokenize and /detokenize (the sim) and builds the same random prompts twice', async () => {
    const tok = await simTokenizer();
    expect(tok.source).toBe('server');
    const cfg = defaultWorkloadConfig({ numPrompts: 8, randomInputLen: 32, randomOutputLen: 4 });
    const a = await buildWorkload(cfg, tok);
    const b = await buildWorkload(cfg, tok);
    expect(a.requests).toEqual(b.requests);
    for (const r of a.requests) expect(r.promptTokens).toBe(32 - tok.numSpecialTokens);
  });

  it('finds tokenizer.json in the Hugging Face cache layout', async () => {
    const home = tempDir();
    const snap = path.join(home, 'hub', 'models--org--tiny', 'snapshots', 'abc123');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(snap, { recursive: true });
    copyFileSync(writeTinyTokenizer(), path.join(snap, 'tokenizer.json'));
    const old = process.env.HF_HOME;
    process.env.HF_HOME = home;
    try {
      const tok = await resolveTokenizer({ model: 'org/tiny', baseUrl: 'http://127.0.0.1:9' });
      expect(tok.id).toBe(`file:${path.join(snap, 'tokenizer.json')}`);
    } finally {
      if (old === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = old;
    }
  });

  it('fails with E_TOKENIZER_UNAVAILABLE saying what to pass', async () => {
    const old = process.env.HF_HOME;
    process.env.HF_HOME = tempDir();
    try {
      const err = await resolveTokenizer({ model: 'org/none', baseUrl: 'http://127.0.0.1:9' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IsobenchError);
      expect((err as IsobenchError).code).toBe('E_TOKENIZER_UNAVAILABLE');
      expect((err as IsobenchError).hint).toMatch(/--tokenizer/);
    } finally {
      if (old === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = old;
    }
  });
});
