import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, Generation, chatPromptIds, completionPromptIds, planGeneration, type GenerationContext } from './generation.js';
import { SimMetrics } from './prometheus.js';
import { drawNoiseSeed } from './noise.js';
import { Prng } from './prng.js';
import { kvCapacity, servedModelName, type SimProfile } from './profile.js';
import { BatchScheduler, ExactScheduler, type Scheduler, type SchedulerHooks } from './scheduler.js';
import { SimTokenizer } from './tokenizer.js';
import { crashTraceback, kvCacheOomLine, readyLines, vllmPrefix } from './vllm-log.js';

/** The send times of one request's content chunks (epoch ms, `performance.timeOrigin + performance.now()`). */
export interface SimRecord {
  /** The request's X-Request-Id header when it had one, else the response id. */
  key: string;
  /** The response id (`cmpl-…` / `chatcmpl-…`). */
  id: string;
  /** When the server had read the request (epoch ms). */
  receivedMs: number;
  /** Send time of every content chunk, in order; the chat role chunk goes out with the first. */
  chunkMs: number[];
  finished: boolean;
}

/** How a sim server ended: `closed` by close()/abort, `crashed` at start, `died` by injected mid-stream death. */
export interface SimExit {
  code: number | null;
  signal: string | null;
  reason: 'closed' | 'crashed' | 'died';
}

/** A running (or crashed) simulated vLLM server. */
export interface SimServer {
  /** e.g. `http://127.0.0.1:39123`; a server that crashed at start never listened and reports the port it was given. */
  readonly url: string;
  readonly port: number;
  readonly profile: SimProfile;
  /** Resolves true once the server answers (after startup_delay_ms), false if it crashed or closed first. */
  readonly ready: Promise<boolean>;
  /** Everything the server logged so far (vLLM-like lines), one per line. */
  log(): string;
  /** Chunk send times per request (exact mode, or `record: true`). */
  records(): SimRecord[];
  clearRecords(): void;
  /** Settles when the server has stopped, for whatever reason. */
  readonly exited: Promise<SimExit>;
  /** Stops the server (in-flight streams are cut); safe to call twice. */
  close(): Promise<void>;
}

export interface SimServerOptions {
  host?: string;
  port?: number;
  signal?: AbortSignal;
  /** Receives every log line as it is written (the CLI prints them). */
  onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** The lines of a failure at start-up, or undefined when the profile starts fine. */
export function startupFailureLines(profile: SimProfile): string[] | undefined {
  if (profile.crash_at_start !== undefined) return [...crashTraceback(), profile.crash_at_start];
  const limit = profile.oom_above_max_model_len;
  if (limit !== undefined && profile.max_model_len > limit) {
    return [...crashTraceback(), `${vllmPrefix('ERROR', 'core.py:708')}${kvCacheOomLine(profile.max_model_len, limit)}`];
  }
  return undefined;
}

function initLines(profile: SimProfile): string[] {
  const src = 'api_server.py:1336';
  return [
    `${vllmPrefix('INFO', src)}vLLM API server version 0.0.0+isobench.sim`,
    `${vllmPrefix('INFO', 'core.py:75')}Initializing a V1 LLM engine (isobench sim) with config: model='${profile.model}', ` +
      `served_model_name=${servedModelName(profile)}, max_seq_len=${profile.max_model_len}, tensor_parallel_size=${profile.tensor_parallel_size}, ` +
      `enable_prefix_caching=${profile.enable_prefix_caching ? 'True' : 'False'}, max_num_seqs=${profile.max_num_seqs}, seed=${profile.seed}, noise_seed=${String(profile.noise_seed)}`,
  ];
}

const STATS_INTERVAL_MS = 10_000;
const JSON_HEADERS = { 'content-type': 'application/json' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/** Starts a simulated vLLM server; resolves once it listens (ready later), or at once with a crashed server. */
export async function startSimServer(profile: SimProfile, opts: SimServerOptions = {}): Promise<SimServer> {
  // Every start gets its own noise unless the profile fixes it (exact, identical runs); the log records the seed.
  const sim = new SimServerImpl(profile.noise_seed === undefined ? { ...profile, noise_seed: drawNoiseSeed() } : profile, opts);
  await sim.start();
  return sim;
}

class SimServerImpl implements SimServer, SchedulerHooks {
  url: string;
  port: number;
  readonly ready: Promise<boolean>;
  readonly exited: Promise<SimExit>;
  private readonly lines: string[] = [];
  private readonly recs: SimRecord[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly metrics = new SimMetrics();
  private readonly tok: SimTokenizer;
  private readonly scheduler: Scheduler;
  private readonly ctx: GenerationContext;
  private readonly failures: Prng;
  private readonly sampling: Prng;
  private readonly idBase = randomBytes(6).toString('hex');
  private readonly host: string;
  private readonly model: string;
  private http: Server | undefined;
  private isReady = false;
  private ended = false;
  private accepted = 0;
  private chunks = 0;
  private startTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private statsAt = { time: performance.now(), prompt: 0, generation: 0 };
  private settleExit!: (exit: SimExit) => void;
  private settleReady!: (ok: boolean) => void;

  constructor(
    readonly profile: SimProfile,
    private readonly opts: SimServerOptions,
  ) {
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 0;
    this.url = `http://${this.host}:${this.port}`;
    this.model = servedModelName(profile);
    this.tok = new SimTokenizer(profile.vocab_size);
    this.scheduler = profile.exact ? new ExactScheduler(profile, this) : new BatchScheduler(profile, this);
    this.failures = new Prng(profile.seed ^ 0x0fa11);
    this.sampling = new Prng(profile.seed ^ 0x5a3b1e);
    this.exited = new Promise((resolve) => (this.settleExit = resolve));
    this.ready = new Promise((resolve) => (this.settleReady = resolve));
    this.ctx = { tok: this.tok, model: this.model, onChunk: () => this.onChunk() };
  }

  log(): string {
    return this.lines.join('\n');
  }

  records(): SimRecord[] {
    return this.recs;
  }

  clearRecords(): void {
    this.recs.length = 0;
  }

  private write(line: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.lines.push(line);
    this.opts.onLog?.(line, stream);
  }

  async start(): Promise<void> {
    initLines(this.profile).forEach((l) => this.write(l));
    this.opts.signal?.addEventListener('abort', () => void this.close(), { once: true });
    const failure = startupFailureLines(this.profile);
    if (failure) {
      const crash = () => {
        failure.forEach((l) => this.write(l, 'stderr'));
        this.end({ code: 1, signal: null, reason: 'crashed' });
      };
      if (this.profile.startup_delay_ms > 0) this.startTimer = setTimeout(crash, this.profile.startup_delay_ms);
      else crash();
      return;
    }
    const http = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    this.http = http;
    http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    const bindError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      http.once('error', resolve);
      http.listen({ host: this.host, port: this.port, backlog: this.profile.listen_backlog }, () => {
        http.off('error', resolve);
        resolve(undefined);
      });
    });
    if (bindError) {
      // Like uvicorn: the server exits with errno's line instead of throwing, so callers see an exited server.
      const errno = bindError.code === 'EADDRINUSE' ? '[Errno 98]' : bindError.code === 'EACCES' ? '[Errno 13]' : `[${bindError.code ?? 'Errno'}]`;
      const what = bindError.code === 'EADDRINUSE' ? 'address already in use' : bindError.message;
      this.write(`ERROR:    ${errno} error while attempting to bind on address ('${this.host}', ${this.port}): ${what}`, 'stderr');
      this.http = undefined;
      this.end({ code: 1, signal: null, reason: 'crashed' });
      return;
    }
    const addr = http.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
    this.url = `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    const becomeReady = () => {
      this.startTimer = undefined;
      if (this.ended) return;
      const cap = kvCapacity(this.profile);
      this.write(`${vllmPrefix('INFO', 'kv_cache_utils.py:716')}GPU KV cache size: ${cap} tokens`);
      this.write(
        `${vllmPrefix('INFO', 'kv_cache_utils.py:720')}Maximum concurrency for ${this.profile.max_model_len} tokens per request: ${(cap / this.profile.max_model_len).toFixed(2)}x`,
      );
      readyLines(this.url, process.pid).forEach((l) => this.write(l));
      this.isReady = true;
      this.settleReady(true);
      this.statsTimer = setInterval(() => this.logStats(), STATS_INTERVAL_MS).unref();
    };
    if (this.profile.startup_delay_ms > 0) this.startTimer = setTimeout(becomeReady, this.profile.startup_delay_ms);
    else becomeReady();
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.write('INFO:     Shutting down');
      this.end({ code: 0, signal: null, reason: 'closed' });
    }
    await this.exited;
  }

  private end(exit: SimExit): void {
    if (this.ended) return;
    this.ended = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.scheduler.stop();
    const http = this.http;
    for (const s of this.sockets) s.destroy();
    this.settleReady(false);
    if (!http) {
      this.settleExit(exit);
      return;
    }
    http.close(() => this.settleExit(exit));
    http.closeAllConnections();
  }

  /** vLLM's periodic engine stats line, printed only when something happened since the last one. */
  private logStats(): void {
    const now = performance.now();
    const m = this.metrics;
    const prev = this.statsAt;
    const busy = this.scheduler.running + this.scheduler.waiting > 0;
    if (!busy && m.promptTokens === prev.prompt && m.generationTokens === prev.generation) return;
    const secs = (now - prev.time) / 1000;
    this.write(
      `${vllmPrefix('INFO', 'loggers.py:123')}Engine 000: Avg prompt throughput: ${((m.promptTokens - prev.prompt) / secs).toFixed(1)} tokens/s, ` +
        `Avg generation throughput: ${((m.generationTokens - prev.generation) / secs).toFixed(1)} tokens/s, Running: ${this.scheduler.running} reqs, ` +
        `Waiting: ${this.scheduler.waiting} reqs, GPU KV cache usage: ${(this.scheduler.kvUsage * 100).toFixed(1)}%, Prefix cache hit rate: 0.0%`,
    );
    this.statsAt = { time: now, prompt: m.promptTokens, generation: m.generationTokens };
  }

  /** Injected mid-stream death: every connection is cut, like a vLLM whose engine core died. */
  private die(why: string): void {
    this.write(`${vllmPrefix('ERROR', 'core_client.py:564')}Engine core proc EngineCore_0 died unexpectedly, shutting down client. (${why})`, 'stderr');
    this.end({ code: 1, signal: null, reason: 'died' });
  }

  private onChunk(): void {
    this.chunks++;
    const limit = this.profile.die_after_chunks;
    if (limit !== undefined && this.chunks >= limit) this.die(`isobench sim: die_after_chunks=${limit}`);
  }

  onAdmit(gen: Generation, now: number): void {
    this.metrics.promptTokens += gen.plan.promptIds.length;
    this.metrics.queue.observe((now - gen.arrival) / 1000);
  }

  onToken(gen: Generation, now: number): void {
    this.metrics.generationTokens++;
    if (gen.produced === 1) this.metrics.ttft.observe((now - gen.arrival) / 1000);
    else this.metrics.itl.observe((now - gen.prevTokenAt) / 1000);
  }

  onFinish(gen: Generation, now: number): void {
    this.metrics.finished[gen.plan.finishReason]++;
    this.metrics.e2e.observe((now - gen.arrival) / 1000);
    if (gen.produced > 1) this.metrics.tpot.observe((gen.lastTokenAt - gen.firstTokenAt) / 1000 / (gen.produced - 1));
    const rec = gen.record;
    if (rec) rec.finished = true;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!this.isReady) return this.sendJson(res, 503, new ApiError(503, 'the server is starting (simulated model loading)').body());
    const route = `${req.method ?? 'GET'} ${path}`;
    switch (route) {
      case 'GET /health':
      case 'GET /ping':
      case 'POST /ping':
        res.writeHead(200).end();
        return;
      case 'GET /version':
        return this.sendJson(res, 200, JSON.stringify({ version: '0.0.0+isobench.sim' }));
      case 'GET /v1/models':
        return this.sendJson(res, 200, JSON.stringify(this.modelsBody()));
      case 'GET /metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.metrics.render(this.model, { running: this.scheduler.running, waiting: this.scheduler.waiting, kvUsage: this.scheduler.kvUsage }));
        return;
      case 'GET /sim/info':
        return this.sendJson(res, 200, JSON.stringify(this.infoBody()));
      case 'GET /sim/records':
        return this.sendJson(res, 200, JSON.stringify({ records: this.recs }));
      case 'DELETE /sim/records':
        this.clearRecords();
        return this.sendJson(res, 200, '{"cleared":true}');
      case 'POST /tokenize':
      case 'POST /detokenize':
      case 'POST /v1/completions':
      case 'POST /v1/chat/completions':
      case 'POST /rerank':
      case 'POST /v1/rerank':
      case 'POST /v2/rerank':
        this.withBody(req, res, (body) => this.post(path, req, res, body));
        return;
      default:
        return this.sendJson(res, 404, '{"detail":"Not Found"}');
    }
  }

  private sendJson(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, JSON_HEADERS).end(body);
  }

  private withBody(req: IncomingMessage, res: ServerResponse, then: (body: Record<string, unknown>) => void): void {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return this.sendJson(res, 400, new ApiError(400, 'request body is not valid JSON').body());
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) return this.sendJson(res, 400, new ApiError(400, 'request body must be a JSON object').body());
      try {
        then(body as Record<string, unknown>);
      } catch (err) {
        if (err instanceof ApiError) return this.sendJson(res, err.status, err.body());
        throw err;
      }
    });
  }

  private checkModel(body: Record<string, unknown>): void {
    const model = body.model;
    if (model === undefined || model === null) return;
    const names = [this.profile.model, ...(this.profile.served_model_name ?? [])];
    if (typeof model !== 'string') throw new ApiError(400, 'model must be a string');
    if (!names.includes(model)) throw new ApiError(404, `The model \`${model}\` does not exist.`);
  }

  private post(path: string, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void {
    this.checkModel(body);
    if (path === '/tokenize') {
      const tokens = body.messages !== undefined ? chatPromptIds(this.tok, body.messages) : completionPromptIds(this.tok, body.prompt);
      return this.sendJson(res, 200, JSON.stringify({ count: tokens.length, max_model_len: this.profile.max_model_len, tokens, token_strs: null }));
    }
    if (path === '/detokenize') {
      const tokens = body.tokens;
      if (!Array.isArray(tokens)) throw new ApiError(400, 'tokens must be a list of token ids');
      const bad = this.tok.invalidId(tokens);
      if (bad !== undefined) throw new ApiError(400, `token id ${JSON.stringify(bad)} is out of vocabulary (vocab_size ${this.tok.vocabSize})`);
      return this.sendJson(res, 200, JSON.stringify({ prompt: this.tok.decode(tokens as number[]) }));
    }
    if (path.endsWith('/rerank')) return this.rerank(req, res, body);
    this.generate(path === '/v1/chat/completions', req, res, body);
  }

  /**
   * vLLM's rerank API (a cross-encoder scores each document against the query): answered after the prefill of every
   * (query, document) pair at the profile's prefill rate, each pair on its own (no batching model), with the
   * results ordered by a score drawn from the pair's tokens.
   */
  private rerank(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void {
    const { query, documents } = body;
    if (typeof query !== 'string') throw new ApiError(400, 'query must be a string');
    if (!Array.isArray(documents) || documents.length === 0 || documents.some((d) => typeof d !== 'string')) throw new ApiError(400, 'documents must be a non-empty list of strings');
    const pairs = (documents as string[]).map((doc) => this.tok.encode(`${query} ${doc}`));
    const tokens = pairs.reduce((a, p) => a + p.length, 0);
    const results = pairs
      .map((ids, index) => ({ index, document: { text: (documents as string[])[index] }, relevance_score: (ids.reduce((a, x) => (a * 31 + x) >>> 0, 7) % 1000) / 1000 }))
      .sort((a, b) => b.relevance_score - a.relevance_score);
    const header = req.headers['x-request-id'];
    const id = `rerank-${typeof header === 'string' && header !== '' ? header : this.idBase + (++this.accepted).toString(16)}`;
    const delay = (tokens / this.profile.prefill_tokens_per_s) * 1000;
    setTimeout(() => this.sendJson(res, 200, JSON.stringify({ id, model: this.model, usage: { total_tokens: tokens, prompt_tokens: tokens }, results })), delay).unref();
  }

  private generate(chat: boolean, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void {
    const p = this.profile;
    const n = ++this.accepted;
    if (p.die_after_requests !== undefined && n > p.die_after_requests) return this.die(`isobench sim: die_after_requests=${p.die_after_requests}`);
    const injected500 = (p.error_every !== undefined && n % p.error_every === 0) || (p.error_rate > 0 && this.failures.next() < p.error_rate);
    if (injected500) return this.sendJson(res, 500, new ApiError(500, 'Internal server error (injected by isobench sim)').body());
    const plan = planGeneration(body, chat, p, this.tok, () => Math.floor(this.sampling.next() * 2 ** 32));
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && header !== '' ? header : undefined;
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${requestId ?? this.idBase + n.toString(16).padStart(8, '0')}`;
    const stalls = p.stall_after_chunks !== undefined && n % p.stall_every === 0;
    const recording = p.exact || p.record;
    const gen = new Generation(id, requestId ?? id, plan, res, this.ctx, recording, stalls ? (p.stall_after_chunks ?? 0) : Infinity);
    if (gen.chunkTimes) {
      const rec: SimRecord = { key: gen.key, id, receivedMs: performance.timeOrigin + gen.arrival, chunkMs: gen.chunkTimes, finished: false };
      gen.record = rec;
      this.recs.push(rec);
    }
    const headers = plan.stream ? SSE_HEADERS : JSON_HEADERS;
    res.writeHead(200, requestId === undefined ? headers : { ...headers, 'x-request-id': requestId });
    if (plan.stream) res.flushHeaders();
    res.on('close', () => {
      if (!gen.done && !gen.aborted) {
        gen.aborted = true;
        this.metrics.finished.abort++;
      }
    });
    if (gen.stallAfter === 0) gen.stalled = true;
    else this.scheduler.add(gen);
  }

  private modelsBody(): Record<string, unknown> {
    const created = Math.floor(Date.now() / 1000);
    return {
      object: 'list',
      data: [
        {
          id: this.model,
          object: 'model',
          created,
          owned_by: 'vllm',
          root: this.profile.model,
          parent: null,
          max_model_len: this.profile.max_model_len,
          permission: [],
        },
      ],
    };
  }

  private infoBody(): Record<string, unknown> {
    return { simulator: 'isobench', tokenizer: 'isobench-sim-words', vocab_size: this.tok.vocabSize, model: this.model, profile: this.profile };
  }
}
