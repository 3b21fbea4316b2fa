import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished, vi } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { ServeBenchResult } from '../../src/loadgen/index.js';

/** A tiny WordLevel tokenizer.json (BOS added, 200 words `w0`..`w5k`) in a fresh temp dir; returns its path. */
export function writeTinyTokenizer(): string {
  const words = ['<s>', '<unk>', ...Array.from({ length: 200 }, (_, i) => `w${i.toString(36)}`)];
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<s>'), special(1, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: { type: 'WordLevel', vocab: Object.fromEntries(words.map((w, i) => [w, i])), unk_token: '<unk>' },
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'isobench-tok-'));
  const file = path.join(dir, 'tokenizer.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'isobench-loadgen-'));
}

/** Starts an http server on port 0, closed when the test finishes; returns its base URL. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString()));
    req.on('end', () => resolve(s));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An SSE completion chunk with `text`. */
export function textChunk(text: string): string {
  return `data: ${JSON.stringify({ id: 'cmpl-1', object: 'text_completion', choices: [{ index: 0, text, finish_reason: null }] })}\n\n`;
}

export function usageChunk(completionTokens: number, promptTokens = 3): string {
  return `data: ${JSON.stringify({ id: 'cmpl-1', choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } })}\n\n`;
}

/** A well-behaved streaming server: `tokens` content chunks per request (max_tokens when 0), usage, [DONE]. */
export async function startFastServer(opts: { tokens?: number; delayMs?: number } = {}): Promise<{ url: string; stats: { inflight: number; maxInflight: number; bodies: Record<string, unknown>[]; arrivals: number[] } }> {
  const stats = { inflight: 0, maxInflight: 0, bodies: [] as Record<string, unknown>[], arrivals: [] as number[] };
  const { url } = await startServer((req, res) => {
    void (async () => {
      stats.arrivals.push(performance.now());
      stats.inflight++;
      stats.maxInflight = Math.max(stats.maxInflight, stats.inflight);
      const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      stats.bodies.push(body);
      const n = opts.tokens ?? Number(body.max_tokens ?? body.max_completion_tokens ?? 4);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < n; i++) {
        if (opts.delayMs) await sleep(opts.delayMs);
        res.write(textChunk(` t${i}`));
      }
      res.write(usageChunk(n));
      res.end('data: [DONE]\n\n');
      stats.inflight--;
    })();
  });
  return { url, stats };
}

/** Runs the real CLI program in this process, capturing what it prints. */
export async function runInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const before = process.exitCode;
  try {
    const code = await runCli(['node', 'isobench', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
}

/** Each request's error, '' for one that succeeded (the order of vLLM's `errors`). */
export function errorsOf(r: ServeBenchResult): string[] {
  return r.samples.map((s) => s.error ?? '');
}

/** Each request's generated text. */
export function textsOf(r: ServeBenchResult): string[] {
  return r.samples.map((s) => s.text);
}
