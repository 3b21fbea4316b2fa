import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildResultJson, defaultServeBenchConfig, defaultWorkloadConfig, runServeBenchmark, type ServeBenchConfig, type Workload } from '../../src/loadgen/index.js';
import { errorsOf, readBody, sleep, startServer, textChunk, usageChunk } from './helpers.js';

function workload(n: number): Workload {
  return {
    config: defaultWorkloadConfig({ numPrompts: n }),
    tokenizerId: 'test',
    requests: Array.from({ length: n }, (_, index) => ({ index, prompt: `p${index}`, promptTokens: 5, maxTokens: 2, serverPromptTokens: 3 })),
  };
}

/**
 * A streaming server that counts the connections it accepted. With `closeIdleMs`, it closes a connection that has
 * carried no request that long after accepting it (an idle timeout), and answers only after `holdMs`, so that
 * overlapping requests each need a connection of their own.
 */
async function countingServer(opts: { closeIdleMs?: number; holdMs?: number } = {}) {
  const seen = { connections: 0 };
  const used = new WeakSet<object>();
  const { url, server } = await startServer((req, res) => {
    used.add(req.socket);
    void readBody(req).then(async () => {
      if (opts.holdMs) await sleep(opts.holdMs);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(textChunk(' a') + textChunk(' b') + usageChunk(2) + 'data: [DONE]\n\n');
    });
  });
  server.on('connection', (s: Socket) => {
    seen.connections++;
    const idle = opts.closeIdleMs;
    if (idle !== undefined) setTimeout(() => !used.has(s) && s.destroy(), idle);
  });
  return { url, seen };
}

const config = (url: string, extra: Partial<ServeBenchConfig>) => defaultServeBenchConfig({ baseUrl: url, model: 'm', requestTimeoutMs: 5000, ...extra });

describe('connections are opened before the clock starts', () => {
  it('opens --max-concurrency connections before the first request and no other; connect times are recorded apart', async () => {
    const { url, seen } = await countingServer();
    const r = await runServeBenchmark(config(url, { maxConcurrency: 8 }), workload(24));
    expect(r.measurement.totals.completed).toBe(24);
    expect(r.connectMs).toHaveLength(8);
    expect(seen.connections).toBe(8);
    const json = buildResultJson(r, { label: null, tokenizerId: 'test', metadata: {}, detailed: false, date: '20260101-000000' });
    expect(json).toMatchObject({ preconnected: 8 });
    expect(typeof json.mean_connect_ms).toBe('number');
  });

  it('opens one per request when all are sent at once (--request-rate inf, no cap); none for a paced run without a cap', async () => {
    const a = await countingServer();
    const burst = await runServeBenchmark(config(a.url, {}), workload(12));
    expect(burst.connectMs).toHaveLength(12);
    const b = await countingServer();
    const paced = await runServeBenchmark(config(b.url, { requestRate: 200 }), workload(3));
    expect(paced.measurement.totals.completed).toBe(3);
    expect(paced.connectMs).toHaveLength(0);
    const c = await countingServer();
    const off = await runServeBenchmark(config(c.url, { maxConcurrency: 4, preconnect: false }), workload(4));
    expect(off.connectMs).toHaveLength(0);
  });

  it('a pre-opened connection the server closed while idle is replaced, and its request succeeds', async () => {
    const { url, seen } = await countingServer({ closeIdleMs: 100, holdMs: 1000 });
    // Paced at 5 req/s (the last at 0.8 s), each answered after 1 s: the requests overlap, and those sent after
    // 100 ms find their pre-opened connection closed.
    const r = await runServeBenchmark(config(url, { maxConcurrency: 4, requestRate: 5 }), workload(4));
    expect(errorsOf(r)).toEqual(['', '', '', '']);
    expect(r.measurement.totals.completed).toBe(4);
    expect(seen.connections).toBeGreaterThan(4);
  });
});
