import { request } from 'undici';
import { IsobenchError, errorMessage } from '../core/index.js';
import type { Backend } from './types.js';

/** What one greedy request asks: the prompt, on the workload's backend and endpoint. */
export interface GreedyRequest {
  /** `openai-chat` sends the prompt as one user message and reads `choices[0].message.content`. */
  backend: Backend;
  /** e.g. `/v1/completions`, `/v1/chat/completions`. */
  endpoint: string;
  model: string;
  prompt: string;
  maxTokens: number;
}

/** One non-streaming greedy completion (temperature 0) on the request's backend, for correctness probes. */
export async function completeGreedy(baseUrl: string, req: GreedyRequest, signal?: AbortSignal): Promise<{ text: string; tokens: number }> {
  const chat = req.backend === 'openai-chat';
  const url = `${baseUrl.replace(/\/+$/, '')}${req.endpoint}`;
  // Chat gets both bounds, as the load generator sends them: llama-server ignores max_completion_tokens (and would
  // generate until its context is full).
  const body = chat
    ? { model: req.model, messages: [{ role: 'user', content: req.prompt }], max_tokens: req.maxTokens, max_completion_tokens: req.maxTokens, temperature: 0, stream: false }
    : { model: req.model, prompt: req.prompt, max_tokens: req.maxTokens, temperature: 0, stream: false };
  let status: number;
  let text: string;
  try {
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    if (signal?.aborted) throw new IsobenchError('E_CANCELLED', 'greedy completion cancelled', { cause: err });
    throw new IsobenchError('E_CONNECT', `cannot reach ${url}: ${errorMessage(err)}`, { cause: err });
  }
  if (status !== 200) throw new IsobenchError('E_CONNECT', `${url} answered HTTP ${status}: ${text.slice(0, 300)}`);
  let parsed: { choices?: { text?: unknown; message?: { content?: unknown } }[]; usage?: { completion_tokens?: unknown } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new IsobenchError('E_CONNECT', `${url} answered non-JSON: ${text.slice(0, 200)}`);
  }
  const choice = parsed.choices?.[0];
  const out = chat ? choice?.message?.content : choice?.text;
  if (typeof out !== 'string') throw new IsobenchError('E_CONNECT', `${url} answered without ${chat ? 'choices[0].message.content' : 'choices[0].text'}`);
  const tokens = parsed.usage?.completion_tokens;
  return { text: out, tokens: typeof tokens === 'number' ? tokens : 0 };
}
