import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../src/engine/index.js';
import { agreement, probeSimilarity, waitReady } from '../../src/run/index.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback server whose /health turns 200 after `healthyAfter` requests; /v1/models answers `modelsStatus`. */
async function loopback(healthyAfter: number, modelsStatus = 200): Promise<{ handle: ServerHandle; exit: (code: number) => void }> {
  let seen = 0;
  const server = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(seen++ >= healthyAfter ? 200 : 503).end();
    else if (req.url === '/v1/models') res.writeHead(modelsStatus).end('{"data":[]}');
    else res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => (exit = (code) => r({ code, signal: null })));
  const { port } = server.address() as AddressInfo;
  return { handle: { baseUrl: `http://127.0.0.1:${port}`, log: () => '', exited, stop: () => Promise.resolve() }, exit };
}

describe('waitReady', () => {
  it('waits for /health and then /v1/models', async () => {
    const { handle } = await loopback(3);
    const r = await waitReady(handle, 10, new AbortController().signal);
    expect(r.status).toBe('ready');
  });

  it('reports a server that exits during start-up', async () => {
    const { handle, exit } = await loopback(1_000_000);
    setTimeout(() => exit(3), 150);
    const r = await waitReady(handle, 10, new AbortController().signal);
    expect(r).toMatchObject({ status: 'exited', code: 3 });
  });

  it('times out when /v1/models never answers 200', async () => {
    const { handle } = await loopback(0, 500);
    const r = await waitReady(handle, 0.3, new AbortController().signal);
    expect(r.status).toBe('timeout');
    if (r.status === 'timeout') expect(r.lastError).toMatch(/v1\/models answered 500/);
  });

  it('stops when aborted', async () => {
    const { handle } = await loopback(1_000_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect((await waitReady(handle, 10, ac.signal)).status).toBe('aborted');
  });
});

describe('probe agreement', () => {
  it('scores equal outputs 1, a shared prefix partially and a failed probe 0', () => {
    expect(probeSimilarity('abcd', 'abcd')).toBe(1);
    expect(probeSimilarity('abcd', 'abXY')).toBe(0.5);
    expect(agreement(['a', 'b'], ['a', null])).toEqual({ agreement: 0.5, probes: 2 });
    expect(agreement(['hello world', 'x'], ['hello world', 'x']).agreement).toBe(1);
  });
});
