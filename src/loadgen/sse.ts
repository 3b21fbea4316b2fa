/** Receives one event's data as bytes `buf[start, end)`, valid only during the call. */
export type SseBytesHandler = (buf: Buffer, start: number, end: number, t: number) => void;

/**
 * A byte-level Server-Sent Events parser: lines may end in LF, CRLF or CR, and network chunks may split or coalesce
 * events anywhere (inside `data: `, inside a UTF-8 character, between CR and LF). Only `data` fields matter here;
 * each event's data is handed over with the arrival time of the chunk that completed it. The usual event (one data
 * line, wholly inside one network chunk) is handed over as a view of that chunk, with no copy and no string.
 */
export class SseParser {
  private pending: Buffer | null = null;
  private afterCR = false;
  private hasData = false;
  // The event's only data line so far, as a view of the chunk being pushed (copied into `acc` if the push ends).
  private refBuf: Buffer | null = null;
  private refStart = 0;
  private refEnd = 0;
  // Owned bytes of an event that spans pushes or has several data lines (joined by LF).
  private acc: Buffer | null = null;
  private accLen = 0;
  private eventBytes = 0;
  private onBytes: SseBytesHandler;

  /**
   * @param onData called once per event with its data (multiple data lines joined by LF) and arrival time
   * @param maxEventBytes an event (or unterminated line) larger than this throws SseOverflowError
   */
  constructor(
    onData: (data: string, t: number) => void,
    private readonly maxEventBytes = 1 << 20,
  ) {
    this.onBytes = (buf, start, end, t) => onData(buf.toString('utf8', start, end), t);
  }

  /** A parser that hands each event's data over as bytes (see SseBytesHandler), for callers that avoid strings. */
  static ofBytes(onBytes: SseBytesHandler, maxEventBytes = 1 << 20): SseParser {
    const p = new SseParser(() => undefined, maxEventBytes);
    p.onBytes = onBytes;
    return p;
  }

  /** Feeds one network chunk received at time `t`; the chunk may be reused by the caller once this returns. */
  push(chunk: Buffer, t: number): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let start = 0;
    const len = buf.length;
    if (this.afterCR) {
      this.afterCR = false;
      if (len > 0 && buf[0] === 10) start = 1;
    }
    // CR-terminated lines are rare: find CRs once per chunk, not once per line.
    let cr = buf.indexOf(13, start);
    while (start < len) {
      const lf = buf.indexOf(10, start);
      if (cr !== -1 && cr < start) cr = buf.indexOf(13, start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < len) next = buf[cr + 1] === 10 ? cr + 2 : cr + 1;
        else {
          next = len;
          this.afterCR = true;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.line(buf, start, end, t);
      start = next;
    }
    if (this.refBuf !== null) this.own();
    if (start < len) {
      const rest = len - start;
      if (rest + this.eventBytes > this.maxEventBytes) throw new SseOverflowError(this.maxEventBytes);
      // A copy: the chunk is the caller's (a reused read buffer) once push returns.
      this.pending = Buffer.from(buf.subarray(start));
    }
  }

  private line(buf: Buffer, start: number, end: number, t: number): void {
    if (end === start) {
      if (this.hasData) this.emit(t);
      return;
    }
    // "data:" = 64 61 74 61 3a; anything else (comments, event, id, retry) is irrelevant to a benchmark.
    if (end - start >= 5 && buf[start] === 100 && buf[start + 1] === 97 && buf[start + 2] === 116 && buf[start + 3] === 97 && buf[start + 4] === 58) {
      let v = start + 5;
      if (v < end && buf[v] === 32) v++;
      this.eventBytes += end - start;
      if (this.eventBytes > this.maxEventBytes) throw new SseOverflowError(this.maxEventBytes);
      this.addData(buf, v, end);
    } else if (end - start === 4 && buf[start] === 100 && buf[start + 1] === 97 && buf[start + 2] === 116 && buf[start + 3] === 97) {
      this.addData(buf, start, start);
    }
  }

  private addData(buf: Buffer, start: number, end: number): void {
    if (!this.hasData) {
      this.hasData = true;
      this.refBuf = buf;
      this.refStart = start;
      this.refEnd = end;
      return;
    }
    if (this.refBuf !== null) this.own();
    this.append(LF, 0, 1);
    this.append(buf, start, end);
  }

  private emit(t: number): void {
    const ref = this.refBuf;
    const acc = this.acc;
    const accLen = this.accLen;
    this.refBuf = null;
    this.acc = null;
    this.accLen = 0;
    this.hasData = false;
    this.eventBytes = 0;
    if (ref !== null) this.onBytes(ref, this.refStart, this.refEnd, t);
    else if (acc !== null) this.onBytes(acc, 0, accLen, t);
    else this.onBytes(LF, 0, 0, t);
  }

  /** Copies the data line still viewed in a chunk into owned bytes, before that chunk is let go. */
  private own(): void {
    const ref = this.refBuf!;
    this.refBuf = null;
    this.append(ref, this.refStart, this.refEnd);
  }

  private append(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    if (this.acc === null || this.accLen + n > this.acc.length) {
      const grown = Buffer.allocUnsafe(Math.max(256, (this.accLen + n) * 2));
      if (this.acc !== null) this.acc.copy(grown, 0, 0, this.accLen);
      this.acc = grown;
    }
    src.copy(this.acc, this.accLen, start, end);
    this.accLen += n;
  }

  /** True when bytes of an unfinished line or event are buffered (the stream ended mid-event). */
  get midEvent(): boolean {
    return this.pending !== null || this.hasData;
  }
}

const LF = Buffer.from('\n');

/** Thrown by SseParser when one event exceeds the size cap. */
export class SseOverflowError extends Error {
  constructor(readonly limit: number) {
    super(`SSE event larger than ${limit} bytes`);
  }
}
