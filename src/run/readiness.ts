import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { ServerHandle } from '../engine/index.js';

/** Readiness is polled this often (at most 100 ms, so a fast server is not kept waiting). */
export const READY_POLL_MS = 50;

export type ReadyResult =
  | { status: 'ready'; elapsedS: number }
  | { status: 'exited'; code: number | null; signal: string | null; elapsedS: number }
  | { status: 'timeout'; elapsedS: number; lastError: string }
  | { status: 'aborted'; elapsedS: number };

async function answers200(url: string, signal: AbortSignal): Promise<string | null> {
  try {
    const res = await request(url, { method: 'GET', signal, headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode === 200 ? null : `${url} answered ${res.statusCode}`;
  } catch (err) {
    return `${url}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Waits until the server answers 200 on `/health` and then on `/v1/models`, polling every READY_POLL_MS.
 * Returns early when the server exits (the caller classifies its log), on timeout, or when `signal` aborts.
 */
export async function waitReady(server: ServerHandle, timeoutS: number, signal: AbortSignal): Promise<ReadyResult> {
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  const state: { exit: { code: number | null; signal: string | null } | null } = { exit: null };
  void server.exited.then((e) => {
    state.exit = e;
  });
  let lastError = 'no answer yet';
  const base = server.baseUrl.replace(/\/+$/, '');
  while (true) {
    if (signal.aborted) return { status: 'aborted', elapsedS: elapsedS() };
    const exited = state.exit;
    if (exited !== null) return { status: 'exited', code: exited.code, signal: exited.signal, elapsedS: elapsedS() };
    if (elapsedS() >= timeoutS) return { status: 'timeout', elapsedS: elapsedS(), lastError };
    const health = await answers200(`${base}/health`, signal);
    if (health === null) {
      const models = await answers200(`${base}/v1/models`, signal);
      if (models === null) return { status: 'ready', elapsedS: elapsedS() };
      lastError = models;
    } else {
      lastError = health;
    }
    try {
      await sleep(READY_POLL_MS, undefined, { signal });
    } catch {
      return { status: 'aborted', elapsedS: elapsedS() };
    }
  }
}
