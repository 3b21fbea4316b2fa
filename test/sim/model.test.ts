import { describe, expect, it } from 'vitest';
import { defaultSimProfile, simulateOffline } from '../../src/sim/index.js';
import { post, sim } from './helpers.js';
import { Prng } from '../../src/sim/prng.js';
import { STALL_MS, stepStart } from '../../src/sim/scheduler.js';

const metric = (text: string, name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);

describe('continuous-batching model', () => {
  it('a late step timer costs no simulated time: the next step starts at the deadline, up to a stall or an idle batch', () => {
    // A 4 ms step whose timer fired 9 ms late (a loaded host): the next step still starts at the old deadline.
    expect(stepStart(1000, 1009, 4, true)).toBe(1000);
    // Late by more than STALL_MS (a paused process): the lost time is given up, as a real server would lose it.
    expect(stepStart(1000, 1001 + STALL_MS, 4, true)).toBe(1001 + STALL_MS);
    // A batch that was idle starts now, whatever the last deadline was.
    expect(stepStart(1000, 1009, 4, false)).toBe(1009);
    expect(stepStart(1000, 1002, 4, false)).toBe(1002);
  });

  it('computes longer steps for bigger batches and faster runs with effects (virtual time)', () => {
    const p = { ...defaultSimProfile, decode_base_ms: 5, decode_per_seq_ms: 1 };
    const one = simulateOffline(p, [{ prompt: 10, cached: 0, output: 100 }], new Prng(1));
    const many = simulateOffline(p, Array.from({ length: 32 }, () => ({ prompt: 10, cached: 0, output: 100 })), new Prng(1));
    expect(many).toBeGreaterThan(one * 3);
    const limited = simulateOffline({ ...p, max_num_seqs: 4 }, Array.from({ length: 32 }, () => ({ prompt: 10, cached: 0, output: 100 })), new Prng(1));
    expect(limited).toBeGreaterThan(many);
  });

  it('live server: chunk gaps follow the step time of the running batch', async () => {
    // Only a lower bound is asserted (timers are never early, so load only makes gaps longer), and only on gaps
    // while all 40 streams were running: arrivals spread out under load, and early steps run smaller batches.
    const s = await sim({ decode_base_ms: 1, decode_per_seq_ms: 1, record: true });
    await Promise.all(Array.from({ length: 40 }, (_, i) => post(s, '/v1/completions', { prompt: `q${i}`, max_tokens: 30, ignore_eos: true, stream: true })));
    const recs = s.records();
    expect(recs).toHaveLength(40);
    const allIn = Math.max(...recs.map((r) => r.chunkMs[0]!));
    const firstOut = Math.min(...recs.map((r) => r.chunkMs.at(-1)!));
    const gaps = recs.flatMap((r) => r.chunkMs.slice(1).map((t, i) => [r.chunkMs[i]!, t] as const)).filter(([a, b2]) => a >= allIn && b2 <= firstOut);
    expect(gaps.length).toBeGreaterThan(40);
    // 40 running streams: 1 + 40 * 1 = 41 ms per step; a late step may be caught up by the next one.
    expect(gaps.reduce((sum, [a, b2]) => sum + (b2 - a), 0) / gaps.length).toBeGreaterThan(30);
  });

  it('queues requests when max_num_seqs or the KV cache is full', async () => {
    // Polls /metrics until the expected state (new arrivals wait for the next step boundary, so it is not immediate);
    // asserts it was reached and that the limits were never exceeded on the way.
    const watch = async (url: string, want: [number, number]) => {
      const seen: Array<[number, number, number]> = [];
      for (let i = 0; i < 200; i++) {
        const m = await (await fetch(url + '/metrics')).text();
        const state: [number, number, number] = [metric(m, 'vllm:num_requests_running'), metric(m, 'vllm:num_requests_waiting'), metric(m, 'vllm:kv_cache_usage_perc')];
        seen.push(state);
        if (state[0] === want[0] && state[1] === want[1]) return seen;
        await new Promise((r) => setTimeout(r, 10));
      }
      return seen;
    };
    const s = await sim({ max_num_seqs: 2, decode_base_ms: 20, decode_per_seq_ms: 0 });
    const inflight = Array.from({ length: 4 }, (_, i) => post(s, '/v1/completions', { prompt: `w${i}`, max_tokens: 40, ignore_eos: true, stream: true }));
    const seen = await watch(s.url, [2, 2]);
    expect(seen.at(-1)!.slice(0, 2)).toEqual([2, 2]);
    expect(Math.max(...seen.map((x) => x[0]))).toBe(2);
    await Promise.all(inflight);

    const kv = await sim({ kv_cache_tokens: 50, decode_base_ms: 20, decode_per_seq_ms: 0 });
    const two = [0, 1].map((i) => post(kv, '/v1/completions', { prompt: `k${i}`, max_tokens: 30, ignore_eos: true, stream: true }));
    const k = await watch(kv.url, [1, 1]);
    expect(k.at(-1)).toEqual([1, 1, 0.62]);
    expect(Math.max(...k.map((x) => x[0]))).toBe(1);
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
    const remote = ((await (await fetch(s.url + '/sim/records')).json()) as { records: unknown }).records as Array<{ key: string; receivedMs: number; chunkMs: number[]; finished: boolean }>;
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
