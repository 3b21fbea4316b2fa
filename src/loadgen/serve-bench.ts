import { performance } from 'node:perf_hooks';
import { IsobenchError, usageError } from '../core/index.js';
import { startArrivalClock } from './arrival-clock.js';
import { planArrivals } from './arrivals.js';
import { postJsonTimed, streamCompletion, type StreamOutcome } from './client.js';
import { Http1Pool } from './http1.js';
import { Prng } from './prng.js';
import { fanOutSignal } from './signal.js';
import { requestTimes, serveBenchResult } from './measurement.js';
import type { LoadgenEvent, LoadgenSample, ServeBenchConfig, ServeBenchResult, Tokenizer, Workload, WorkloadRequest } from './types.js';

/** One finished request while the run is in progress, ms relative to the benchmark start. */
interface RequestRecord extends LoadgenSample {
  /** `usage.prompt_tokens` as the server reported it, null when it did not. */
  usagePromptTokens: number | null;
}

export interface RunOptions {
  signal?: AbortSignal;
  onEvent?: (e: LoadgenEvent) => void;
  /** Counts output tokens of responses that carried no usage; without it the content chunk count is used. */
  tokenizer?: Tokenizer;
}

/** A FIFO counting semaphore for --max-concurrency. */
class Slots {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  constructor(limit: number) {
    this.free = limit;
  }
  acquire(): Promise<void> | null {
    if (this.free > 0) {
      this.free--;
      return null;
    }
    return new Promise((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/** The JSON body of one request, as vLLM's openai / openai-chat request functions build it. */
export function requestBody(cfg: ServeBenchConfig, req: WorkloadRequest): string {
  const chat = cfg.backend === 'openai-chat';
  const body: Record<string, unknown> = { model: cfg.loraModules ? loraOf(cfg.loraModules, cfg.seed, req.index) : (cfg.servedModelName ?? cfg.model) };
  // vLLM's async_request_vllm_rerank: the query and its documents, nothing of the sampling or extra body.
  if (cfg.backend === 'vllm-rerank') return JSON.stringify({ ...body, query: req.prompt, documents: req.documents ?? [], truncate_prompt_tokens: -1 });
  if (chat) {
    // vLLM's openai-chat request: the text part first, then the multimodal items.
    body.messages = [{ role: 'user', content: req.mmContent ? [{ type: 'text', text: req.prompt }, ...req.mmContent] : req.prompt }];
    // Both bounds: vLLM reads either, OpenAI only the new one, llama.cpp and older servers only max_tokens.
    body.max_completion_tokens = req.maxTokens;
    body.max_tokens = req.maxTokens;
  } else {
    body.prompt = req.prompt;
    body.max_tokens = req.maxTokens;
  }
  body.stream = true;
  body.stream_options = { include_usage: true };
  if (cfg.ignoreEos) body.ignore_eos = true;
  const s = cfg.sampling;
  const sampling: [string, number | null][] = [
    ['temperature', s.temperature],
    ['top_p', s.topP],
    ['top_k', s.topK],
    ['min_p', s.minP],
    ['frequency_penalty', s.frequencyPenalty],
    ['presence_penalty', s.presencePenalty],
    ['repetition_penalty', s.repetitionPenalty],
  ];
  for (const [k, v] of sampling) if (v !== null) body[k] = v;
  if (cfg.extraBody) Object.assign(body, cfg.extraBody);
  return JSON.stringify(body);
}

/** The LoRA adapter request `index` asks for: a seeded uniform choice per request (vLLM: random.choice per request). */
export function loraOf(modules: readonly string[], seed: number, index: number): string {
  return modules[new Prng((seed * 0x9e3779b1 + index * 0x27d4eb2f + 0x10a) >>> 0).int(0, modules.length - 1)]!;
}

function requestHeaders(cfg: ServeBenchConfig): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (cfg.apiKey) h.authorization = `Bearer ${cfg.apiKey}`;
  return { ...h, ...cfg.headers };
}

/**
 * Runs a serving benchmark: warm-ups, then every workload request on its planned arrival time (absolute deadlines),
 * at most --max-concurrency at once. Failed requests are data; only cancellation throws (E_CANCELLED).
 */
export async function runServeBenchmark(cfg: ServeBenchConfig, workload: Workload, opts: RunOptions = {}): Promise<ServeBenchResult> {
  const { onEvent } = opts;
  const fan = fanOutSignal(opts.signal);
  const signal = fan.signal;
  const reqs = workload.requests;
  if ((cfg.backend === 'vllm-rerank') !== reqs.some((r) => r.documents !== undefined)) {
    throw usageError(cfg.backend === 'vllm-rerank' ? '--backend' : '--dataset-name', 'the vllm-rerank backend and the random-rerank dataset go together (a rerank request is a query and its documents)', 'use --backend vllm-rerank --dataset-name random-rerank --endpoint /v1/rerank');
  }
  if (cfg.backend !== 'openai-chat' && reqs.some((r) => r.mmContent !== undefined)) {
    throw usageError('--backend', `${cfg.backend} cannot send the images of a multimodal dataset: multi-modal content is only supported on openai-chat (as vLLM's client)`, 'use --backend openai-chat --endpoint /v1/chat/completions');
  }
  const { url, pool } = endpointPool(cfg);
  const send = sender(cfg, url, pool, signal);
  try {
    if (cfg.numWarmups > 0 && reqs.length > 0) {
      onEvent?.({ type: 'phase', phase: 'warmup', total: cfg.numWarmups });
      const slots = new Slots(cfg.maxConcurrency ?? Infinity);
      await Promise.all(
        Array.from({ length: cfg.numWarmups }, async (_, w) => {
          await slots.acquire();
          try {
            await send(reqs[0]!, `${cfg.requestIdPrefix}warmup-${w}`);
          } finally {
            slots.release();
          }
        }),
      );
      if (signal?.aborted) throw cancelled();
    }
    // Connections are opened before the clock, a few at a time, and kept: opened inside the timed phase, a burst of
    // them meets the server's listen backlog, and a dropped SYN costs 1 s or 3 s of TTFT that is not the server's.
    const pre = await pool.preconnect(Math.max(0, preconnectCount(cfg, reqs.length) - pool.idleCount));
    if (signal?.aborted) throw cancelled();
    onEvent?.({ type: 'phase', phase: 'measure', total: reqs.length });
    const plan = cfg.selfTimed ? selfTimedPlan(reqs) : planArrivals(reqs.length, cfg);
    const slots = new Slots(cfg.maxConcurrency ?? Infinity);
    const records = new Array<RequestRecord>(reqs.length);
    const lag = new Array<number>(reqs.length).fill(0);
    const rpsEvents: { rps: number; timestamp: string }[] = [];
    let lastIntRps = cfg.rampUp ? cfg.rampUp.startRps : -1;
    if (cfg.rampUp) rpsEvents.push({ rps: lastIntRps, timestamp: new Date().toISOString() });
    let completed = 0;
    let failed = 0;
    const one = async (req: WorkloadRequest, arrival: number): Promise<void> => {
      const wait = slots.acquire();
      if (wait) await wait;
      let outcome: StreamOutcome;
      try {
        outcome = await send(req, `${cfg.requestIdPrefix}${req.index}`);
      } finally {
        slots.release();
      }
      const rec = toRecord(req, outcome, start, arrival, cfg.vllmCompat);
      records[req.index] = rec;
      if (rec.ok) completed++;
      else {
        failed++;
        onEvent?.({ type: 'request-failed', index: req.index, error: rec.error ?? '' });
      }
      onEvent?.({ type: 'progress', completed, failed, total: reqs.length });
    };
    const inflight: Promise<void>[] = [];
    let start = performance.now();
    const arrive = (i: number): void => {
      if (signal?.aborted) return;
      const arrival = performance.now();
      lag[i] = arrival - (start + plan.offsetsMs[i]!);
      if (cfg.rampUp) {
        const intRps = Math.trunc(plan.rates[i]!);
        for (let r = lastIntRps + 1; r <= intRps; r++) rpsEvents.push({ rps: r, timestamp: new Date().toISOString() });
        lastIntRps = Math.max(lastIntRps, intRps);
      }
      inflight.push(one(reqs[i]!, arrival));
    };
    if (plan.offsetsMs.every((o) => o === 0)) {
      for (let i = 0; i < reqs.length; i++) arrive(i);
    } else {
      const clock = await startArrivalClock(plan.offsetsMs, arrive);
      start = clock.start;
      const onAbort = (): void => void clock.stop();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await clock.finished;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        await clock.stop();
      }
    }
    await Promise.all(inflight);
    if (signal?.aborted) throw cancelled();
    const durationS = (performance.now() - start) / 1000;
    const exact = await countMissingTokens(records, opts.tokenizer, signal, cfg.vllmCompat.has('output-tokens'));
    for (const rec of records) {
      const problem = rec.ok ? outputProblem(cfg, reqs[rec.index]!, rec, exact.has(rec.index)) : null;
      if (problem === null) continue;
      failRecord(rec, problem);
      onEvent?.({ type: 'request-failed', index: rec.index, error: problem });
    }
    onEvent?.({ type: 'phase', phase: 'done', total: reqs.length });
    return serveBenchResult(cfg, records.map(toSample), durationS, {
      startEpochMs: performance.timeOrigin + start,
      rpsChangeEvents: cfg.rampUp ? rpsEvents : null,
      scheduleLagMs: lag,
      connectMs: pre.connectMs,
      preconnectFailed: pre.failed,
    });
  } finally {
    fan.dispose();
    pool.close();
  }
}

/**
 * How many connections to open before the clock: as many as can be in flight at once when that is known, i.e.
 * --max-concurrency (capped at the request count), or every request when all are sent at once (--request-rate inf).
 * A finite rate without a concurrency cap opens its connections as requests arrive (an idle connection per request
 * would hold a server thread each on thread-per-connection servers such as llama-server).
 */
function preconnectCount(cfg: ServeBenchConfig, n: number): number {
  if (!cfg.preconnect) return 0;
  if (cfg.maxConcurrency !== null) return Math.min(cfg.maxConcurrency, n);
  const burst = cfg.requestRate === Infinity && cfg.rampUp === null && !cfg.selfTimed;
  return burst ? n : 0;
}

/** The arrivals of a trace's own timestamps (--self-timed): every request needs one. */
function selfTimedPlan(reqs: readonly WorkloadRequest[]): { offsetsMs: number[]; rates: number[] } {
  const missing = reqs.findIndex((r) => r.arrivalMs === undefined);
  if (missing >= 0) throw new IsobenchError('E_USAGE', `--self-timed: request ${missing} has no timestamp (only --dataset-name timed_trace carries them)`);
  return { offsetsMs: reqs.map((r) => r.arrivalMs!), rates: reqs.map(() => Infinity) };
}

/** One request of the workload, sent as the benchmark sends it: null when it succeeded, else why (the ready check). */
export async function probeRequest(cfg: ServeBenchConfig, req: WorkloadRequest, signal?: AbortSignal): Promise<string | null> {
  const { url, pool } = endpointPool(cfg);
  try {
    const o = await sender(cfg, url, pool, signal)(req, `${cfg.requestIdPrefix}ready`);
    return o.ok ? null : (o.error ?? 'failed');
  } finally {
    pool.close();
  }
}

/** The endpoint's URL (string concatenation as vLLM: a base URL with a path prefix, a proxy, keeps it) and its pool. */
function endpointPool(cfg: ServeBenchConfig): { url: URL; pool: Http1Pool } {
  const url = new URL(`${cfg.baseUrl.replace(/\/+$/, '')}${cfg.endpoint}`);
  return { url, pool: new Http1Pool(url, cfg.requestTimeoutMs, cfg.insecure ? { rejectUnauthorized: false } : {}, cfg.requestDeadlineMs) };
}

/** Sends one workload request with its x-request-id as the benchmark sends every request. */
function sender(cfg: ServeBenchConfig, url: URL, pool: Http1Pool, signal: AbortSignal | undefined): (req: WorkloadRequest, id: string) => Promise<StreamOutcome> {
  const headers = requestHeaders(cfg);
  const path = `${url.pathname}${url.search}`;
  if (cfg.backend === 'vllm-rerank') {
    return (req, id) => postJsonTimed({ pool, path, headers: { ...headers, 'x-request-id': id }, body: requestBody(cfg, req), signal }, (json) => (Array.isArray(json.results) ? null : 'the rerank answer has no results list'));
  }
  return (req, id) =>
    streamCompletion({
      pool,
      path,
      headers: { ...headers, 'x-request-id': id },
      body: requestBody(cfg, req),
      chat: cfg.backend === 'openai-chat',
      maxEventBytes: cfg.maxEventBytes,
      signal,
      anyChoiceChunk: cfg.vllmCompat.has('ttft'),
      doneOptional: cfg.vllmCompat.has('done'),
    });
}

function cancelled(): IsobenchError {
  return new IsobenchError('E_CANCELLED', 'serving benchmark cancelled');
}

/**
 * Why a streamed request that finished does not count: its output length differs from the request (exactly, with
 * ignore_eos; more than asked, without, where stopping at EOS is allowed) or the server counted another prompt than
 * the one sent (completions only: chat adds its template). A length from the content chunk count (no usage, no
 * tokenizer) is a lower bound of the tokens, so it can only show "more than asked".
 */
function outputProblem(cfg: ServeBenchConfig, req: WorkloadRequest, rec: RequestRecord, exact: boolean): string | null {
  const n = rec.outputTokens;
  // vLLM's client checks neither length (--vllm-compat output-tokens / input-tokens).
  const checkOutput = !cfg.vllmCompat.has('output-tokens');
  if (checkOutput && (exact && cfg.ignoreEos ? n !== req.maxTokens : n > req.maxTokens)) return `output length ${n}, requested ${req.maxTokens}${exact ? '' : ' (content chunks counted)'}`;
  // A rerank server counts each (query, document) pair with its own special tokens: not comparable, as vLLM does not compare.
  if (!cfg.vllmCompat.has('input-tokens') && cfg.backend !== 'openai-chat' && cfg.backend !== 'vllm-rerank' && rec.usagePromptTokens !== null && rec.usagePromptTokens !== req.serverPromptTokens) {
    return `input length ${rec.usagePromptTokens} (usage.prompt_tokens), sent ${req.serverPromptTokens}: the server tokenizes the prompt differently`;
  }
  return null;
}

function failRecord(rec: RequestRecord, error: string): void {
  rec.ok = false;
  rec.error = error;
  rec.itlMs = [];
  rec.outputTokens = 0;
}

function toRecord(req: WorkloadRequest, o: StreamOutcome, start: number, arrival: number, compat: ServeBenchConfig['vllmCompat']): RequestRecord {
  return {
    index: req.index,
    ok: o.ok,
    // vLLM's current client counts the input tokens the server reports (--vllm-compat input-tokens).
    promptTokens: compat.has('input-tokens') ? (o.usagePromptTokens ?? req.promptTokens) : req.promptTokens,
    startMs: o.startT - start,
    queueMs: o.startT - arrival,
    ...requestTimes(o),
    // -1 marks "no usage": filled by the tokenizer or the chunk count before metrics are computed. vLLM also
    // recounts a usage of 0 (`if not output_len`).
    outputTokens: o.ok ? (o.usageTokens === null || (o.usageTokens === 0 && compat.has('output-tokens')) ? -1 : o.usageTokens) : 0,
    usagePromptTokens: o.usagePromptTokens,
    text: o.text,
    error: o.error,
  };
}

/** Fills the output length of responses without usage; returns the indexes whose count is only the chunk count. */
async function countMissingTokens(records: RequestRecord[], tokenizer: Tokenizer | undefined, signal: AbortSignal | undefined, vllmCount: boolean): Promise<Set<number>> {
  const missing = records.filter((r) => r.outputTokens === -1);
  const exact = new Set(records.filter((r) => r.outputTokens !== -1).map((r) => r.index));
  if (missing.length === 0) return exact;
  if (tokenizer) {
    const ids = await tokenizer.encode(missing.map((r) => r.text), { addSpecialTokens: false, ...(signal ? { signal } : {}) });
    missing.forEach((r, k) => {
      r.outputTokens = ids[k]!.length;
      exact.add(r.index);
    });
  } else {
    // vLLM without a tokenizer (--skip-tokenizer-init) counts 1; isobench the content chunks (a lower bound).
    for (const r of missing) r.outputTokens = vllmCount ? 1 : r.itlMs.length + 1;
  }
  return exact;
}

/** The sample of a finished record: no times for a failed request. */
function toSample(r: RequestRecord): LoadgenSample {
  return {
    index: r.index,
    ok: r.ok,
    startMs: r.startMs,
    ttftMs: r.ok ? r.ttftMs : null,
    e2elMs: r.ok ? r.e2elMs : null,
    itlMs: r.itlMs,
    promptTokens: r.promptTokens,
    outputTokens: r.outputTokens,
    error: r.error,
    queueMs: r.queueMs,
    text: r.text,
  };
}
