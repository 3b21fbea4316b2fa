import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { errorMessage } from '../core/index.js';

/**
 * What one exchange reports. Body bytes `buf[start, end)` are valid only during the call (the read buffer is shared
 * and reused), and `t` is the performance.now() time of the socket read that delivered them, taken before any parsing.
 */
export interface ResponseHandler {
  onHead(status: number): void;
  onBody(buf: Buffer, start: number, end: number, t: number): void;
  /** The body is complete by its framing (chunked end, Content-Length, or close for close-delimited bodies). */
  onEnd(): void;
  /** Transport or protocol failure, its message in words a result file can hold; nothing more follows. */
  onError(err: Error): void;
}

/** Aborts one exchange; its handler gets onError(cancelled) unless it already ended. */
export interface Exchange {
  abort(reason?: string): void;
}

const MAX_HEAD_BYTES = 64 * 1024;
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * A keep-alive HTTP/1.1 client for one origin, made for timing streamed responses: each socket read is timestamped in
 * the read callback itself (net's `onread`, into one read buffer shared by every socket: no stream machinery, no
 * Buffer per read), and the response framing (status, headers, chunked or Content-Length or close-delimited body) is
 * parsed in place. One request per connection at a time, no pipelining; connections are reused while the server
 * keeps them alive. Stalls are found by one watchdog timer for all exchanges rather than a timer reset per read.
 */
export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly active = new Set<Connection>();
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly hostHeader: string;
  private watchdog: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * @param timeoutMs the whole response head not in within this long of the send, or no body data for this long (a
   *   stall), fails the exchange
   * @param tlsOptions extra options for https origins (a private CA, for instance); NODE_EXTRA_CA_CERTS also works
   * @param deadlineMs the whole response (head and body) not in within this long of the send fails the exchange,
   *   however steadily bytes arrive (a slow-loris server); Infinity for none
   */
  constructor(
    origin: URL,
    private readonly timeoutMs: number,
    private readonly tlsOptions: tls.ConnectionOptions = {},
    private readonly deadlineMs = Infinity,
  ) {
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new Error(`unsupported protocol ${origin.protocol}`);
    this.secure = origin.protocol === 'https:';
    this.host = origin.hostname.replace(/^\[|\]$/g, '');
    this.port = origin.port === '' ? (this.secure ? 443 : 80) : Number(origin.port);
    this.hostHeader = origin.host;
  }

  /**
   * Sends `POST path` with `body` and reports the response to `handler`. Invalid header text throws at once; every
   * later failure goes to handler.onError. A reused connection that fails before any response byte (the server closed
   * it while idle) is retried once on a fresh one.
   */
  post(path: string, headers: Record<string, string>, body: string, handler: ResponseHandler): Exchange {
    if (this.closed) throw new Error('the HTTP pool is closed');
    const head = this.requestHead(path, headers, Buffer.byteLength(body));
    const message = head + body;
    const ex = new ActiveExchange(handler);
    const start = (allowRetry: boolean): void => {
      const conn = this.takeConnection();
      const retry = allowRetry && conn.everUsed ? () => start(false) : null;
      this.active.add(conn);
      this.ensureWatchdog();
      conn.begin(ex, message, retry);
    };
    start(true);
    return ex;
  }

  /**
   * Opens `n` connections and keeps them idle for the requests to come, at most `parallel` handshakes at a time, so
   * that a burst of SYNs does not overflow the server's listen backlog (a dropped SYN is retried by the kernel after
   * 1 s, then 3 s: seconds of TTFT that are not the server's). Resolves with each connection's connect time (ms) and
   * the reasons of those that failed; a failure is not an error here (the request that needs it will say).
   */
  async preconnect(n: number, parallel = 64): Promise<{ connectMs: number[]; failed: string[] }> {
    const connectMs: number[] = [];
    const failed: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n && !this.closed) {
        next++;
        const conn = new Connection(this);
        try {
          connectMs.push(await conn.connected);
          // A pre-opened connection is one the server may time out while idle: a request meeting that close is
          // retried on a fresh connection, as on any reused one.
          conn.everUsed = true;
          if (this.closed) conn.destroy();
          else this.idle.push(conn);
        } catch (err) {
          failed.push(errorMessage(err));
          conn.destroy();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
    return { connectMs, failed };
  }

  /** Connections open and idle. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Destroys every connection; exchanges still running fail as cancelled. */
  close(): void {
    this.closed = true;
    // Each failed exchange hands its connection back to finished(), which destroys it now that the pool is closed.
    for (const c of this.active) c.fail(new Error('cancelled'));
    for (const c of this.idle) c.destroy();
    this.idle.length = 0;
    this.stopWatchdog();
  }

  private requestHead(path: string, headers: Record<string, string>, length: number): string {
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\nconnection: keep-alive\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      const problem = headerProblem(k, v);
      if (problem !== null) throw new Error(problem);
      const lower = k.toLowerCase();
      if (lower === 'host' || lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding') continue;
      head += `${k}: ${v}\r\n`;
    }
    return `${head}content-length: ${length}\r\n\r\n`;
  }

  private takeConnection(): Connection {
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) if (c.usable) return c;
    return new Connection(this);
  }

  /** Opens a socket whose reads go to `feed`, timestamped before anything else runs. */
  connect(feed: (buf: Buffer, start: number, end: number, t: number) => void): net.Socket {
    if (this.secure) {
      const sock = tls.connect({
        host: this.host,
        port: this.port,
        ALPNProtocols: ['http/1.1'],
        ...(net.isIP(this.host) ? {} : { servername: this.host }),
        ...this.tlsOptions,
      });
      sock.setNoDelay(true);
      sock.on('data', (chunk: Buffer) => feed(chunk, 0, chunk.length, performance.now()));
      return sock;
    }
    return net.connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: {
        buffer: this.readBuffer,
        callback(n: number, buf: Uint8Array): boolean {
          feed(buf as Buffer, 0, n, performance.now());
          return true;
        },
      },
    });
  }

  /** Called by a connection whose exchange ended. */
  finished(conn: Connection): void {
    this.active.delete(conn);
    if (this.active.size === 0) this.stopWatchdog();
    if (!this.closed && conn.usable) this.idle.push(conn);
    else conn.destroy();
  }

  /** Called by a connection that died while idle. */
  dropIdle(conn: Connection): void {
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
  }

  private ensureWatchdog(): void {
    if (this.watchdog !== null) return;
    const every = Math.max(5, Math.min(1000, Math.min(this.timeoutMs, this.deadlineMs) / 10));
    this.watchdog = setInterval(() => {
      const now = performance.now();
      for (const c of this.active) c.checkTimeout(now, this.timeoutMs, this.deadlineMs);
    }, every);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog === null) return;
    clearInterval(this.watchdog);
    this.watchdog = null;
  }
}

class ActiveExchange implements Exchange {
  conn: Connection | null = null;
  done = false;
  constructor(readonly handler: ResponseHandler) {}
  abort(reason = 'cancelled'): void {
    // post() attaches the exchange to a connection at once (a retry reattaches it at once), so an exchange that is not
    // done always has one.
    if (!this.done) this.conn?.fail(new Error(reason));
  }
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Close,
  Done,
}

/** One socket and the response parser of the exchange it carries. */
class Connection {
  everUsed = false;
  private readonly sock: net.Socket;
  private ex: ActiveExchange | null = null;
  private retry: (() => void) | null = null;
  private state = State.Done;
  private head = '';
  private line = '';
  private remaining = 0;
  private keepAlive = false;
  private gotBytes = false;
  private lastT = 0;
  /** When the request was sent: the head and the whole response have deadlines from here that bytes do not reset. */
  private sentT = 0;
  private dead = false;

  /** Resolves with the connect time (TCP, and TLS for https) in ms once the socket is open; rejects if it fails first. */
  readonly connected: Promise<number>;

  constructor(private readonly pool: Http1Pool) {
    const t0 = performance.now();
    const sock = pool.connect((buf, start, end, t) => this.feed(buf, start, end, t));
    this.sock = sock;
    this.connected = new Promise<number>((resolve, reject) => {
      sock.once(sock instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => resolve(performance.now() - t0));
      sock.once('error', reject);
      sock.once('close', () => reject(new Error('connection closed before it was open')));
    });
    // A request on a connection still opening does not wait on this promise; nothing may be left unhandled.
    this.connected.catch(() => undefined);
    sock.on('error', (err: NodeJS.ErrnoException) => this.onSocketGone(err));
    sock.on('end', () => this.onSocketGone(null));
    sock.on('close', () => this.onSocketGone(null));
  }

  /** Alive and between exchanges. */
  get usable(): boolean {
    return !this.dead && this.ex === null && !this.sock.destroyed && this.sock.writable;
  }

  begin(ex: ActiveExchange, message: string, retry: (() => void) | null): void {
    this.everUsed = true;
    this.ex = ex;
    ex.conn = this;
    this.retry = retry;
    this.state = State.Head;
    this.head = '';
    this.gotBytes = false;
    this.keepAlive = false;
    this.lastT = performance.now();
    this.sentT = this.lastT;
    this.sock.write(message);
  }

  feed(buf: Buffer, start: number, end: number, t: number): void {
    const ex = this.ex;
    if (ex === null) {
      // Bytes while idle: the server broke the protocol; this connection cannot carry another request.
      this.destroy();
      return;
    }
    this.gotBytes = true;
    this.lastT = t;
    let i = start;
    while (i < end && this.ex === ex) {
      switch (this.state) {
        case State.Head:
          i = this.readHead(buf, i, end);
          break;
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.remaining, end - i);
          ex.handler.onBody(buf, i, i + n, t);
          i += n;
          this.remaining -= n;
          if (this.remaining > 0) break;
          if (this.state === State.Length) this.complete();
          else this.state = State.ChunkDataEnd;
          break;
        }
        case State.Close:
          ex.handler.onBody(buf, i, end, t);
          i = end;
          break;
        case State.ChunkSize:
          i = this.readChunkSize(buf, i, end);
          break;
        case State.ChunkDataEnd: {
          const c = buf[i++];
          if (c === 10) this.state = State.ChunkSize;
          else if (c !== 13) this.protocolError('chunk data not followed by CRLF');
          break;
        }
        case State.Trailers:
          i = this.readTrailer(buf, i, end);
          break;
        case State.Done:
          this.dead = true;
          i = end;
          break;
      }
    }
  }

  /** Accumulates the status line and headers (latin1: one char per byte, so offsets carry over). */
  private readHead(buf: Buffer, i: number, end: number): number {
    const before = this.head.length;
    this.head += buf.toString('latin1', i, Math.min(end, i + MAX_HEAD_BYTES + 4));
    const from = Math.max(0, before - 3);
    const crlf = this.head.indexOf('\r\n\r\n', from);
    const lflf = this.head.indexOf('\n\n', from);
    let stop: number;
    let sep: number;
    if (crlf !== -1 && (lflf === -1 || crlf < lflf)) [stop, sep] = [crlf, 4];
    else if (lflf !== -1) [stop, sep] = [lflf, 2];
    else {
      if (this.head.length > MAX_HEAD_BYTES + 3) this.protocolError(`response headers larger than ${MAX_HEAD_BYTES} bytes`);
      return end;
    }
    if (stop > MAX_HEAD_BYTES) {
      this.protocolError(`response headers larger than ${MAX_HEAD_BYTES} bytes`);
      return end;
    }
    const consumed = stop + sep - before;
    const text = this.head.slice(0, stop);
    this.head = '';
    this.parseHead(text);
    return i + consumed;
  }

  private parseHead(text: string): void {
    const lines = text.split(/\r?\n/);
    const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (status === null) return this.protocolError(`malformed status line: ${JSON.stringify((lines[0] ?? '').slice(0, 100))}`);
    const code = Number(status[2]);
    // 1xx interim answers (100 Continue, 103 Early Hints) precede the real one.
    if (code >= 100 && code < 200 && code !== 101) return;
    if (code === 101) return this.protocolError('the server switched protocols (101), which a completion request does not ask for');
    let chunked = false;
    let length: number | null = null;
    let connection = '';
    for (let k = 1; k < lines.length; k++) {
      const l = lines[k]!;
      const colon = l.indexOf(':');
      if (colon <= 0) continue;
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      if (name === 'transfer-encoding') chunked = value.toLowerCase().split(',').pop()?.trim() === 'chunked';
      else if (name === 'content-length') {
        if (!/^\d+$/.test(value) || (length !== null && length !== Number(value))) return this.protocolError(`invalid Content-Length: ${value}`);
        length = Number(value);
      } else if (name === 'connection') connection = value.toLowerCase();
    }
    this.keepAlive = status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    this.ex!.handler.onHead(code);
    if (this.ex === null) return;
    if (code === 204 || code === 304) this.complete();
    else if (chunked) this.state = State.ChunkSize;
    else if (length !== null) {
      this.remaining = length;
      this.state = State.Length;
      if (length === 0) this.complete();
    } else {
      this.keepAlive = false;
      this.state = State.Close;
    }
  }

  /** `hex[;ext]\r\n`, possibly split across reads; the usual whole line is read from the bytes, with no string. */
  private readChunkSize(buf: Buffer, i: number, end: number): number {
    const lf = findLF(buf, i, end);
    if (lf === -1) {
      this.line += buf.toString('latin1', i, end);
      if (this.line.length > 1024) this.protocolError('chunk size line longer than 1024 bytes');
      return end;
    }
    let size = -1;
    if (this.line === '') size = chunkSizeOf(buf, i, lf);
    if (size < 0) {
      const text = (this.line + buf.toString('latin1', i, lf)).replace(/\r$/, '');
      this.line = '';
      const hex = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(text);
      if (hex === null) {
        this.protocolError(`malformed chunk size line: ${JSON.stringify(text.slice(0, 100))}`);
        return end;
      }
      size = parseInt(hex[1]!, 16);
    }
    if (size === 0) this.state = State.Trailers;
    else {
      this.remaining = size;
      this.state = State.ChunkData;
    }
    return lf + 1;
  }

  /** Trailer lines after the last chunk, ended by an empty line. */
  private readTrailer(buf: Buffer, i: number, end: number): number {
    const lf = findLF(buf, i, end);
    if (lf === -1) {
      this.line += buf.toString('latin1', i, end);
      if (this.line.length > MAX_HEAD_BYTES) this.protocolError('trailers too large');
      return end;
    }
    const text = (this.line + buf.toString('latin1', i, lf)).replace(/\r$/, '');
    this.line = '';
    if (text === '') this.complete();
    return lf + 1;
  }

  private complete(): void {
    const ex = this.ex;
    if (ex === null) return;
    this.state = State.Done;
    this.detach(ex);
    ex.done = true;
    if (!this.keepAlive) this.dead = true;
    this.pool.finished(this);
    ex.handler.onEnd();
  }

  /** Ends the exchange with `err` and retires this connection (its stream state is unknown). */
  fail(err: Error): void {
    const ex = this.ex;
    if (ex === null) return;
    this.detach(ex);
    ex.done = true;
    this.dead = true;
    this.pool.finished(this);
    ex.handler.onError(err);
  }

  private detach(ex: ActiveExchange): void {
    ex.conn = null;
    this.ex = null;
    this.retry = null;
  }

  private protocolError(message: string): void {
    this.fail(new Error(`invalid HTTP response: ${message}`));
  }

  checkTimeout(now: number, timeoutMs: number, deadlineMs: number): void {
    if (this.ex === null) return;
    const s = timeoutMs / 1000;
    if (this.state === State.Head && now - this.sentT >= timeoutMs) {
      this.fail(new Error(this.gotBytes ? `no complete response headers within ${s} s (--request-timeout)` : `no response headers within ${s} s (--request-timeout)`));
    } else if (now - this.sentT >= deadlineMs) this.fail(new Error(`no complete response within ${deadlineMs / 1000} s (--request-deadline)`));
    else if (now - this.lastT >= timeoutMs) this.fail(new Error(`stalled: no data for ${s} s (--request-timeout)`));
  }

  private onSocketGone(err: NodeJS.ErrnoException | null): void {
    const wasDead = this.dead;
    this.dead = true;
    const ex = this.ex;
    if (ex === null) {
      if (!wasDead) this.pool.dropIdle(this);
      this.sock.destroy();
      return;
    }
    if (this.state === State.Close) {
      // A close-delimited body ends with the connection.
      this.complete();
      return;
    }
    if (!this.gotBytes && this.retry !== null) {
      const retry = this.retry;
      // The exchange object stays the caller's handle; the retry attaches it to a fresh connection.
      this.detach(ex);
      this.pool.finished(this);
      retry();
      return;
    }
    this.fail(transportError(err, this.gotBytes));
  }

  destroy(): void {
    this.dead = true;
    this.sock.destroy();
  }
}

/**
 * Why a header cannot be sent as given, or null. A CR or LF would end the header early and let the value write
 * headers of its own (header injection); a name must be an HTTP token.
 */
export function headerProblem(name: string, value: string): string | null {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `invalid header name ${JSON.stringify(name)}`;
  if (/[\r\n\0]/.test(value)) return `invalid value for header ${name}: it contains a line break or NUL`;
  return null;
}

/** The first LF in buf[i, end), or -1 (the shared read buffer holds stale bytes past `end`). */
function findLF(buf: Buffer, i: number, end: number): number {
  for (let k = i; k < end; k++) if (buf[k] === 10) return k;
  return -1;
}

/** The size of a chunk-size line buf[i, lf) (hex digits, then optional blanks, `;ext` and CR), or -1 if irregular. */
function chunkSizeOf(buf: Buffer, i: number, lf: number): number {
  let size = 0;
  let k = i;
  for (; k < lf && k - i <= 12; k++) {
    const c = buf[k]!;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) break;
    size = size * 16 + d;
  }
  if (k === i || k - i > 12) return -1;
  if (k < lf && buf[k] === 59) return size;
  if (k === lf || (k === lf - 1 && buf[k] === 13)) return size;
  return -1;
}

/** A socket error or close as a failure reason (docs/loadgen.md lists them). */
function transportError(err: NodeJS.ErrnoException | null, gotBytes: boolean): Error {
  if (err === null) return new Error(`connection closed by the server before ${gotBytes ? 'the response ended' : 'any response'}`);
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return new Error(`connection refused: ${err.message}`);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new Error(`connection reset: ${err.message}`);
  return new Error(`request failed: ${code === '' ? '' : `${code} `}${err.message}`);
}
