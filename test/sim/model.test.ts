import { describe, expect, it } from 'vitest';
import { defaultSimProfile, simulateOffline } from '../../src/sim/index.js';
import { post, sim } from './helpers.js';
import { Prng } from '../../src/sim/prng.js';

const metric = (text: string, name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);

describe('continuous-batching model', () => {
  it('computes longer steps for bigger batches and faster runs with effects (virtual time)', () => {
    const p = { ...defaultSimProfile, decode_base_ms: 5, decode_per_seq_ms: 1 };
    const one = simulateOffline(p, [{ prompt: 10, cached: 0, output: 100 }], new Prng(1));
    const many = simulateOffline(p, Array.from({ length: 32 }, () => ({ prompt: 10, cached: 0, output: 100 })), new Prng(1));
    expect(many).toBeGreaterThan(one * 3);
    const limited = simulateOffline({ ...p, max_num_seqs: 4 }, Array.from({ length: 32 }, () => ({ prompt: 10, cached: 0, output: 100 })), new Prng(1));
    expect(limited).toBeGreaterThan(many);
  });

  it('live server: chunk gaps grow with the number of running streams', async () => {
    const s = await sim({ decode_base_ms: 1, decode_per_seq_ms: 1, record: true });
    const run = async (n: number) => {
      s.clearRecords();
      await Promise.all(Array.from({ length: n }, (_, i) => post(s, '/v1/completions', { prompt: `q${i}`, max_tokens: 6, ignore_eos: true, stream: true })));
      const gaps = s.records().flatMap((r) => r.chunkMs.slice(1).map((t, i) => t - r.chunkMs[i]!));
      return gaps.reduce((a, b) => a + b, 0) / gaps.length;
    };
    const single = await run(1);
    const crowd = await run(40);
    expect(crowd).toBeGreaterThan(single * 3);
  });

  it('queues requests when max_num_seqs or the KV cache is full', async () => {
    const s = await sim({ max_num_seqs: 2, decode_base_ms: 20, decode_per_seq_ms: 0 });
    const inflight = Array.from({ length: 4 }, (_, i) => post(s, '/v1/completions', { prompt: `w${i}`, max_tokens: 15, ignore_eos: true, stream: true }));
    await new Promise((r) => setTimeout(r, 60));
    const m = await (await fetch(s.url + '/metrics')).text();
    expect([metric(m, 'vllm:num_requests_running'), metric(m, 'vllm:num_requests_waiting')]).toEqual([2, 2]);
    await Promise.all(inflight);

    const kv = await sim({ kv_cache_tokens: 50, decode_base_ms: 20, decode_per_seq_ms: 0 });
    const two = [0, 1].map((i) => post(kv, '/v1/completions', { prompt: `k${i}`, max_tokens: 30, ignore_eos: true, stream: true }));
    await new Promise((r) => setTimeout(r, 60));
    const k = await (await fetch(kv.url + '/metrics')).text();
    expect([metric(k, 'vllm:num_requests_running'), metric(k, 'vllm:num_requests_waiting')]).toEqual([1, 1]);
    expect(metric(k, 'vllm:kv_cache_usage_perc')).toBeCloseTo(0.62, 2);
    await Promise.all(two);
  });
});

describe('exact mode', () => {
  it('sends chunks on the fixed schedule and records their send times, keyed by X-Request-Id', async () => {
    const s = await sim({ exact: true, exact_first_ms: 30, exact_interval_ms: 5 });
    const seen: Record<string, number[]> = {};
    await Promise.all(
      ['r1', 'r2', 'r3'].map(async (id) => {
        const res = await fetch(s.url + '/v1/completions', {
          method: 'POST',
          headers: { 'x-request-id': id },
          body: JSON.stringify({ prompt: id, max_tokens: 6, stream: true, ignore_eos: true }),
        });
        expect(res.headers.get('x-request-id')).toBe(id);
        const times: number[] = [];
        const decoder = new TextDecoder();
        for await (const part of res.body!) {
          const now = performance.timeOrigin + performance.now();
          const text = decoder.decode(part as Uint8Array, { stream: true });
          for (const _ of text.matchAll(/"text":/g)) times.push(now);
        }
        seen[id] = times;
      }),
    );
    const remote = (await (await fetch(s.url + '/sim/records')).json()).records as Array<{ key: string; receivedMs: number; chunkMs: number[]; finished: boolean }>;
    expect(remote.map((r) => r.key).sort()).toEqual(['r1', 'r2', 'r3']);
    expect(remote).toEqual(JSON.parse(JSON.stringify(s.records())));
    for (const r of remote) {
      expect(r.finished).toBe(true);
      expect(r.chunkMs).toHaveLength(6);
      // Never early: chunk i goes at or after its planned time (0.25 ms batching slack).
      r.chunkMs.forEach((t, i) => expect(t).toBeGreaterThanOrEqual(r.receivedMs + 30 + 5 * i - 0.3));
      // The client sees each chunk after the server sent it.
      const client = seen[r.key]!;
      expect(client).toHaveLength(6);
      client.forEach((t, i) => expect(t).toBeGreaterThanOrEqual(r.chunkMs[i]!));
    }
    await fetch(s.url + '/sim/records', { method: 'DELETE' });
    expect(s.records()).toEqual([]);
  });
});
