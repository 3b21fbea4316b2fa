import { isUtf8 } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../core/index.js';
import { ABSENT, ChunkScanner, NULL, SLOT_CONTENT, SLOT_REASONING, SLOT_REASONING_CONTENT, SLOT_TEXT, STRING } from './chunk-scan.js';
import type { Exchange, Http1Pool, ResponseHandler } from './http1.js';
import { SseOverflowError, SseParser } from './sse.js';

/** What one streamed request produced. Times are performance.now() milliseconds. */
export interface StreamOutcome {
  ok: boolean;
  /** When the request was handed to the HTTP client. */
  startT: number;
  /** Arrival time of every content chunk (the first one is the TTFT chunk). */
  chunkTimes: number[];
  text: string;
  /** `usage.completion_tokens` of the final usage chunk, when the server sent one. */
  usageTokens: number | null;
  /** `usage.prompt_tokens` of the final usage chunk, when the server sent one. */
  usagePromptTokens: number | null;
  /** vLLM's end of a chat stream under `--vllm-compat ttft`: the last chunk's time, usage chunk included. */
  lastT: number | null;
  error: string | null;
}

export interface StreamRequest {
  pool: Http1Pool;
  /** Path and query of the endpoint on the pool's origin. */
  path: string;
  headers: Record<string, string>;
  body: string;
  chat: boolean;
  maxEventBytes: number;
  signal?: AbortSignal | undefined;
  /** vLLM's TTFT/ITL: every chunk with a non-empty `choices` is timed, content or not (`--vllm-compat ttft`). */
  anyChoiceChunk?: boolean;
  /** vLLM's success: a stream with a timed chunk succeeds without `data: [DONE]` (`--vllm-compat done`). */
  doneOptional?: boolean;
}

/**
 * Sends one streaming completion and times its chunks. Never throws: every way a server can misbehave (non-200,
 * reset, malformed chunk, early end, stall) comes back as `ok: false` with the reason. Chunks are timed by the socket
 * read that delivered them (see Http1Pool), so a chunk's time does not include parsing the reads queued before it.
 */
export function streamCompletion(req: StreamRequest): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const out: StreamOutcome = { ok: false, startT: performance.now(), chunkTimes: [], text: '', usageTokens: null, usagePromptTokens: null, lastT: null, error: null };
    const acc = new StreamAccumulator(req.anyChoiceChunk === true);
    let status = 0;
    let errorBody = '';
    let done = false;
    let settled = false;
    let exchange: Exchange | null = null;
    const fail = (reason: string): void => {
      if (out.error === null) out.error = reason;
    };
    const parser = SseParser.ofBytes((buf, start, end, t) => {
      if (out.error !== null || done) return;
      if (isDone(buf, start, end)) {
        done = true;
        return;
      }
      const problem = acc.absorb(buf, start, end, t, req.chat);
      if (problem !== null) fail(problem);
    }, req.maxEventBytes);
    const onAbort = (): void => exchange?.abort();
    const settle = (): void => {
      if (settled) return;
      settled = true;
      req.signal?.removeEventListener('abort', onAbort);
      acc.finish(out);
      if (out.error === null) {
        if (status !== 200) fail(`HTTP ${status}: ${errorBody.slice(0, 500).trim()}`);
        else if (!done && !(req.doneOptional === true && acc.count > 0)) fail(`stream ended before data: [DONE] after ${acc.count} content chunks`);
        else if (acc.count === 0) fail('stream finished without any content chunk (no TTFT)');
      }
      out.ok = out.error === null;
      resolve(out);
    };
    if (req.signal?.aborted) {
      fail('cancelled');
      settle();
      return;
    }
    const handler: ResponseHandler = {
      onHead(code) {
        status = code;
      },
      onBody(buf, start, end, t) {
        if (status !== 200) {
          if (errorBody.length < 4096) errorBody += buf.toString('utf8', start, end);
          return;
        }
        try {
          parser.push(buf.subarray(start, end), t);
        } catch (err) {
          fail(err instanceof SseOverflowError ? err.message : `SSE parse error: ${errorMessage(err)}`);
        }
        if (out.error !== null) exchange?.abort(out.error);
      },
      onEnd: settle,
      onError(err) {
        // A non-200 answer cut short still fails as that answer, with what arrived of its body.
        if (status !== 0 && status !== 200) fail(`HTTP ${status}: ${errorBody.slice(0, 500).trim()}`);
        fail(err.message);
        settle();
      },
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      exchange = req.pool.post(req.path, req.headers, req.body, handler);
    } catch (err) {
      fail(`request failed: ${errorMessage(err)}`);
      settle();
    }
  });
}

/**
 * Sends one non-streamed request (vLLM's pooling request functions: rerank) and times its whole answer: the time of
 * the last byte is both its first "chunk" and its end, as vLLM sets ttft = latency. `text` stays empty; the usage's
 * prompt tokens are read from the JSON body, completion tokens are 0. Never throws, as streamCompletion.
 */
export function postJsonTimed(req: Pick<StreamRequest, 'pool' | 'path' | 'headers' | 'body' | 'signal'>, valid: (json: Record<string, unknown>) => string | null): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const out: StreamOutcome = { ok: false, startT: performance.now(), chunkTimes: [], text: '', usageTokens: 0, usagePromptTokens: null, lastT: null, error: null };
    let status = 0;
    const parts: Buffer[] = [];
    let last = out.startT;
    let settled = false;
    let exchange: Exchange | null = null;
    const onAbort = (): void => exchange?.abort();
    const settle = (error: string | null): void => {
      if (settled) return;
      settled = true;
      req.signal?.removeEventListener('abort', onAbort);
      const text = Buffer.concat(parts).toString('utf8');
      if (error === null && status !== 200) error = `HTTP ${status}: ${text.slice(0, 500).trim()}`;
      if (error === null) {
        try {
          const json = JSON.parse(text) as Record<string, unknown>;
          const usage = json.usage as { prompt_tokens?: unknown } | undefined;
          if (typeof usage?.prompt_tokens === 'number') out.usagePromptTokens = usage.prompt_tokens;
          error = valid(json);
        } catch (err) {
          error = `response is not JSON: ${errorMessage(err)}`;
        }
      }
      out.error = error;
      out.ok = error === null;
      if (out.ok) out.chunkTimes = [last];
      resolve(out);
    };
    if (req.signal?.aborted) return settle('cancelled');
    const handler: ResponseHandler = {
      onHead(code) {
        status = code;
      },
      onBody(buf, start, end, t) {
        parts.push(Buffer.from(buf.subarray(start, end)));
        last = t;
      },
      onEnd: () => settle(null),
      // An error status is reported by settle from the body read so far.
      onError: (err) => settle(status !== 0 && status !== 200 ? null : err.message),
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      exchange = req.pool.post(req.path, req.headers, req.body, handler);
    } catch (err) {
      settle(`request failed: ${errorMessage(err)}`);
    }
  });
}

interface ChunkShape {
  choices?: { text?: unknown; delta?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown } }[];
  usage?: { completion_tokens?: unknown; prompt_tokens?: unknown } | null;
  error?: unknown;
  object?: unknown;
  message?: unknown;
}

const scanner = new ChunkScanner();
const DONE = Buffer.from('[DONE]');

function isDone(buf: Buffer, start: number, end: number): boolean {
  return end - start === DONE.length && buf.compare(DONE, 0, DONE.length, start, end) === 0;
}

/**
 * One request's content chunk times and text, the text kept as UTF-8 bytes while the stream runs (no
 * per-chunk strings, no cons-string chain per request), turned into the outcome's array and string once at the end.
 */
class StreamAccumulator {
  private readonly times: number[] = [];
  // Pooled (slab) allocation: no ArrayBuffer of its own per request.
  private text = Buffer.allocUnsafe(512);
  private textLen = 0;
  private usage: number | null = null;
  private usagePrompt: number | null = null;
  private lastT: number | null = null;

  /** @param anyChoice vLLM's rule: every chunk with a non-empty `choices` is timed (always through JSON.parse). */
  constructor(private readonly anyChoice: boolean) {}

  /** Records one event's data; returns a failure reason or null. Role-only and empty chunks are not tokens. */
  absorb(buf: Buffer, start: number, end: number, t: number, chat: boolean): string | null {
    if (this.anyChoice || !scanner.scan(buf, start, end)) {
      // Decoding would silently turn invalid bytes into U+FFFD: the server sent text that is not UTF-8.
      if (!isUtf8(buf.subarray(start, end))) return `invalid UTF-8 in stream chunk: ${buf.toString('latin1', start, Math.min(end, start + 200))}`;
      return this.absorbParsed(buf.toString('utf8', start, end), t, chat);
    }
    if (!Number.isNaN(scanner.usageTokens)) this.usage = scanner.usageTokens;
    if (!Number.isNaN(scanner.usagePromptTokens)) this.usagePrompt = scanner.usagePromptTokens;
    const slot = chat ? firstPresent() : SLOT_TEXT;
    if (slot === -1 || scanner.kind[slot] !== STRING) return null;
    const s = scanner.start[slot]!;
    const e = scanner.end[slot]!;
    if (e === s) return null;
    // The text must be UTF-8; only a slot with escapes or non-ASCII bytes needs the check.
    if (scanner.special[slot] === 1 && !isUtf8(buf.subarray(s, e))) return `invalid UTF-8 in stream chunk: ${buf.toString('latin1', start, Math.min(end, start + 200))}`;
    this.addTime(t);
    // Escapes and non-ASCII go through a decode, so the text is what JSON.parse and UTF-8 decoding give per chunk.
    if (scanner.special[slot] === 1) this.appendString(JSON.parse(buf.toString('utf8', s - 1, e + 1)) as string);
    else this.appendBytes(buf, s, e);
    return null;
  }

  /** The JSON.parse path, for every chunk the scanner does not vouch for: it decides and words failures. */
  private absorbParsed(data: string, t: number, chat: boolean): string | null {
    let obj: ChunkShape;
    try {
      obj = JSON.parse(data) as ChunkShape;
    } catch {
      return `malformed JSON in stream chunk: ${data.slice(0, 200)}`;
    }
    if (obj === null || typeof obj !== 'object') return `stream chunk is not a JSON object: ${data.slice(0, 200)}`;
    if (obj.error !== undefined || obj.object === 'error') {
      return `server error in stream: ${JSON.stringify(obj.error ?? obj.message).slice(0, 300)}`;
    }
    const choice = Array.isArray(obj.choices) ? obj.choices[0] : undefined;
    if (this.anyChoice) {
      // vLLM's request functions: a chunk with choices is a token, content or not; chat's end time also moves on
      // the usage chunk (most_recent_timestamp is set for every chat chunk).
      if (choice !== undefined) {
        const piece = chat ? choice.delta?.content : choice.text;
        this.addTime(t);
        if (typeof piece === 'string') this.appendString(piece);
      }
      if (chat || choice !== undefined) this.lastT = t;
    } else if (choice !== undefined) {
      const piece = chat ? (choice.delta?.content ?? choice.delta?.reasoning_content ?? choice.delta?.reasoning) : choice.text;
      if (typeof piece === 'string' && piece.length > 0) {
        this.addTime(t);
        this.appendString(piece);
      }
    }
    const tokens = obj.usage?.completion_tokens;
    if (typeof tokens === 'number') this.usage = tokens;
    const promptTokens = obj.usage?.prompt_tokens;
    if (typeof promptTokens === 'number') this.usagePrompt = promptTokens;
    return null;
  }

  /** Writes the chunk times, text and usage into the outcome. */
  finish(out: StreamOutcome): void {
    out.chunkTimes = this.times;
    out.text = this.text.toString('utf8', 0, this.textLen);
    out.usageTokens = this.usage;
    out.usagePromptTokens = this.usagePrompt;
    out.lastT = this.lastT;
  }

  /** Content chunks so far. */
  get count(): number {
    return this.times.length;
  }

  private addTime(t: number): void {
    this.times.push(t);
  }

  private appendString(piece: string): void {
    const n = Buffer.byteLength(piece, 'utf8');
    this.reserve(n);
    this.textLen += this.text.write(piece, this.textLen, 'utf8');
  }

  private appendBytes(buf: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    this.textLen += buf.copy(this.text, this.textLen, start, end);
  }

  private reserve(n: number): void {
    if (this.textLen + n <= this.text.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.text.length * 2, this.textLen + n));
    this.text.copy(grown, 0, 0, this.textLen);
    this.text = grown;
  }
}

/** The chat piece is `content ?? reasoning_content ?? reasoning`: the first slot that is present and not null. */
function firstPresent(): number {
  if (present(SLOT_CONTENT)) return SLOT_CONTENT;
  if (present(SLOT_REASONING_CONTENT)) return SLOT_REASONING_CONTENT;
  return present(SLOT_REASONING) ? SLOT_REASONING : -1;
}

function present(slot: number): boolean {
  const k = scanner.kind[slot];
  return k !== ABSENT && k !== NULL;
}
