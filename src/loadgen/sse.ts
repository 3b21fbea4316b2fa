/**
 * A byte-level Server-Sent Events parser: lines may end in LF, CRLF or CR, and network chunks may split or coalesce
 * events anywhere (inside `data: `, inside a UTF-8 character, between CR and LF). Only `data` fields matter here;
 * each event's data is handed over with the arrival time of the chunk that completed it.
 */
export class SseParser {
  private pending: Buffer | null = null;
  private afterCR = false;
  private dataParts: string[] = [];
  private hasData = false;

  /**
   * @param onData called once per event with its data (multiple data lines joined by LF) and arrival time
   * @param maxEventBytes an event (or unterminated line) larger than this throws SseOverflowError
   */
  constructor(
    private readonly onData: (data: string, t: number) => void,
    private readonly maxEventBytes = 1 << 20,
  ) {}

  private eventBytes = 0;

  /** Feeds one network chunk received at time `t`. */
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
    if (start < len) {
      const rest = len - start;
      if (rest + this.eventBytes > this.maxEventBytes) throw new SseOverflowError(this.maxEventBytes);
      this.pending = buf.subarray(start);
    }
  }

  private line(buf: Buffer, start: number, end: number, t: number): void {
    if (end === start) {
      if (this.hasData) {
        const data = this.dataParts.length === 1 ? this.dataParts[0]! : this.dataParts.join('\n');
        this.dataParts = [];
        this.hasData = false;
        this.eventBytes = 0;
        this.onData(data, t);
      }
      return;
    }
    // "data:" = 64 61 74 61 3a; anything else (comments, event, id, retry) is irrelevant to a benchmark.
    if (end - start >= 5 && buf[start] === 100 && buf[start + 1] === 97 && buf[start + 2] === 116 && buf[start + 3] === 97 && buf[start + 4] === 58) {
      let v = start + 5;
      if (v < end && buf[v] === 32) v++;
      this.eventBytes += end - start;
      if (this.eventBytes > this.maxEventBytes) throw new SseOverflowError(this.maxEventBytes);
      this.dataParts.push(buf.toString('utf8', v, end));
      this.hasData = true;
    } else if (end - start === 4 && buf.toString('latin1', start, end) === 'data') {
      this.dataParts.push('');
      this.hasData = true;
    }
  }

  /** True when bytes of an unfinished line or event are buffered (the stream ended mid-event). */
  get midEvent(): boolean {
    return this.pending !== null || this.hasData;
  }
}

/** Thrown by SseParser when one event exceeds the size cap. */
export class SseOverflowError extends Error {
  constructor(readonly limit: number) {
    super(`SSE event larger than ${limit} bytes`);
  }
}
