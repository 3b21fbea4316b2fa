import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REFUSED } from '../../src/cli/bench-serve.js';
import { readBody, runInProcess, sleep, startServer, tempDir, textChunk, writeTinyTokenizer } from './helpers.js';

const tokenizer = writeTinyTokenizer();

/** Streams `max_tokens` chunks of one word each and a usage chunk without prompt_tokens; records every body. */
function serveWords(bodies: Record<string, unknown>[], arrivals: number[] = []) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ id: 'm' }] }));
      return;
    }
    void readBody(req).then((text) => {
      arrivals.push(performance.now());
      const body = JSON.parse(text) as Record<string, unknown>;
      bodies.push(body);
      const n = Number(body.max_tokens);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < n; i++) res.write(textChunk(i === 0 ? 'w1' : ' w2'));
      res.write(`data: ${JSON.stringify({ choices: [], usage: { completion_tokens: n } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  };
}

const serve = (url: string, ...rest: string[]) => ['bench', 'serve', '--base-url', url, '--model', 'm', '--tokenizer', tokenizer, '--disable-tqdm', ...rest];

function jsonl(name: string, rows: unknown[]): string {
  const p = path.join(tempDir(), name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n'));
  return p;
}

describe('bench serve: vLLM flags', () => {
  it('refuses each flag it cannot honour with the reason, not "unknown option"', async () => {
    for (const [flags] of REFUSED) {
      const [flag, value] = flags.split(' ');
      const r = await runInProcess(['bench', 'serve', '--base-url', 'http://127.0.0.1:9', flag!, ...(value ? ['1'] : [])]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr, flag).toContain(`${flag}: not supported: `);
    }
    for (const name of ['hf']) {
      const r = await runInProcess(['bench', 'serve', '--base-url', 'http://127.0.0.1:9', '--dataset-name', name]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--dataset-name: ${name} is not supported: `);
    }
  });

  it('--append-result appends one JSON object per line; --save-result overwrites', async () => {
    const { url } = await startServer(serveWords([]));
    const dir = tempDir();
    const args = serve(url, '--random-input-len', '8', '--random-output-len', '2', '--num-prompts', '3', '--result-dir', dir, '--result-filename', 'r.json');
    for (let i = 0; i < 2; i++) expect((await runInProcess([...args, '--append-result'])).code).toBe(0);
    const lines = readFileSync(path.join(dir, 'r.json'), 'utf8').split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => (JSON.parse(l) as { completed: number }).completed)).toEqual([3, 3]);
    expect((await runInProcess([...args, '--save-result'])).code).toBe(0);
    expect(readFileSync(path.join(dir, 'r.json'), 'utf8').split('\n')).toHaveLength(1);
  });

  it('--disable-shuffle sends a custom file in its order; --no-oversample sends fewer than --num-prompts', async () => {
    const bodies: Record<string, unknown>[] = [];
    const { url } = await startServer(serveWords(bodies));
    const file = jsonl('c.jsonl', ['w1', 'w2', 'w3', 'w4'].map((prompt) => ({ prompt })));
    const r = await runInProcess(serve(url, '--dataset-name', 'custom', '--dataset-path', file, '--custom-output-len', '2', '--num-prompts', '6', '--disable-shuffle', '--no-oversample', '--max-concurrency', '1'));
    expect(r.code, r.stderr).toBe(0);
    expect(bodies.map((b) => b.prompt)).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(r.stdout).toContain('note: 4 requests, fewer than --num-prompts 6 (--no-oversample)');
  });

  it('--lora-modules: each request asks for one adapter, drawn with the seed; --chat-template-kwargs is sent', async () => {
    const bodies: Record<string, unknown>[] = [];
    const { url } = await startServer(serveWords(bodies));
    const r = await runInProcess(serve(url, '--random-input-len', '8', '--random-output-len', '1', '--num-prompts', '20', '--lora-modules', 'a', 'b', 'c', '--chat-template-kwargs', '{"enable_thinking":false}'));
    expect(r.code, r.stderr).toBe(0);
    const models = new Set(bodies.map((b) => b.model));
    expect([...models].every((m) => ['a', 'b', 'c'].includes(m as string))).toBe(true);
    expect(models.size).toBeGreaterThan(1);
    expect(bodies.every((b) => JSON.stringify(b.chat_template_kwargs) === '{"enable_thinking":false}')).toBe(true);
  });

  it('--self-timed sends each timed_trace request no earlier than its timestamp, in trace order', async () => {
    const bodies: Record<string, unknown>[] = [];
    const { url } = await startServer(serveWords(bodies));
    const trace = jsonl('t.jsonl', [
      { timestamp: 0, input_length: 4, output_length: 2, hash_ids: [1] },
      { timestamp: 300, input_length: 5, output_length: 1, hash_ids: [1, 2] },
      { timestamp: 600, input_length: 6, output_length: 3, hash_ids: [3] },
    ]);
    const dir = tempDir();
    const r = await runInProcess(serve(url, '--dataset-name', 'timed_trace', '--dataset-path', trace, '--timed-trace-chunk-hash-size', '4', '--timed-trace-sec-multiplier', '0.001', '--self-timed', '--save-result', '--save-detailed', '--result-dir', dir, '--result-filename', 'r.json'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('each request at its trace timestamp');
    expect(bodies.map((b) => b.max_tokens)).toEqual([2, 1, 3]);
    const json = JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8')) as { start_times: number[] };
    json.start_times.forEach((t, i) => expect(t).toBeGreaterThanOrEqual([0, 0.3, 0.6][i]! - 0.002));
    const bad = await runInProcess(serve(url, '--self-timed'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--self-timed: needs --dataset-name timed_trace');
  });

  it('--ready-check-timeout-sec waits for a server that starts late; without it the run fails at once', async () => {
    const holder = createNetServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as AddressInfo).port;
    await new Promise<void>((r) => holder.close(() => r()));
    const url = `http://127.0.0.1:${port}`;
    const without = await runInProcess(serve(url, '--random-input-len', '8', '--random-output-len', '1', '--num-prompts', '2'));
    expect(without.code).not.toBe(0);
    const late = sleep(1500).then(() => startServerOn(port));
    const r = await runInProcess(serve(url, '--random-input-len', '8', '--random-output-len', '1', '--num-prompts', '2', '--ready-check-timeout-sec', '30'));
    await late;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Waiting for endpoint to become up in 30 seconds');
    expect(r.stdout).toMatch(/^Successful requests: +2 +$/m);
    const timeout = await runInProcess(serve('http://127.0.0.1:9', '--num-prompts', '1', '--ready-check-timeout-sec', '1'));
    expect(timeout.code).not.toBe(0);
    expect(timeout.stderr).toContain('not ready within --ready-check-timeout-sec 1');
  });

  it('--insecure accepts a self-signed https server; without it the requests fail on the certificate', async () => {
    const dir = tempDir();
    const key = path.join(dir, 'k.pem');
    const cert = path.join(dir, 'c.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, serveWords([]));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const args = serve(url, '--random-input-len', '8', '--random-output-len', '1', '--num-prompts', '2');
    const strict = await runInProcess(args);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/self[- ]signed certificate/);
    const r = await runInProcess([...args, '--insecure']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^Successful requests: +2 +$/m);
  });
});

describe('bench serve --vllm-compat', () => {
  /** A chat server that sends a role-only chunk, two content chunks, usage with prompt_tokens 7, and no [DONE]. */
  async function roleFirstServer(): Promise<string> {
    const { url } = await startServer((req, res) => {
      void readBody(req).then(async () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (delta: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}\n\n`;
        res.write(chunk({ role: 'assistant', content: '' }));
        await sleep(5);
        res.write(chunk({ content: 'w1' }));
        res.write(chunk({ content: ' w2' }));
        res.end(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 0 } })}\n\n`);
      });
    });
    return url;
  }

  it("isobench's definitions fail a stream without [DONE]; vLLM's time the role chunk, take usage.prompt_tokens and recount a usage of 0", async () => {
    const url = await roleFirstServer();
    const base = serve(url, '--backend', 'openai-chat', '--random-input-len', '8', '--random-output-len', '2', '--num-prompts', '2', '--save-result', '--save-detailed');
    const ours = await runInProcess([...base, '--result-dir', tempDir()]);
    expect(ours.code).toBe(1);
    expect(ours.stdout).toContain('stream ended before data: [DONE] after 2 content chunks');
    const dir = tempDir();
    const r = await runInProcess([...base, '--result-dir', dir, '--result-filename', 'r.json', '--vllm-compat', 'all']);
    expect(r.code, r.stdout).toBe(0);
    const json = JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8')) as { itls: number[][]; total_input_tokens: number; output_lens: number[] };
    // Three timed chunks (role, w1, w2): two gaps; 7 input tokens each; "w1 w2" counted by the tokenizer: 2 tokens.
    expect(json.itls.map((x) => x.length)).toEqual([2, 2]);
    expect(json.total_input_tokens).toBe(14);
    expect(json.output_lens).toEqual([2, 2]);
    const bad = await runInProcess([...base, '--vllm-compat', 'ttft,nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--vllm-compat: "nope" is not allowed');
  });
});

function startServerOn(port: number): Promise<void> {
  return new Promise((resolve) => {
    const server = createHttpServer(serveWords([]));
    server.keepAliveTimeout = 1000;
    server.listen(port, '127.0.0.1', () => resolve());
    onTestFinished(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
  });
}
