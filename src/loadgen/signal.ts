import { setMaxListeners } from 'node:events';

/**
 * A signal that follows `parent` and may be handed to any number of concurrent requests: each undici request adds
 * an abort listener, and Node warns past 10 on one signal. The caller's own signal gets only one listener.
 */
export function fanOutSignal(parent: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  if (!parent) return { signal: controller.signal, dispose: () => undefined };
  const forward = (): void => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  return { signal: controller.signal, dispose: () => parent.removeEventListener('abort', forward) };
}
