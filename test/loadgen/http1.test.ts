import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:https';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { defaultServeBenchConfig, defaultWorkloadConfig, runServeBenchmark, type ServeBenchConfig, type Workload } from '../../src/loadgen/index.js';
import { streamCompletion } from '../../src/loadgen/client.js';
import { Http1Pool } from '../../src/loadgen/http1.js';
import { errorsOf, readBody, textChunk, textsOf, usageChunk } from './helpers.js';

// The load generator's own HTTP/1.1 client (src/loadgen/http1.ts) against raw TCP servers that write exactly the
// bytes a test wants: framing split anywhere, chunk extensions and trailers, every body framing, connection reuse,
// and broken responses. Each case runs through runServeBenchmark, as `bench serve` does.

const here = path.dirname(fileURLToPath(import.meta.url));

interface RawRequest {
  head: string;
  body: string;
  /** Index of the connection it came on, in accept order. */
  conn: number;
}

/** A TCP server that parses keep-alive HTTP requests and hands each to `reply` with its socket. */
async function startRaw(reply: (sock: Socket, req: RawRequest) => void): Promise<{ url: string; requests: RawRequest[]; connections: () => number }> {
  const requests: RawRequest[] = [];
  let conns = 0;
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    const conn = conns++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const req = { head, body: buf.slice(end + 4, end + 4 + length), conn };
        buf = buf.slice(end + 4 + length);
        requests.push(req);
        reply(sock, req);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, connections: () => conns };
}

function workload(n: number): Workload {
  return {
    config: defaultWorkloadConfig({ numPrompts: n }),
    tokenizerId: 'test',
    requests: Array.from({ length: n }, (_, index) => ({ index, prompt: `p${index}`, promptTokens: 5, maxTokens: 4, serverPromptTokens: 3 })),
  };
}

function run(url: string, n = 1, extra: Partial<ServeBenchConfig> = {}) {
  return runServeBenchmark(defaultServeBenchConfig({ baseUrl: url, model: 'm', requestTimeoutMs: 2000, maxConcurrency: 1, ...extra }), workload(n));
}

const SSE = textChunk(' a') + textChunk(' b') + textChunk(' c') + usageChunk(3) + 'data: [DONE]\n\n';

/** `body` in HTTP chunked encoding, one chunk per piece, with an optional extension on each size line. */
function chunked(pieces: string[], ext = '', trailer = ''): string {
  return pieces.map((p) => `${Buffer.byteLength(p).toString(16)}${ext}\r\n${p}\r\n`).join('') + `0\r\n${trailer}\r\n`;
}

const OK_CHUNKED = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n';

/** Writes `bytes` in pieces cut at the given offsets, one write per tick, so each piece is its own read. */
function writeCut(sock: Socket, bytes: string, cuts: number[]): void {
  const edges = [0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  let k = 0;
  const next = (): void => {
    if (k + 1 >= edges.length || sock.destroyed) return;
    sock.write(bytes.slice(edges[k], edges[k + 1]));
    k++;
    setTimeout(next, 1);
  };
  next();
}

describe('the HTTP/1.1 client', () => {
  it('reads a chunked SSE response the same however the bytes are cut into reads', async () => {
    const response = OK_CHUNKED + chunked([textChunk(' a'), textChunk(' b') + textChunk(' c'), usageChunk(3), 'data: [DONE]\n\n']);
    // Every cut point inside the status line, headers, a size line, a CRLF and an SSE line, in groups of three.
    const points = Array.from({ length: response.length - 1 }, (_, i) => i + 1);
    const groups: number[][] = [];
    for (let i = 0; i < points.length; i += 7) groups.push([points[i]!, points[i + 3] ?? 0, points[i + 5] ?? 0]);
    let g = 0;
    const { url } = await startRaw((sock) => writeCut(sock, response, groups[g++ % groups.length]!));
    const r = await run(url, groups.length);
    expect(errorsOf(r).filter((e) => e !== '')).toEqual([]);
    expect(r.measurement.totals.completed).toBe(groups.length);
    expect(new Set(textsOf(r))).toEqual(new Set([' a b c']));
    expect(r.samples.every((s) => s.outputTokens === 3)).toBe(true);
  });

  it('keeps 64 concurrent streams apart although every socket reads into one shared buffer', async () => {
    // Each answer spells its own prompt back. One read ends a few bytes into an SSE line (the parser must keep those
    // bytes while other sockets' long reads reuse the buffer), and the padding differs per request, so a kept view
    // of the buffer instead of a copy would read another stream's bytes.
    const { url } = await startRaw((sock, req) => {
      const prompt = (JSON.parse(req.body) as { prompt: string }).prompt;
      const pad = `: ${'.'.repeat((Number(prompt.slice(1)) % 13) * 20)}\n`;
      const sse = pad + [...prompt].map((ch, k) => textChunk(`${k === 0 ? '' : '-'}${ch}`)).join('') + usageChunk(prompt.length) + 'data: [DONE]\n\n';
      const response = OK_CHUNKED + chunked([sse]);
      const second = response.indexOf('\n\ndata:', response.indexOf('\n\ndata:') + 1);
      writeCut(sock, response, [second - 3, second + 10]);
    });
    const r = await run(url, 200, { maxConcurrency: 64 });
    expect(r.measurement.totals.completed).toBe(200);
    expect(textsOf(r)).toEqual(Array.from({ length: 200 }, (_, i) => [...`p${i}`].join('-')));
  });

  it('accepts chunk extensions, uppercase hex, trailers, Content-Length and close-delimited bodies', async () => {
    const bodies = [
      OK_CHUNKED + chunked([SSE], ';name=value', 'x-trailer: 1\r\n'),
      OK_CHUNKED + `${Buffer.byteLength(SSE).toString(16).toUpperCase()}\r\n${SSE}\r\n0\r\n\r\n`,
      `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(SSE)}\r\n\r\n${SSE}`,
    ];
    let k = 0;
    const keepAlive = await startRaw((sock) => sock.write(bodies[k++]!));
    const r = await run(keepAlive.url, 3);
    expect(errorsOf(r)).toEqual(['', '', '']);
    expect(textsOf(r)).toEqual([' a b c', ' a b c', ' a b c']);
    // All three on one connection: keep-alive works for each framing.
    expect(keepAlive.connections()).toBe(1);

    const closing = await startRaw((sock) => sock.end(`HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\n${SSE}`));
    const c = await run(closing.url, 2);
    expect(errorsOf(c)).toEqual(['', '']);
    // A close-delimited body cannot share its connection.
    expect(closing.connections()).toBe(2);
  });

  it('skips a 100 Continue before the answer and opens a new connection after `connection: close`', async () => {
    const { url, connections } = await startRaw((sock) =>
      sock.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n${chunked([SSE])}`),
    );
    const r = await run(url, 2);
    expect(errorsOf(r)).toEqual(['', '']);
    expect(connections()).toBe(2);
  });

  it('sends one well-formed request per exchange: host, content-length, the body, the headers given', async () => {
    const { url, requests } = await startRaw((sock) => sock.write(OK_CHUNKED + chunked([SSE])));
    await run(`${url}/prefix`, 1, { headers: { 'x-extra': 'yes' } });
    const req = requests[0]!;
    expect(req.head.split('\r\n')[0]).toBe('POST /prefix/v1/completions HTTP/1.1');
    expect(req.head).toMatch(new RegExp(`\r\nhost: ${new URL(url).host}\r\n`));
    expect(req.head).toContain('\r\nx-extra: yes\r\n');
    expect(req.head).toMatch(/\r\nx-request-id: \S*-0\r\n/);
    expect(JSON.parse(req.body)).toMatchObject({ prompt: 'p0', max_tokens: 4, stream: true });
  });

  it('retries once on a fresh connection when a reused one dies before any answer, and never on a fresh one', async () => {
    // The race of a server closing an idle keep-alive connection just as the next request goes out: the second
    // request on every connection is met by a close, as if the server had timed the connection out.
    const racy = await startRaw((sock, req) => {
      if (racy.requests.filter((r) => r.conn === req.conn).length > 1) sock.destroy();
      else sock.write(OK_CHUNKED + chunked([SSE]));
    });
    const r = await run(racy.url, 3);
    expect(errorsOf(r)).toEqual(['', '', '']);
    expect(racy.connections()).toBe(3);
    expect(racy.requests.length).toBe(5);

    // Connections opened for their request (a pre-opened one counts as reused: the server may time it out idle).
    const dead = await startRaw((sock) => sock.destroy());
    const d = await run(dead.url, 2, { preconnect: false });
    expect(errorsOf(d)).toEqual(['connection closed by the server before any response', 'connection closed by the server before any response']);
    expect(dead.requests.length).toBe(2);
  });

  it('fails broken responses with the reason: status line, chunk size, oversized headers, cut-off body', async () => {
    const cases: [string, RegExp][] = [
      ['HTTP/2 200\r\n\r\n', /^invalid HTTP response: malformed status line: "HTTP\/2 200"/],
      [`${OK_CHUNKED}zz\r\n`, /^invalid HTTP response: malformed chunk size line: "zz"/],
      [`${OK_CHUNKED}5\r\nabcdeXY`, /^invalid HTTP response: chunk data not followed by CRLF/],
      [`HTTP/1.1 200 OK\r\nx-big: ${'b'.repeat(70_000)}\r\n\r\n`, /^invalid HTTP response: response headers larger than 65536 bytes/],
      [`HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n`, /^invalid HTTP response: invalid Content-Length: x/],
    ];
    for (const [bytes, reason] of cases) {
      const { url } = await startRaw((sock) => sock.write(bytes));
      const r = await run(url);
      expect(errorsOf(r)[0], bytes.slice(0, 40)).toMatch(reason);
    }
    const cut = await startRaw((sock) => sock.end(OK_CHUNKED + `${Buffer.byteLength(SSE).toString(16)}\r\n${SSE.slice(0, 40)}`));
    expect(errorsOf(await run(cut.url))[0]).toBe('connection closed by the server before the response ended');
  });

  it('times out a server that accepts and never answers, and refuses header injection', async () => {
    const { url } = await startRaw(() => undefined);
    const r = await run(url, 1, { requestTimeoutMs: 200 });
    expect(errorsOf(r)[0]).toBe('no response headers within 0.2 s (--request-timeout)');
    const inj = await run(url, 1, { headers: { 'x-a': 'v\r\nx-injected: 1' } });
    expect(errorsOf(inj)[0]).toBe('request failed: invalid value for header x-a: it contains a line break or NUL');
  });

  it('fails a slow-loris server: one header byte at a time, or a body that trickles forever (total deadline)', async () => {
    const trickle = (sock: Socket, bytes: string, everyMs: number): void => {
      let i = 0;
      const t = setInterval(() => {
        if (sock.destroyed) clearInterval(t);
        else sock.write(bytes[i++ % bytes.length] ?? '');
      }, everyMs);
      sock.on('close', () => clearInterval(t));
    };
    // Every byte comes well inside the stall timeout, so only a deadline that is not reset by bytes ends these.
    const head = await startRaw((sock) => trickle(sock, 'HTTP/1.1 200 OK\r\nx-slow: ' + 'a'.repeat(100_000), 20));
    const a = await run(head.url, 1, { requestTimeoutMs: 300 });
    expect(errorsOf(a)[0]).toBe('no complete response headers within 0.3 s (--request-timeout)');
    const body = await startRaw((sock) => {
      sock.write(OK_CHUNKED + chunked([textChunk(' a')]).slice(0, -5));
      // SSE comment lines, one byte per write: data, but never an event.
      trickle(sock, '3\r\n: \n\r\n', 20);
    });
    const b = await run(body.url, 1, { requestTimeoutMs: 300, requestDeadlineMs: 600 });
    expect(errorsOf(b)[0]).toBe('no complete response within 0.6 s (--request-deadline)');
    expect(b.measurement.totals.completed).toBe(0);
  });

  it('speaks HTTPS, and a certificate it cannot verify is a failed request with the reason', async () => {
    const key = readFileSync(path.join(here, 'fixtures/localhost-key.pem'));
    const cert = readFileSync(path.join(here, 'fixtures/localhost-cert.pem'));
    const server = createTlsServer({ key, cert }, (req, res) => {
      void readBody(req).then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(SSE);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const untrusted = await run(url);
    expect(errorsOf(untrusted)[0]).toMatch(/^request failed: .*self[- ]signed certificate/);
    // With the certificate trusted, the pool itself streams over TLS (runServeBenchmark would need NODE_EXTRA_CA_CERTS).
    const pool = new Http1Pool(new URL(url), 2000, { ca: cert });
    onTestFinished(() => pool.close());
    const outcome = await streamCompletion({ pool, path: '/v1/completions', headers: {}, body: '{}', chat: false, maxEventBytes: 1 << 20 });
    expect(outcome.error).toBeNull();
    expect(outcome.text).toBe(' a b c');
    expect(outcome.chunkTimes).toHaveLength(3);
  });
});
