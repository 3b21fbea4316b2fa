import { request } from 'undici';
import { IsobenchError, errorMessage } from '../core/index.js';

/** One non-streaming greedy completion (temperature 0) from /v1/completions, for correctness probes. */
export async function completeGreedy(
  baseUrl: string,
  model: string,
  prompt: string,
  maxTokens: number,
  signal?: AbortSignal,
): Promise<{ text: string; tokens: number }> {
  let status: number;
  let text: string;
  try {
    const res = await request(`${baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature: 0, stream: false }),
      signal,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    if (signal?.aborted) throw new IsobenchError('E_CANCELLED', 'greedy completion cancelled', { cause: err });
    throw new IsobenchError('E_CONNECT', `cannot reach ${baseUrl}/v1/completions: ${errorMessage(err)}`, { cause: err });
  }
  if (status !== 200) throw new IsobenchError('E_CONNECT', `${baseUrl}/v1/completions answered HTTP ${status}: ${text.slice(0, 300)}`);
  let body: { choices?: { text?: unknown }[]; usage?: { completion_tokens?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new IsobenchError('E_CONNECT', `${baseUrl}/v1/completions answered non-JSON: ${text.slice(0, 200)}`);
  }
  const out = body.choices?.[0]?.text;
  if (typeof out !== 'string') throw new IsobenchError('E_CONNECT', `${baseUrl}/v1/completions answered without choices[0].text`);
  const tokens = body.usage?.completion_tokens;
  return { text: out, tokens: typeof tokens === 'number' ? tokens : 0 };
}
