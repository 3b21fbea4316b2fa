import type { ServerResponse } from 'node:http';
import { hashIds, nextState, unitFromState } from './prng.js';
import type { SimProfile } from './profile.js';
import type { SimTokenizer } from './tokenizer.js';

/** A request the API refuses, with vLLM's error type and HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError',
  ) {
    super(message);
  }
  /** The JSON body vLLM answers errors with. */
  body(): string {
    return JSON.stringify({ object: 'error', message: this.message, type: this.type, param: null, code: this.status });
  }
}

/** What a generation request asks for, after validation. */
export interface GenerationPlan {
  chat: boolean;
  stream: boolean;
  includeUsage: boolean;
  promptIds: number[];
  /** Output tokens the request will produce. */
  target: number;
  finishReason: 'stop' | 'length';
  /** Initial sampling state: a function of the prompt when greedy. */
  rngState: number;
}

type Body = Record<string, unknown>;

const SALT_WRONG_OUTPUT = 0x5bd1e995;

function optInt(body: Body, key: string, min: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ApiError(400, `${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part: unknown) => (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : '')).join(' ');
  }
  return '';
}

/** Prompt tokens of one image: one per 28x28 patch (a Qwen2-VL-like vision encoder). */
export const SIM_IMAGE_PATCH = 28;

/** Width and height of a PNG or JPEG, or null when the bytes are neither. */
export function imageSize(bytes: Buffer): { width: number; height: number } | null {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR') return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  // JPEG: walk the segments to the first start-of-frame marker (SOF0..SOF15 but DHT, JPG, DAC).
  for (let i = 2; i + 9 < bytes.length; ) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1] ?? 0;
    const len = bytes.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return null;
}

/** How many prompt tokens an `image_url` content part costs; a part the server could not load is a 400 as vLLM's. */
function imageTokens(part: Body): number {
  const url = (part.image_url as Body | undefined)?.url;
  if (typeof url !== 'string') throw new ApiError(400, 'image_url.url must be a string');
  const m = /^data:image\/(png|jpeg|jpg);base64,(.*)$/s.exec(url);
  if (!m) throw new ApiError(400, `the sim loads base64 data URLs of PNG or JPEG images only (no network), got ${url.slice(0, 40)}...`);
  const size = imageSize(Buffer.from(m[2] ?? '', 'base64'));
  if (!size || size.width < 1 || size.height < 1) throw new ApiError(400, 'cannot identify image file: the data URL is not a PNG or JPEG');
  return Math.ceil(size.width / SIM_IMAGE_PATCH) * Math.ceil(size.height / SIM_IMAGE_PATCH);
}

/**
 * Prompt token ids of a chat request: each message is its role word followed by its content (a minimal template);
 * an `image_url` part adds one placeholder token per 28x28 patch of the image, as a vision encoder's tokens.
 */
export function chatPromptIds(tok: SimTokenizer, messages: unknown): number[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new ApiError(400, 'messages must be a non-empty list');
  const ids: number[] = [];
  const imageId = tok.encode('image')[0] ?? 0;
  for (const m of messages as unknown[]) {
    if (!m || typeof m !== 'object') throw new ApiError(400, 'each message must be an object with role and content');
    const msg = m as Body;
    const text = `${typeof msg.role === 'string' ? msg.role : 'user'} ${messageText(msg.content)}`;
    for (const id of tok.encode(text)) ids.push(id);
    if (!Array.isArray(msg.content)) continue;
    for (const part of msg.content as unknown[]) {
      if (!part || typeof part !== 'object') throw new ApiError(400, 'each content part must be an object');
      const type = (part as Body).type;
      if (type === 'image_url') for (let k = imageTokens(part as Body); k > 0; k--) ids.push(imageId);
      else if (type !== 'text') throw new ApiError(400, `content part type ${JSON.stringify(type)} is not supported by the sim (text, image_url)`);
    }
  }
  return ids;
}

/** Prompt token ids of a completion request: a string, or a list of token ids. */
export function completionPromptIds(tok: SimTokenizer, prompt: unknown): number[] {
  if (typeof prompt === 'string') return tok.encode(prompt);
  if (Array.isArray(prompt) && prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0]))) {
    return completionPromptIds(tok, prompt[0]);
  }
  if (Array.isArray(prompt) && prompt.every((x) => typeof x === 'number')) {
    const bad = tok.invalidId(prompt);
    if (bad !== undefined) throw new ApiError(400, `token id ${JSON.stringify(bad)} is out of vocabulary (vocab_size ${tok.vocabSize})`);
    return prompt;
  }
  throw new ApiError(400, 'prompt must be a string or a list of token ids (the sim serves one prompt per request)');
}

/** Validates a /v1/completions or /v1/chat/completions body against the profile and plans its output. */
export function planGeneration(body: Body, chat: boolean, profile: SimProfile, tok: SimTokenizer, nextSeed: () => number): GenerationPlan {
  const promptIds = chat ? chatPromptIds(tok, body.messages) : completionPromptIds(tok, body.prompt);
  if ((optInt(body, 'n', 1) ?? 1) !== 1) throw new ApiError(400, 'the sim supports n = 1 only');
  const room = profile.max_model_len - promptIds.length;
  const asked = optInt(body, chat && body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens', 1);
  const maxTokens = asked ?? (chat ? room : 16);
  if (promptIds.length + maxTokens > profile.max_model_len || room < 1) {
    throw new ApiError(
      400,
      `This model's maximum context length is ${profile.max_model_len} tokens. However, you requested ${promptIds.length + maxTokens} tokens ` +
        `(${promptIds.length} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
    );
  }
  const minTokens = optInt(body, 'min_tokens', 0) ?? 0;
  const temperature = body.temperature ?? 1;
  if (typeof temperature !== 'number' || temperature < 0) throw new ApiError(400, 'temperature must be a number >= 0');
  const greedy = temperature === 0;
  const promptHash = hashIds(promptIds, profile.wrong_output ? SALT_WRONG_OUTPUT : 0);
  const seed = optInt(body, 'seed', -(2 ** 53));
  const rngState = greedy ? promptHash : seed !== undefined ? hashIds([seed, promptHash]) : nextSeed();
  // The EOS point depends on the prompt only, so every variant stops a prompt at the same length.
  const span = profile.eos_max_tokens - profile.eos_min_tokens + 1;
  const eosAt = Math.max(minTokens, profile.eos_min_tokens + (hashIds(promptIds, 0x45) % span));
  const ignoreEos = body.ignore_eos === true;
  const stops = !ignoreEos && eosAt <= maxTokens;
  const streamOptions = body.stream_options as Body | undefined;
  return {
    chat,
    stream: body.stream === true,
    includeUsage: streamOptions?.include_usage === true,
    promptIds,
    target: stops ? eosAt : maxTokens,
    finishReason: stops ? 'stop' : 'length',
    rngState,
  };
}

/** What a Generation needs from its server: the tokenizer, the reported model, and chunk accounting hooks. */
export interface GenerationContext {
  tok: SimTokenizer;
  model: string;
  /** Called after every content chunk written (failure injection counts them). */
  onChunk(): void;
}

const COMPLETION_MID = ',"logprobs":null,"finish_reason":null,"stop_reason":null}]}\n\n';
const CHAT_MID = '},"logprobs":null,"finish_reason":null}]}\n\n';

/**
 * One request being generated. Streaming chunks are written as strings built from per-request prefixes and the
 * vocabulary's pre-escaped token texts, so a chunk costs one concatenation and one write.
 */
export class Generation {
  readonly arrival = performance.now();
  produced = 0;
  done = false;
  aborted = false;
  stalled = false;
  firstTokenAt = 0;
  lastTokenAt = 0;
  prevTokenAt = 0;
  admittedAt = 0;
  /** The server's record of this request's chunk times, when recording. */
  record: { finished: boolean } | undefined;
  /** Exact mode: when the next chunk is due (performance.now() ms). */
  due = 0;
  /** Wall-clock send time (epoch ms) of every content chunk, when recording. */
  readonly chunkTimes: number[] | undefined;
  readonly kvNeed: number;
  private state: number;
  private readonly prefix: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly ids: number[] | undefined;

  constructor(
    readonly id: string,
    /** The X-Request-Id header when given, else `id`: the key of the chunk record. */
    readonly key: string,
    readonly plan: GenerationPlan,
    readonly res: ServerResponse,
    private readonly ctx: GenerationContext,
    record: boolean,
    /** Stop sending after this many content chunks (an injected stall). */
    readonly stallAfter: number,
  ) {
    this.state = plan.rngState;
    this.kvNeed = plan.promptIds.length + plan.target;
    this.chunkTimes = record ? [] : undefined;
    this.ids = plan.stream ? undefined : [];
    const object = plan.chat ? 'chat.completion.chunk' : 'text_completion';
    this.prefix = `data: {"id":${JSON.stringify(id)},"object":"${object}","created":${this.created},"model":${JSON.stringify(ctx.model)},"choices":[{"index":0,`;
  }

  /** The id of the next output token (greedy: a function of the prompt only). */
  private nextToken(): number {
    this.state = nextState(this.state);
    return Math.floor(unitFromState(this.state) * this.ctx.tok.vocabSize);
  }

  /** Produces one token (writing its chunk when streaming); returns true when the request is finished. */
  emit(now: number): boolean {
    if (this.produced === 0) this.firstTokenAt = now;
    this.prevTokenAt = this.lastTokenAt;
    this.lastTokenAt = now;
    const token = this.nextToken();
    this.produced++;
    const last = this.produced >= this.plan.target;
    if (this.ids) this.ids.push(token);
    else this.writeChunk(token, last);
    if (this.chunkTimes) this.chunkTimes.push(performance.timeOrigin + performance.now());
    this.ctx.onChunk();
    if (last) this.finish();
    else if (this.produced === this.stallAfter) this.stalled = true;
    return last;
  }

  private writeChunk(token: number, last: boolean): void {
    const text = this.ctx.tok.jsonTexts[token] ?? '""';
    const end = last ? this.finalSuffix() : this.plan.chat ? CHAT_MID : COMPLETION_MID;
    const body = this.plan.chat ? `${this.prefix}"delta":{"content":${text}${end}` : `${this.prefix}"text":${text}${end}`;
    if (this.produced === 1 && this.plan.chat) {
      this.send(`${this.prefix}"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n${body}`);
    } else if (last) this.res.end(body);
    else this.send(body);
    if (last && this.produced === 1 && this.plan.chat) this.res.end();
  }

  /**
   * Writes a chunk to the socket now. ServerResponse.write corks the socket until the next tick, so without this a
   * step's chunks would all leave after the step's loop, later than their recorded send times.
   */
  private send(data: string): void {
    const sock = this.res.socket;
    sock?.cork();
    this.res.write(data);
    sock?.uncork();
  }

  private finalSuffix(): string {
    const fr = `"finish_reason":"${this.plan.finishReason}","stop_reason":null}]}\n\n`;
    const choiceEnd = this.plan.chat ? `},"logprobs":null,${fr}` : `,"logprobs":null,${fr}`;
    const usage = this.plan.includeUsage ? `${this.prefix.slice(0, this.prefix.length - 12)}[],"usage":${this.usageJson()}}\n\n` : '';
    return `${choiceEnd}${usage}data: [DONE]\n\n`;
  }

  private usageJson(): string {
    const p = this.plan.promptIds.length;
    return `{"prompt_tokens":${p},"total_tokens":${p + this.produced},"completion_tokens":${this.produced}}`;
  }

  private finish(): void {
    this.done = true;
    if (this.ids) this.res.end(JSON.stringify(this.responseBody()));
  }

  /** The non-streaming response (vLLM's completion / chat.completion objects). */
  private responseBody(): Record<string, unknown> {
    const text = this.ctx.tok.decode(this.ids ?? []);
    const p = this.plan.promptIds.length;
    const usage = { prompt_tokens: p, total_tokens: p + this.produced, completion_tokens: this.produced, prompt_tokens_details: null };
    if (this.plan.chat) {
      return {
        id: this.id,
        object: 'chat.completion',
        created: this.created,
        model: this.ctx.model,
        choices: [{ index: 0, message: { role: 'assistant', reasoning_content: null, content: text, tool_calls: [] }, logprobs: null, finish_reason: this.plan.finishReason, stop_reason: null }],
        usage,
        prompt_logprobs: null,
      };
    }
    return {
      id: this.id,
      object: 'text_completion',
      created: this.created,
      model: this.ctx.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: this.plan.finishReason, stop_reason: null, prompt_logprobs: null }],
      usage,
    };
  }
}
