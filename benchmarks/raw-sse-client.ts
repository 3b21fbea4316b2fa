/**
 * The reference client of benchmarks/loadgen.ts: the least a Node client can do to time an SSE stream. Raw `node:net`
 * HTTP/1.1 over keep-alive sockets with Nagle off, one timestamp per socket `data` event taken before anything else,
 * content chunks counted by scanning bytes for `"text":` (no undici, no SSE parser, no JSON.parse). It exists so the
 * benchmark can show what this machine and the sim allow next to what our client measures, in the same run.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** Arrival times (epoch ms) of every content chunk, keyed by x-request-id, plus the run's wall time. */
export interface RawRun {
  times: Map<string, number[]>;
  /** When each request was written (epoch ms), after its connection was open. */
  sentMs: Map<string, number>;
  durationS: number;
}

const TEXT = Buffer.from('"text":');
const END = Buffer.from('\r\n0\r\n\r\n');
// Enough of the previous data event to find a pattern split across two events.
const CARRY = END.length;

function countOf(buf: Buffer, pat: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(pat); i !== -1; i = buf.indexOf(pat, i + pat.length)) n++;
  return n;
}

/** Streams one request on an idle keep-alive socket; resolves with its content chunk arrival times. */
function oneStream(sock: net.Socket, host: string, path: string, id: string, body: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    let tail: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      const t = performance.timeOrigin + performance.now();
      const view: Buffer = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
      // A pattern wholly inside the carried tail was counted last time; the tail is shorter than "text":.
      for (let k = countOf(view, TEXT); k > 0; k--) times.push(t);
      if (view.includes(END)) {
        sock.off('data', onData);
        sock.off('error', reject);
        resolve(times);
        return;
      }
      tail = view.subarray(Math.max(0, view.length - CARRY + 1));
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(
      `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, noDelay: true }, () => resolve(sock));
    sock.once('error', reject);
  });
}

/** Runs `n` streaming completions of `maxTokens` tokens at `streams` concurrent keep-alive connections. */
export async function runRawStreams(baseUrl: string, streams: number, n: number, maxTokens: number, prefix: string): Promise<RawRun> {
  const url = new URL(baseUrl);
  const host = url.hostname;
  const port = Number(url.port);
  const body = JSON.stringify({ model: 'sim-model', prompt: 'ba be bi bo bu', max_tokens: maxTokens, stream: true, ignore_eos: true });
  const times = new Map<string, number[]>();
  const sentMs = new Map<string, number>();
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    const sock = await connect(host, port);
    try {
      for (let i = next++; i < n; i = next++) {
        const id = `${prefix}${i}`;
        sentMs.set(id, performance.timeOrigin + performance.now());
        times.set(id, await oneStream(sock, host, '/v1/completions', id, body));
      }
    } finally {
      sock.destroy();
    }
  };
  await Promise.all(Array.from({ length: Math.min(streams, n) }, worker));
  return { times, sentMs, durationS: (performance.now() - t0) / 1000 };
}
