import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/**
 * The clock thread: sleeps on Atomics.wait until each deadline (a timed futex wait, microsecond resolution) and posts
 * the index of every arrival that is due. Plain JavaScript because it runs from a string (`eval: true`), with no
 * loader for TypeScript in the worker. Deadlines are process.hrtime.bigint() nanoseconds, the one monotonic clock
 * both threads read.
 */
const CLOCK_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.stop);
const offsetsNs = workerData.offsetsNs;
parentPort.once('message', (startNs) => {
  for (let i = 0; i < offsetsNs.length; i++) {
    const deadline = startNs + offsetsNs[i];
    for (;;) {
      if (Atomics.load(flag, 0) !== 0) return;
      const leftMs = Number(deadline - process.hrtime.bigint()) / 1e6;
      if (leftMs <= 0) break;
      Atomics.wait(flag, 0, 0, leftMs);
    }
    parentPort.postMessage(i);
  }
});
`;

/** A running arrival clock. */
export interface ArrivalClock {
  /** performance.now() of the schedule's time zero. */
  readonly start: number;
  /** Resolves when every arrival has fired, or at stop(). */
  readonly finished: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Calls `onArrival(i)` at `start + offsetsMs[i]` for every i, in order, from a worker thread that sleeps until each
 * deadline. Waiting on this thread instead would need timers, which fire up to a millisecond or two late, topped up
 * by a busy loop that takes a core from the server and the streams; the worker sleeps instead, and the main thread
 * only handles one message per arrival. Resolves once the worker is running and time zero is set.
 */
export async function startArrivalClock(offsetsMs: readonly number[], onArrival: (i: number) => void): Promise<ArrivalClock> {
  const stopFlag = new SharedArrayBuffer(4);
  const offsetsNs = new BigInt64Array(offsetsMs.length);
  for (let i = 0; i < offsetsMs.length; i++) offsetsNs[i] = BigInt(Math.round(offsetsMs[i]! * 1e6));
  const worker = new Worker(CLOCK_SOURCE, { eval: true, workerData: { stop: stopFlag, offsetsNs } });
  await new Promise<void>((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });
  let settle: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  if (offsetsMs.length === 0) settle();
  worker.on('message', (i: number) => {
    onArrival(i);
    if (i === offsetsMs.length - 1) settle();
  });
  worker.on('error', fail);
  worker.on('exit', () => settle());
  const start = performance.now();
  worker.postMessage(process.hrtime.bigint());
  const stop = async (): Promise<void> => {
    const flag = new Int32Array(stopFlag);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await worker.terminate();
    settle();
  };
  return { start, finished, stop };
}
