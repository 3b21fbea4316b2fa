import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  defaultServeBenchConfig,
  formatServeSummary,
  runServeBenchmark,
  toMetricSet,
  buildResultJson,
  completeGreedy,
  type LoadgenEvent,
  type ServeBenchConfig,
  type Workload,
} from '../../src/loadgen/index.js';
import { defaultWorkloadConfig } from '../../src/loadgen/index.js';
import { errorsOf, readBody, sleep, startFastServer, startServer, textChunk, textsOf, usageChunk } from './helpers.js';

function workload(n: number, maxTokens = 3): Workload {
  return {
    config: defaultWorkloadConfig({ numPrompts: n }),
    tokenizerId: 'test',
    requests: Array.from({ length: n }, (_, index) => ({ index, prompt: `p${index}`, promptTokens: 5, maxTokens, serverPromptTokens: 3 })),
  };
}

function config(url: string, extra: Partial<ServeBenchConfig> = {}): ServeBenchConfig {
  return defaultServeBenchConfig({ baseUrl: url, model: 'm', requestTimeoutMs: 2000, ...extra });
}

describe('runServeBenchmark against a scripted server', () => {
  it('times chunks by the definitions: role-only chunk is not a token, ITL between content chunks, usage counts tokens', async () => {
    // Chat stream: role chunk at once, content at +60 ms, +80 ms (two tokens in one chunk), +110 ms, then usage.
    const { url } = await startServer((req, res) => {
      void (async () => {
        await readBody(req);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const delta = (d: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: d }] })}\n\n`;
        res.write(delta({ role: 'assistant', content: '' }));
        await sleep(60);
        res.write(delta({ content: 'a' }));
        await sleep(20);
        res.write(delta({ content: 'bc' }));
        await sleep(30);
        res.write(delta({ content: 'd' }) + usageChunk(4));
        res.end('data: [DONE]\n\n');
      })();
    });
    const r = await runServeBenchmark(config(url, { backend: 'openai-chat', endpoint: '/v1/chat/completions', percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el'] }), workload(1, 4));
    expect(r.measurement.totals.completed).toBe(1);
    const s = r.samples[0]!;
    expect(s.itlMs).toHaveLength(2);
    // Causality only (no timing assertions): the server cannot send the first content before 60 ms, the last before 110 ms.
    expect(s.ttftMs!).toBeGreaterThanOrEqual(59);
    expect(s.e2elMs!).toBeGreaterThanOrEqual(109);
    expect(s.itlMs.every((x) => x >= 0)).toBe(true);
    expect(s.e2elMs!).toBeCloseTo(s.ttftMs! + s.itlMs[0]! + s.itlMs[1]!, 6);
    expect(s.outputTokens).toBe(4);
    expect(r.measurement.metrics.tpot.mean).toBeCloseTo((s.e2elMs! - s.ttftMs!) / 3, 6);
    expect(textsOf(r)[0]).toBe('abcd');
    const m = toMetricSet(r.measurement);
    expect(m.ttft_mean).toBe(r.measurement.metrics.ttft.mean);
    expect(m.itl_p99).toBe(r.measurement.metrics.itl.percentiles.get(99));
    expect(m.completed).toBe(1);
    expect(m.throughput).toBeUndefined();
  });

  it('sends vLLM request bodies: stream, include_usage, ignore_eos, sampling, x-request-id, bearer key', async () => {
    const seen: { body: Record<string, unknown>; headers: Record<string, unknown> }[] = [];
    const { url } = await startServer((req, res) => {
      void readBody(req).then((b) => {
        seen.push({ body: JSON.parse(b) as Record<string, unknown>, headers: req.headers });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(textChunk('x') + usageChunk(1) + 'data: [DONE]\n\n');
      });
    });
    const cfg = config(url, {
      ignoreEos: true,
      apiKey: 'sk-test-000000000000000000',
      headers: { 'x-extra': '1' },
      requestIdPrefix: 'bench-t-',
      sampling: { temperature: 0, topP: 0.9, topK: null, minP: null, frequencyPenalty: null, presencePenalty: null, repetitionPenalty: null },
    });
    await runServeBenchmark(cfg, workload(2, 7));
    expect(seen).toHaveLength(2);
    const first = seen.find((s) => s.body.prompt === 'p0')!;
    expect(first.body).toEqual({ model: 'm', prompt: 'p0', max_tokens: 7, stream: true, stream_options: { include_usage: true }, ignore_eos: true, temperature: 0, top_p: 0.9 });
    expect(first.headers['x-request-id']).toBe('bench-t-0');
    expect(first.headers.authorization).toBe('Bearer sk-test-000000000000000000');
    expect(first.headers['x-extra']).toBe('1');
  });

  it('joins --base-url and --endpoint as text, keeping a path prefix', async () => {
    const paths: string[] = [];
    const { url } = await startServer((req, res) => {
      paths.push(req.url ?? '');
      void readBody(req).then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(textChunk('x') + 'data: [DONE]\n\n');
      });
    });
    const r = await runServeBenchmark(config(`${url}/proxy/`), workload(1));
    expect(paths).toEqual(['/proxy/v1/completions']);
    expect(r.samples[0]!.outputTokens).toBe(1); // no usage chunk: the content chunk count
  });

  it('never has more than --max-concurrency requests in flight and reports the client queue time', async () => {
    const { url, stats } = await startFastServer({ tokens: 3, delayMs: 15 });
    const events: LoadgenEvent[] = [];
    const r = await runServeBenchmark(config(url, { maxConcurrency: 3, numWarmups: 2, percentileMetrics: ['ttft', 'client_queue_time'] }), workload(12), { onEvent: (e) => events.push(e) });
    expect(r.measurement.totals.completed).toBe(12);
    expect(stats.maxInflight).toBe(3);
    expect(stats.bodies).toHaveLength(14); // 2 warm-ups + 12
    expect(Math.max(...r.samples.map((s) => s.queueMs / 1000))).toBeGreaterThan(0.02);
    expect(r.measurement.metrics.client_queue_time.mean).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase)).toEqual(['warmup', 'measure', 'done']);
    const last = events.filter((e) => e.type === 'progress').at(-1);
    expect(last).toEqual({ type: 'progress', completed: 12, failed: 0, total: 12 });
    const summary = formatServeSummary(r);
    expect(summary).toContain('============ Serving Benchmark Result ============');
    expect(summary).toContain('Maximum request concurrency:             3         ');
    expect(summary).toContain('---------------Client-side Queueing---------------');
    expect(summary).toMatch(/^Mean Client Queue Time \(ms\): +\d+\.\d\d/m);
    expect(summary.trimEnd().endsWith('='.repeat(50))).toBe(true);
  });

  it('sends on the planned arrival times: a fixed rate spreads requests, inf sends them together', async () => {
    const { url } = await startFastServer({ tokens: 1 });
    const rated = await runServeBenchmark(config(url, { requestRate: 40, seed: 3 }), workload(20));
    expect(rated.measurement.totals.completed).toBe(20);
    // The last planned arrival is n / rate = 0.5 s; arrivals never go before their deadline.
    expect(Math.max(...rated.samples.map((s) => s.startMs / 1000))).toBeGreaterThanOrEqual(0.49);
    expect(rated.scheduleLagMs.every((x) => x >= 0)).toBe(true);
    const burst = await runServeBenchmark(config(url, { requestRate: 40, burstiness: 0.3, seed: 3 }), workload(20));
    expect(Math.max(...burst.samples.map((s) => s.startMs / 1000))).toBeGreaterThanOrEqual(0.49);
    const inf = await runServeBenchmark(config(url), workload(20));
    expect(Math.max(...inf.samples.map((s) => s.startMs / 1000))).toBeLessThan(0.25);
  });

  it('ramp-up records vLLM rps_change_events and the ramp in the result file', async () => {
    const { url } = await startFastServer({ tokens: 1 });
    const r = await runServeBenchmark(config(url, { rampUp: { strategy: 'linear', startRps: 20, endRps: 60 } }), workload(30));
    expect(r.measurement.totals.completed).toBe(30);
    const rps = r.rpsChangeEvents!.map((e) => e.rps);
    expect(rps[0]).toBe(20);
    expect(rps.at(-1)).toBe(60);
    const json = buildResultJson(r, { label: null, tokenizerId: 't', metadata: { tp: '1' }, detailed: false, date: '20260101-000000' });
    expect(json).toMatchObject({ ramp_up_strategy: 'linear', ramp_up_start_rps: 20, ramp_up_end_rps: 60, request_rate: 'inf', tp: '1', completed: 30 });
    expect(json).not.toHaveProperty('ttfts');
    expect(json).toHaveProperty('p99_ttft_ms');
  });
});

describe('bad servers become failed requests with the reason, and the run finishes', () => {
  async function runAgainst(handler: Parameters<typeof startServer>[0], extra: Partial<ServeBenchConfig> = {}) {
    const { url } = await startServer(handler);
    return runServeBenchmark(config(url, extra), workload(2));
  }

  it('non-200 answers', async () => {
    const r = await runAgainst((req, res) => {
      void readBody(req).then(() => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}'));
    });
    expect(r.measurement.totals.failed).toBe(2);
    expect(errorsOf(r)[0]).toMatch(/^HTTP 500: .*boom/);
    expect(formatServeSummary(r)).toContain('Failed requests:                         2');
  });

  it('connection reset mid-stream', async () => {
    const r = await runAgainst((req, res) => {
      void readBody(req).then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(textChunk('a'));
        setTimeout(() => req.socket.destroy(), 20);
      });
    });
    expect(r.measurement.totals.failed).toBe(2);
    expect(errorsOf(r)[0]).toMatch(/reset|terminated|closed|ended before/);
  });

  it('malformed JSON in a chunk', async () => {
    const r = await runAgainst((req, res) => {
      void readBody(req).then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(textChunk('a') + 'data: {"choices": [\n\n' + 'data: [DONE]\n\n');
      });
    });
    expect(r.measurement.totals.failed).toBe(2);
    expect(errorsOf(r)[0]).toMatch(/^malformed JSON in stream chunk/);
  });

  it('a stream that ends before [DONE]', async () => {
    const r = await runAgainst((req, res) => {
      void readBody(req).then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(textChunk('a') + textChunk('b'));
      });
    });
    expect(r.measurement.totals.failed).toBe(2);
    expect(errorsOf(r)[0]).toBe('stream ended before data: [DONE] after 2 content chunks');
  });

  it('a stream that stalls past the request timeout', async () => {
    const r = await runAgainst(
      (req, res) => {
        void readBody(req).then(() => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(textChunk('a'));
        });
      },
      { requestTimeoutMs: 300 },
    );
    expect(r.measurement.totals.failed).toBe(2);
    expect(errorsOf(r)[0]).toMatch(/^stalled: no data for 0.3 s/);
  });

  it('an error object inside the stream, an oversized event, and a refused connection', async () => {
    const err = await runAgainst((req, res) => {
      void readBody(req).then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: {"error": {"message": "engine dead"}}\n\n');
      });
    });
    expect(errorsOf(err)[0]).toMatch(/server error in stream: .*engine dead/);
    const big = await runAgainst(
      (req, res) => {
        void readBody(req).then(() => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(textChunk('x'.repeat(5000)) + 'data: [DONE]\n\n');
        });
      },
      { maxEventBytes: 1000 },
    );
    expect(errorsOf(big)[0]).toMatch(/larger than 1000 bytes/);
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    await new Promise<void>((r) => blocker.close(() => r()));
    const refused = await runServeBenchmark(config(`http://127.0.0.1:${port}`), workload(1));
    expect(refused.measurement.totals.failed).toBe(1);
    expect(errorsOf(refused)[0]).toMatch(/refused|ECONNREFUSED/);
  });

  it('shares one caller signal among many concurrent requests without a listener-leak warning', async () => {
    const { url } = await startFastServer({ tokens: 2, delayMs: 5 });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const r = await runServeBenchmark(config(url), workload(40), { signal: new AbortController().signal });
      expect(r.measurement.totals.completed).toBe(40);
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('cancellation during a paced schedule stops the arrival clock: no request is sent after it', async () => {
    const { url, stats } = await startFastServer({ tokens: 1 });
    // Cancelled when the first measured request has finished (not after a fixed time: under load the start-up alone
    // can outlast any delay); the 20 arrivals at 10 req/s span about 2 s, so most are still to come.
    const ac = new AbortController();
    const cfg = config(url, { requestRate: 10, burstiness: Infinity });
    const onEvent = (e: LoadgenEvent) => {
      if (e.type === 'progress' && e.completed >= 1) ac.abort();
    };
    await expect(runServeBenchmark(cfg, workload(20), { signal: ac.signal, onEvent })).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const sent = stats.arrivals.length;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(20);
    // A clock left running would send about 10 more in this second.
    await sleep(1000);
    expect(stats.arrivals.length).toBe(sent);
  });

  it('cancellation rejects with E_CANCELLED and leaves nothing running', async () => {
    const { url } = await startFastServer({ tokens: 50, delayMs: 20 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(runServeBenchmark(config(url), workload(4), { signal: ac.signal })).rejects.toMatchObject({ code: 'E_CANCELLED' });
  });
});

describe('completeGreedy', () => {
  it('sends a non-streaming temperature-0 completion and returns text and tokens', async () => {
    let body: Record<string, unknown> = {};
    const { url } = await startServer((req, res) => {
      void readBody(req).then((b) => {
        body = JSON.parse(b) as Record<string, unknown>;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ text: ' hi there' }], usage: { completion_tokens: 2 } }));
      });
    });
    onTestFinished(() => undefined);
    expect(await completeGreedy(url, { backend: 'openai', endpoint: '/v1/completions', model: 'm', prompt: 'Hello', maxTokens: 8 })).toEqual({ text: ' hi there', tokens: 2 });
    expect(body).toEqual({ model: 'm', prompt: 'Hello', max_tokens: 8, temperature: 0, stream: false });
  });

  it('speaks chat on the chat backend: one user message, the answer from choices[0].message.content', async () => {
    let body: Record<string, unknown> = {};
    let path = '';
    const { url } = await startServer((req, res) => {
      path = req.url ?? '';
      void readBody(req).then((b) => {
        body = JSON.parse(b) as Record<string, unknown>;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: ' hi' } }], usage: { completion_tokens: 1 } }));
      });
    });
    expect(await completeGreedy(url, { backend: 'openai-chat', endpoint: '/v1/chat/completions', model: 'm', prompt: 'Hello', maxTokens: 8 })).toEqual({ text: ' hi', tokens: 1 });
    expect(path).toBe('/v1/chat/completions');
    expect(body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, max_completion_tokens: 8, temperature: 0, stream: false });
  });
});

describe('outputs are checked', () => {
  /** A completions server that streams `n(maxTokens)` one-token chunks and reports them (and `promptTokens`) in usage. */
  async function lengthServer(n: (asked: number) => number, opts: { usage?: boolean; promptTokens?: number } = {}) {
    const bodies: Record<string, unknown>[] = [];
    const { url } = await startServer((req, res) => {
      void readBody(req).then((b) => {
        const body = JSON.parse(b) as Record<string, unknown>;
        bodies.push(body);
        const count = n(Number(body.max_tokens));
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (let i = 0; i < count; i++) res.write(textChunk(` t${i}`));
        if (opts.usage !== false) res.write(usageChunk(count, opts.promptTokens ?? 3));
        res.end('data: [DONE]\n\n');
      });
    });
    return { url, bodies };
  }

  it('fails a request whose output length differs from the request when ignore_eos is sent', async () => {
    const { url } = await lengthServer((asked) => asked * 250);
    const r = await runServeBenchmark(config(url, { ignoreEos: true }), workload(2, 16));
    expect(r.measurement.totals.completed).toBe(0);
    expect(errorsOf(r)).toEqual(['output length 4000, requested 16', 'output length 4000, requested 16']);
    expect(r.measurement.totals.outputTokens).toBe(0);
    const short = await lengthServer((asked) => asked - 1);
    const s = await runServeBenchmark(config(short.url, { ignoreEos: true }), workload(1, 16));
    expect(errorsOf(s)).toEqual(['output length 15, requested 16']);
  });

  it('without ignore_eos a shorter output is a stop at EOS, a longer one a failure', async () => {
    const short = await lengthServer((asked) => asked - 2);
    expect((await runServeBenchmark(config(short.url), workload(1, 8))).measurement.totals.completed).toBe(1);
    const long = await lengthServer((asked) => asked + 1);
    expect(errorsOf(await runServeBenchmark(config(long.url), workload(1, 8)))).toEqual(['output length 9, requested 8']);
    // No usage and no tokenizer: the chunk count is a lower bound of the tokens, enough to see "more than asked".
    const counted = await lengthServer((asked) => asked * 3, { usage: false });
    expect(errorsOf(await runServeBenchmark(config(counted.url), workload(1, 8)))).toEqual(['output length 24, requested 8 (content chunks counted)']);
  });

  it('fails a completion whose usage.prompt_tokens is not the prompt sent', async () => {
    const { url } = await lengthServer((asked) => asked, { promptTokens: 7 });
    const r = await runServeBenchmark(config(url), workload(1, 4));
    expect(errorsOf(r)).toEqual(['input length 7 (usage.prompt_tokens), sent 3: the server tokenizes the prompt differently']);
  });

  it('bounds a chat request with max_tokens and max_completion_tokens', async () => {
    const { url, bodies } = await lengthServer((asked) => asked);
    await runServeBenchmark(config(url, { backend: 'openai-chat', endpoint: '/v1/chat/completions' }), workload(1, 5));
    expect(bodies[0]).toMatchObject({ max_tokens: 5, max_completion_tokens: 5 });
  });

  it('fails a request whose stream carries invalid UTF-8, in the fast and the JSON.parse path', async () => {
    for (const extra of ['', ', "id": "x\\u00e9"']) {
      const { url } = await startServer((req, res) => {
        void readBody(req).then(() => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          // A chunk with a lone 0xff byte inside the text; the escaped key sends the second pass through JSON.parse.
          const head = Buffer.from(`data: {"choices": [{"index": 0, "text": "a`);
          const tail = Buffer.from(`"}]${extra}${extra === '' ? '' : ', "\\u0069d2": 1'}}\n\n`);
          res.write(Buffer.concat([head, Buffer.from([0xff]), tail]));
          res.end(usageChunk(1) + 'data: [DONE]\n\n');
        });
      });
      const r = await runServeBenchmark(config(url), workload(1, 1));
      expect(r.measurement.totals.completed, extra).toBe(0);
      expect(errorsOf(r)[0]).toMatch(/^invalid UTF-8 in stream chunk/);
    }
  });
});
