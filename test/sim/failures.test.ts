import { describe, expect, it } from 'vitest';
import { defaultSimProfile, startSimServer } from '../../src/sim/index.js';
import { classifyFailure } from '../../src/vllm/index.js';
import { post, sim } from './helpers.js';

describe('failure injection', () => {
  it('crash_at_start: settles exited with the log line and never listens', async () => {
    const line = 'RuntimeError: CUDA error: an illegal memory access was encountered';
    const s = await startSimServer({ ...defaultSimProfile, crash_at_start: line });
    expect(await s.exited).toEqual({ code: 1, signal: null, reason: 'crashed' });
    expect(await s.ready).toBe(false);
    expect(s.log().split('\n').at(-1)).toBe(line);
    await s.close();
  });

  it('oom_above_max_model_len: fails with vLLM KV-cache error when max_model_len is above the limit', async () => {
    const s = await startSimServer({ ...defaultSimProfile, max_model_len: 32768, oom_above_max_model_len: 16384 });
    expect((await s.exited).code).toBe(1);
    expect(s.log()).toContain("ValueError: To serve at least one request with the models's max seq len (32768), (4.00 GiB KV cache is needed");
    expect(s.log()).toContain('the estimated maximum model length is 16384.');
    expect(classifyFailure({ server: s.log() }).code).toBe('server_oom');
    const fine = await sim({ max_model_len: 16384, oom_above_max_model_len: 16384 });
    expect(await fine.ready).toBe(true);
  });

  it('die_after_chunks: cuts every stream and exits', async () => {
    const s = await sim({ die_after_chunks: 5, decode_base_ms: 2 });
    const req = post(s, '/v1/completions', { prompt: 'x', max_tokens: 50, stream: true, ignore_eos: true });
    await expect(req).rejects.toThrow();
    expect(await s.exited).toMatchObject({ code: 1, reason: 'died' });
    expect(s.log()).toContain('died unexpectedly');
  });

  it('die_after_requests: serves N requests, then the next one kills the server', async () => {
    const s = await sim({ die_after_requests: 1 });
    expect((await post(s, '/v1/completions', { prompt: 'x', max_tokens: 2 })).status).toBe(200);
    await expect(post(s, '/v1/completions', { prompt: 'x', max_tokens: 2 })).rejects.toThrow();
    expect((await s.exited).reason).toBe('died');
  });

  it('error_every and error_rate answer 500 with an error body', async () => {
    const s = await sim({ error_every: 2 });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await post(s, '/v1/completions', { prompt: 'x', max_tokens: 1 })).status);
    expect(codes).toEqual([200, 500, 200, 500]);
    const all = await sim({ error_rate: 1 });
    const r = await post(all, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 1 });
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text)).toMatchObject({ object: 'error', type: 'InternalServerError', code: 500 });
  });

  it('stall_after_chunks: the stream stops sending and never finishes', async () => {
    const s = await sim({ stall_after_chunks: 2, decode_base_ms: 1 });
    const ac = new AbortController();
    const res = await fetch(s.url + '/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: 'x', max_tokens: 20, stream: true, ignore_eos: true }), signal: ac.signal });
    let text = '';
    const timer = setTimeout(() => ac.abort(), 300);
    try {
      for await (const part of res.body!) text += Buffer.from(part as Uint8Array).toString();
    } catch {
      // aborted by the test: the stall never ends on its own
    }
    clearTimeout(timer);
    expect(text.match(/"text":/g)).toHaveLength(2);
    expect(text).not.toContain('[DONE]');
  });

  it('startup_delay_ms: answers 503 until ready, then logs the Uvicorn line', async () => {
    const s = await sim({ startup_delay_ms: 150 });
    expect((await fetch(s.url + '/health')).status).toBe(503);
    expect(s.log()).not.toContain('Uvicorn running');
    expect(await s.ready).toBe(true);
    expect((await fetch(s.url + '/health')).status).toBe(200);
    expect(s.log()).toContain(`Uvicorn running on ${s.url}`);
  });

  it('a port already in use: exits like uvicorn with the Errno 98 line instead of throwing', async () => {
    const first = await sim();
    const second = await startSimServer(defaultSimProfile, { port: first.port });
    expect(await second.exited).toMatchObject({ code: 1, reason: 'crashed' });
    expect(second.log()).toContain(`ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', ${first.port}): address already in use`);
  });

  it('an AbortSignal closes the server', async () => {
    const ac = new AbortController();
    const s = await startSimServer(defaultSimProfile, { signal: ac.signal });
    ac.abort();
    expect(await s.exited).toEqual({ code: 0, signal: null, reason: 'closed' });
  });
});
