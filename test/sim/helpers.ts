import { onTestFinished } from 'vitest';
import { defaultSimProfile, startSimServer, type SimProfile, type SimServer } from '../../src/sim/index.js';

/** Starts a sim server on a free loopback port, closed when the test finishes. */
export async function sim(overrides: Partial<SimProfile> = {}): Promise<SimServer> {
  const server = await startSimServer({ ...defaultSimProfile, model: 'm', ...overrides }, { port: 0 });
  onTestFinished(() => server.close());
  return server;
}

/** POSTs JSON and returns status, headers and the raw body text. */
export async function post(server: SimServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The JSON payloads of an SSE body, `[DONE]` kept as the string. */
export function sseEvents(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice(6))
    .map((data) => (data === '[DONE]' ? data : (JSON.parse(data) as unknown)));
}
