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

/** What a server must answer 200 on, in order, unless its engine's preset says otherwise. */
export const DEFAULT_READY_PATHS = ['/health', '/v1/models'] as const;

/**
 * Waits until the server answers 200 on each of its ready paths in order (default `/health`, then `/v1/models`;
 * llama-server's /health answers 503 while the model loads), polling every READY_POLL_MS.
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
    let failed: string | null = null;
    for (const p of server.readyPaths ?? DEFAULT_READY_PATHS) {
      failed = await answers200(`${base}${p}`, signal);
      if (failed !== null) break;
    }
    if (failed === null) return { status: 'ready', elapsedS: elapsedS() };
    lastError = failed;
    try {
      await sleep(READY_POLL_MS, undefined, { signal });
    } catch {
      return { status: 'aborted', elapsedS: elapsedS() };
    }
  }
}
