/**
 * vLLM's `--ready-check-timeout-sec`: before measuring, the endpoint is tried until it answers, every 5 s (vLLM's
 * retry interval) until the deadline. A server still starting (connection refused, 503 while loading) is waited for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { IsobenchError } from '../core/index.js';

export const READY_RETRY_MS = 5000;

/**
 * Calls `attempt` until it returns null (ready) or `deadlineMs` (performance.now() ms) passes; `attempt` returns the
 * reason it is not ready. Throws E_CONNECT with the last reason on timeout, E_CANCELLED when `signal` aborts.
 */
export async function waitUntilReady(what: string, deadlineMs: number, timeoutS: number, attempt: () => Promise<string | null>, signal?: AbortSignal, retryMs = READY_RETRY_MS): Promise<void> {
  let last = 'never tried';
  for (;;) {
    if (signal?.aborted) throw new IsobenchError('E_CANCELLED', 'ready check cancelled');
    const reason = await attempt();
    if (reason === null) return;
    last = reason;
    const left = deadlineMs - performance.now();
    if (left <= 0) break;
    try {
      await sleep(Math.min(retryMs, left), undefined, signal ? { signal } : {});
    } catch {
      throw new IsobenchError('E_CANCELLED', 'ready check cancelled');
    }
  }
  throw new IsobenchError('E_CONNECT', `${what} not ready within --ready-check-timeout-sec ${timeoutS}: ${last}`, {
    hint: 'start the server first, or raise --ready-check-timeout-sec',
  });
}
