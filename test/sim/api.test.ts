import { describe, expect, it } from 'vitest';
import { post, sim, sseEvents } from './helpers.js';

interface Choice {
  index: number;
  text: string;
  delta: { role?: string; content?: string };
  finish_reason: string | null;
}
type Chunk = { id: string; object: string; model: string; choices: Choice[]; usage?: Record<string, number> };
type Completion = { choices: Choice[]; usage: Record<string, number> };

describe('sim server API', () => {
  it('streams completions in vLLM chunk format with a final usage chunk and [DONE]', async () => {
    const s = await sim();
    const r = await post(s, '/v1/completions', { model: 'm', prompt: 'ba be bi', max_tokens: 4, stream: true, ignore_eos: true, stream_options: { include_usage: true } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(r.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = sseEvents(r.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Chunk[];
    expect(chunks).toHaveLength(5);
    const content = chunks.slice(0, 4);
    for (const c of content) {
      expect(c.object).toBe('text_completion');
      expect(c.model).toBe('m');
      expect(Object.keys(c.choices[0]!)).toEqual(['index', 'text', 'logprobs', 'finish_reason', 'stop_reason']);
      expect(c.choices[0]!.text).toMatch(/^ [a-z]+$/);
    }
    expect(content.map((c): unknown => c.choices[0]!.finish_reason)).toEqual([null, null, null, 'length']);
    expect(chunks[4]!.choices).toEqual([]);
    expect(chunks[4]!.usage).toEqual({ prompt_tokens: 3, total_tokens: 7, completion_tokens: 4 });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const quoted = await post(s, '/v1/completions', { prompt: 'ba', max_tokens: 2, stream: true }, { 'x-request-id': 'a"b\\c' });
    expect((sseEvents(quoted.text)[0] as Chunk).id).toBe('cmpl-a"b\\c');
  });

  it('streams chat with a first role chunk and no usage chunk unless asked', async () => {
    const s = await sim();
    const r = await post(s, '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi there' }], max_tokens: 3, stream: true, ignore_eos: true });
    const events = sseEvents(r.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Chunk[];
    expect(chunks).toHaveLength(4);
    expect(chunks[0]!.object).toBe('chat.completion.chunk');
    expect(chunks[0]!.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    expect(chunks.slice(1).every((c) => typeof c.choices[0]!.delta.content === 'string' && c.choices[0]!.delta.content !== '')).toBe(true);
    expect(chunks[3]!.choices[0]!.finish_reason).toBe('length');
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
  });

  it('answers non-streaming completions and chat with usage', async () => {
    const s = await sim();
    const c = JSON.parse((await post(s, '/v1/completions', { model: 'm', prompt: 'a b c', max_tokens: 5, ignore_eos: true })).text);
    expect(c.object).toBe('text_completion');
    expect(c.choices[0].finish_reason).toBe('length');
    expect(String(c.choices[0].text).trim().split(' ')).toHaveLength(5);
    expect(c.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    const chat = JSON.parse((await post(s, '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 2, ignore_eos: true })).text);
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0].message.role).toBe('assistant');
    expect(chat.usage.completion_tokens).toBe(2);
  });

  it('honours max_tokens, ignore_eos and min_tokens around a deterministic EOS point', async () => {
    const s = await sim({ eos_min_tokens: 5, eos_max_tokens: 5 });
    const ask = async (extra: Record<string, unknown>) => JSON.parse((await post(s, '/v1/completions', { prompt: 'p q r', ...extra })).text) as Completion;
    const eos = await ask({ max_tokens: 50 });
    expect([eos.usage.completion_tokens, eos.choices[0]!.finish_reason]).toEqual([5, 'stop']);
    const cut = await ask({ max_tokens: 3 });
    expect([cut.usage.completion_tokens, cut.choices[0]!.finish_reason]).toEqual([3, 'length']);
    const ignore = await ask({ max_tokens: 50, ignore_eos: true });
    expect([ignore.usage.completion_tokens, ignore.choices[0]!.finish_reason]).toEqual([50, 'length']);
    const min = await ask({ max_tokens: 50, min_tokens: 12 });
    expect([min.usage.completion_tokens, min.choices[0]!.finish_reason]).toEqual([12, 'stop']);
    const dflt = await ask({});
    expect(dflt.usage.completion_tokens).toBe(5);
  });

  it('EOS points vary by prompt within [eos_min_tokens, eos_max_tokens] and repeat for the same prompt', async () => {
    const s = await sim({ eos_min_tokens: 3, eos_max_tokens: 40 });
    const lens = [];
    for (const prompt of ['one', 'two', 'three', 'four', 'one']) {
      lens.push(JSON.parse((await post(s, '/v1/completions', { prompt, max_tokens: 100 })).text).usage.completion_tokens as number);
    }
    expect(lens.every((n) => n >= 3 && n <= 40)).toBe(true);
    expect(lens[4]).toBe(lens[0]);
    expect(new Set(lens).size).toBeGreaterThan(1);
  });

  it('greedy output is a function of the prompt; wrong_output changes it; seeds repeat sampling', async () => {
    const a = await sim();
    const b = await sim({ decode_base_ms: 1, max_num_seqs: 2 });
    const bad = await sim({ wrong_output: true });
    const body = { prompt: 'the same prompt', max_tokens: 8, temperature: 0, ignore_eos: true };
    const text = async (s: typeof a, extra = {}) => JSON.parse((await post(s, '/v1/completions', { ...body, ...extra })).text).choices[0].text as string;
    expect(await text(a)).toBe(await text(b));
    expect(await text(a)).toBe(await text(a));
    expect(await text(bad)).not.toBe(await text(a));
    expect(await text(a, { temperature: 1, seed: 7 })).toBe(await text(b, { temperature: 1, seed: 7 }));
    expect(await text(a, { temperature: 1, seed: 7 })).not.toBe(await text(a, { temperature: 1, seed: 8 }));
  });

  it('refuses bad requests with vLLM error bodies', async () => {
    const s = await sim({ max_model_len: 10 });
    const long = await post(s, '/v1/completions', { prompt: 'a b c d e f', max_tokens: 5 });
    expect(long.status).toBe(400);
    expect(JSON.parse(long.text)).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400 });
    expect(long.text).toContain("This model's maximum context length is 10 tokens. However, you requested 11 tokens (6 in the messages, 5 in the completion)");
    const model = await post(s, '/v1/completions', { model: 'nope', prompt: 'a', max_tokens: 1 });
    expect([model.status, JSON.parse(model.text).message]).toEqual([404, 'The model `nope` does not exist.']);
    const res = await fetch(s.url + '/v1/completions', { method: 'POST', body: '{not json' });
    expect(res.status).toBe(400);
    expect((await fetch(s.url + '/nowhere')).status).toBe(404);
  });

  it('round-trips /tokenize and /detokenize and reports the vocabulary', async () => {
    const s = await sim({ vocab_size: 5000, max_model_len: 2048 });
    const info = (await (await fetch(s.url + '/sim/info')).json()) as { vocab_size: number };
    expect(info.vocab_size).toBe(5000);
    const ids = Array.from({ length: 300 }, (_, i) => (i * 7919) % 5000);
    const de = JSON.parse((await post(s, '/detokenize', { model: 'm', tokens: ids })).text);
    expect(typeof de.prompt).toBe('string');
    const tok = JSON.parse((await post(s, '/tokenize', { model: 'm', prompt: de.prompt })).text);
    expect(tok).toEqual({ count: 300, max_model_len: 2048, tokens: ids, token_strs: null });
    const chat = JSON.parse((await post(s, '/tokenize', { model: 'm', messages: [{ role: 'user', content: de.prompt }] })).text);
    expect(chat.count).toBeGreaterThan(300);
    expect((await post(s, '/detokenize', { tokens: [5000] })).status).toBe(400);
    const gen = JSON.parse((await post(s, '/v1/completions', { prompt: ids, max_tokens: 2, ignore_eos: true })).text);
    expect(gen.usage.prompt_tokens).toBe(300);
  });

  it('serves /health, /v1/models, /version and /metrics with vLLM names', async () => {
    const s = await sim({ served_model_name: ['served', 'alias'], max_model_len: 4096 });
    expect((await fetch(s.url + '/health')).status).toBe(200);
    const models = (await (await fetch(s.url + '/v1/models')).json()) as { data: unknown[] };
    expect(models.data[0]).toMatchObject({ id: 'served', object: 'model', max_model_len: 4096 });
    expect((await post(s, '/v1/completions', { model: 'alias', prompt: 'a b', max_tokens: 3, ignore_eos: true })).status).toBe(200);
    const metrics = await (await fetch(s.url + '/metrics')).text();
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:time_to_first_token_seconds_bucket', 'vllm:e2e_request_latency_seconds_count', 'vllm:inter_token_latency_seconds_sum']) {
      expect(metrics).toContain(name + '{');
    }
    expect(metrics).toContain('vllm:prompt_tokens_total{model_name="served"} 2');
    expect(metrics).toContain('vllm:generation_tokens_total{model_name="served"} 3');
    expect(metrics).toContain('vllm:request_success_total{model_name="served",finished_reason="length"} 1');
    expect(metrics).toContain('vllm:e2e_request_latency_seconds_count{model_name="served"} 1');
  });
});
