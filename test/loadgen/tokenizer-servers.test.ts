import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { describeTokenizer, probeServerTokenizer, resolveTokenizer } from '../../src/loadgen/index.js';
import { startServer } from './helpers.js';

/**
 * Stand-ins for the servers' /tokenize and /detokenize, each in its own documented shape, over a toy vocabulary
 * (a character is its code point + 10; BOS is 1). SGLang: python/sglang/srt/entrypoints/openai/protocol.py
 * (TokenizeRequest / DetokenizeRequest); llama-server: examples/server (content/add_special → tokens; tokens → content),
 * which answers an empty token list to a body without `content`.
 */
const BOS = 1;
const encode = (text: string, bos: boolean) => [...(bos ? [BOS] : []), ...[...text].map((c) => (c.codePointAt(0) ?? 0) + 10)];
const decode = (ids: number[], skipSpecial: boolean) => ids.filter((i) => !(skipSpecial && i === BOS)).map((i) => (i === BOS ? '<s>' : String.fromCodePoint(i - 10))).join('');

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text) as Record<string, unknown>;
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** SGLang: /tokenize {model, prompt, add_special_tokens} → {tokens, count, max_model_len}; /detokenize → {text}. */
function sglang(seen: Record<string, unknown>[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void body(req).then((b) => {
      seen.push({ path: req.url, ...b });
      if (req.url === '/tokenize' && typeof b.prompt === 'string') {
        const tokens = encode(b.prompt, b.add_special_tokens !== false);
        return reply(res, 200, { tokens, count: tokens.length, max_model_len: 4096 });
      }
      if (req.url === '/detokenize' && Array.isArray(b.tokens)) return reply(res, 200, { text: decode(b.tokens as number[], b.skip_special_tokens !== false) });
      reply(res, 400, { object: 'error', message: 'bad request' });
    });
  };
}

/** llama-server: /tokenize {content, add_special} → {tokens} (no content: no tokens); /detokenize {tokens} → {content}. */
function llamaServer(req: IncomingMessage, res: ServerResponse): void {
  void body(req).then((b) => {
    if (req.url === '/tokenize') return reply(res, 200, { tokens: typeof b.content === 'string' ? encode(b.content, b.add_special === true) : [] });
    if (req.url === '/detokenize') return reply(res, 200, { content: Array.isArray(b.tokens) ? decode(b.tokens as number[], false) : '' });
    reply(res, 404, { error: 'not found' });
  });
}

describe('server tokenizers in SGLang\'s and llama.cpp\'s shapes', () => {
  it('speaks SGLang\'s /tokenize and /detokenize (special tokens kept on decode)', async () => {
    const seen: Record<string, unknown>[] = [];
    const { url } = await startServer(sglang(seen));
    const probe = await probeServerTokenizer(url, 'qwen/tiny', undefined, 'sglang');
    if (probe.status !== 'ok') throw new Error(probe.reason);
    const tok = probe.tokenizer;
    expect(tok).toMatchObject({ id: 'server-model:qwen/tiny', source: 'server', api: 'sglang', numSpecialTokens: 1 });
    expect(await tok.encode(['ab'], { addSpecialTokens: true })).toEqual([[BOS, 107, 108]]);
    expect(await tok.decode([[BOS, 107, 108]])).toEqual(['<s>ab']);
    expect(seen.find((s) => s.path === '/detokenize')).toMatchObject({ model: 'qwen/tiny', skip_special_tokens: false });
    expect(describeTokenizer(tok)).toBe("server-model:qwen/tiny (the server's /tokenize, sglang API)");
  });

  it('speaks llama-server\'s /tokenize and /detokenize', async () => {
    const { url } = await startServer(llamaServer);
    const probe = await probeServerTokenizer(url, '/models/tiny.gguf', undefined, 'llama.cpp');
    if (probe.status !== 'ok') throw new Error(probe.reason);
    expect(probe.tokenizer).toMatchObject({ api: 'llama.cpp', numSpecialTokens: 1 });
    expect(await probe.tokenizer.encode(['hi'], { addSpecialTokens: false })).toEqual([[114, 115]]);
    expect(await probe.tokenizer.decode([[114, 115]])).toEqual(['hi']);
  });

  it('finds the shape when no preset names it, and says why each shape failed when none fits', async () => {
    const sg = await startServer(sglang([]));
    expect((await resolveTokenizer({ baseUrl: sg.url, model: 'm' })).api).toBe('sglang');
    const llama = await startServer(llamaServer);
    expect((await resolveTokenizer({ baseUrl: llama.url, model: 'm' })).api).toBe('llama.cpp');
    // A preset that names the wrong shape does not fall back to another one.
    const wrong = await probeServerTokenizer(llama.url, 'm', undefined, 'vllm');
    expect(wrong).toEqual({ status: 'unavailable', reason: '/tokenize answered no tokens for "hello"' });
    const none = await startServer((_req, res) => reply(res, 404, {}));
    const all = await probeServerTokenizer(none.url, 'm');
    expect(all.status === 'unavailable' && all.reason).toMatch(/^vllm API: HTTP 404: \{\}; sglang API: HTTP 404: \{\}; llama\.cpp API: HTTP 404: \{\}$/);
  });
});
