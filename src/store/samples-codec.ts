import { endianness } from 'node:os';
import { deflateSync, inflateSync } from 'node:zlib';
import { IsobenchError, redactSecrets } from '../core/index.js';
import type { SampleRecord } from './types.js';

/**
 * Samples of one trial are stored as one compressed columnar blob, not a row per request: a trial has up to
 * thousands of requests with tens of inter-token latencies each, and readers always want all samples of a trial at
 * once. Layout (little-endian): magic `ISS1`, u32 count, u32 ITL total, u32 error-JSON length, the errors as JSON
 * `[[index, message], ...]` padded to 8 bytes, then float64 columns of `count` values (index, ok, startMs, ttftMs,
 * e2elMs, promptTokens, outputTokens, itlCount; NaN for null), then every ITL value; deflated as a whole.
 */
export const SAMPLES_ENCODING = 'iss1+deflate';

const MAGIC = 0x31535349; // 'ISS1' read as little-endian u32
const HEADER = 16;
const COLUMNS = 8;

if (endianness() !== 'LE') throw new Error('isobench stores samples as little-endian float64 and needs a little-endian CPU');

/** Encodes the samples of one trial; error texts are redacted. */
export function encodeSamples(samples: readonly SampleRecord[]): Uint8Array {
  const n = samples.length;
  let itlTotal = 0;
  const errors: [number, string][] = [];
  for (let i = 0; i < n; i++) {
    const s = samples[i]!;
    itlTotal += s.itlMs.length;
    if (s.error !== null) errors.push([i, redactSecrets(s.error)]);
  }
  const errorBytes = Buffer.from(JSON.stringify(errors), 'utf8');
  const numbersAt = align8(HEADER + errorBytes.length);
  const buf = new ArrayBuffer(numbersAt + 8 * (COLUMNS * n + itlTotal));
  const head = new DataView(buf);
  head.setUint32(0, MAGIC, true);
  head.setUint32(4, n, true);
  head.setUint32(8, itlTotal, true);
  head.setUint32(12, errorBytes.length, true);
  new Uint8Array(buf, HEADER, errorBytes.length).set(errorBytes);
  const f = new Float64Array(buf, numbersAt);
  let itlAt = COLUMNS * n;
  for (let i = 0; i < n; i++) {
    const s = samples[i]!;
    f[i] = s.index;
    f[n + i] = s.ok ? 1 : 0;
    f[2 * n + i] = s.startMs;
    f[3 * n + i] = s.ttftMs ?? Number.NaN;
    f[4 * n + i] = s.e2elMs ?? Number.NaN;
    f[5 * n + i] = s.promptTokens;
    f[6 * n + i] = s.outputTokens;
    f[7 * n + i] = s.itlMs.length;
    f.set(s.itlMs, itlAt);
    itlAt += s.itlMs.length;
  }
  // Level 1: ITL doubles barely compress further at higher levels, and saving a trial must stay fast.
  return deflateSync(new Uint8Array(buf), { level: 1 });
}

/** Decodes what `encodeSamples` wrote; `trialId` is filled in on every sample. */
export function decodeSamples(trialId: string, encoding: string, data: Uint8Array): SampleRecord[] {
  if (encoding !== SAMPLES_ENCODING) throw corrupt(trialId, `unknown samples encoding ${encoding}`);
  const raw = inflateSync(data);
  // Copy into a fresh, 8-aligned buffer: a Buffer from zlib may share a pool at any offset.
  const buf = new ArrayBuffer(raw.length);
  new Uint8Array(buf).set(raw);
  const head = new DataView(buf);
  if (raw.length < HEADER || head.getUint32(0, true) !== MAGIC) throw corrupt(trialId, 'bad magic');
  const n = head.getUint32(4, true);
  const itlTotal = head.getUint32(8, true);
  const errorLen = head.getUint32(12, true);
  const numbersAt = align8(HEADER + errorLen);
  if (raw.length !== numbersAt + 8 * (COLUMNS * n + itlTotal)) throw corrupt(trialId, 'bad length');
  const errors = new Map(JSON.parse(Buffer.from(buf, HEADER, errorLen).toString('utf8')) as [number, string][]);
  const f = new Float64Array(buf, numbersAt);
  const out: SampleRecord[] = new Array<SampleRecord>(n);
  let itlAt = COLUMNS * n;
  for (let i = 0; i < n; i++) {
    const itlCount = f[7 * n + i]!;
    out[i] = {
      trialId,
      index: f[i]!,
      ok: f[n + i] === 1,
      startMs: f[2 * n + i]!,
      ttftMs: nullIfNaN(f[3 * n + i]!),
      e2elMs: nullIfNaN(f[4 * n + i]!),
      itlMs: Array.from(f.subarray(itlAt, itlAt + itlCount)),
      promptTokens: f[5 * n + i]!,
      outputTokens: f[6 * n + i]!,
      error: errors.get(i) ?? null,
    };
    itlAt += itlCount;
  }
  return out;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function nullIfNaN(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

function corrupt(trialId: string, why: string): IsobenchError {
  return new IsobenchError('E_STORE', `samples of trial ${trialId} are unreadable (${why})`);
}
