/**
 * vLLM's file datasets beyond sharegpt / sonnet / custom: burstgpt, spec_bench, txt-slices and timed_trace, each from a
 * local file (no network at run time), as vLLM's `vllm/benchmarks/datasets` builds them (docs/loadgen.md, Datasets).
 */
import { IsobenchError, errorMessage, usageError } from '../core/index.js';
import { Prng } from './prng.js';
import type { Tokenizer, WorkloadConfig, WorkloadRequest } from './types.js';

export type Draft = Omit<WorkloadRequest, 'index'>;

/** What the datasets share with workload.ts (passed in, so there is one copy of each). */
export interface DatasetKit {
  readFile(cfg: WorkloadConfig): string;
  oversample(drafts: Draft[], cfg: WorkloadConfig, rng: Prng, what: string): Draft[];
  samplingPool(tok: Tokenizer, signal?: AbortSignal): Promise<number[]>;
  /** custom's prompts: chat template (unless skipped), lengths counted with special tokens, oversampled. */
  customDrafts(prompts: string[], outputLen: number, cfg: WorkloadConfig, tok: Tokenizer, rng: Prng, what: string, signal?: AbortSignal): Promise<Draft[]>;
}

/** Tokenizer encode options, the signal only when there is one. */
export function encodeOpts(addSpecialTokens: boolean, signal: AbortSignal | undefined): { addSpecialTokens: boolean; signal?: AbortSignal } {
  return signal ? { addSpecialTokens, signal } : { addSpecialTokens };
}

function jsonLines(text: string, file: string | null): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new IsobenchError('E_INPUT', `--dataset-path ${file} line ${i + 1}: not JSON (${errorMessage(err)})`);
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new IsobenchError('E_INPUT', `--dataset-path ${file} line ${i + 1}: not a JSON object`);
    rows.push(row as Record<string, unknown>);
  });
  return rows;
}

/** A minimal RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * BurstGPT (a CSV of `Timestamp, Model, Request tokens, Response tokens, ...`): the GPT-4 rows with a positive response,
 * `--num-prompts` of them drawn with the seed (with replacement when the file has fewer), each a synthetic prompt of
 * `Request tokens` ids `pool[(i + j) % |pool|]` asking for `Response tokens`.
 */
export async function burstgptDataset(cfg: WorkloadConfig, tok: Tokenizer, kit: DatasetKit, signal?: AbortSignal): Promise<Draft[]> {
  const rows = parseCsv(kit.readFile(cfg));
  const header = rows.shift()?.map((h) => h.trim()) ?? [];
  const col = (name: string): number => {
    const at = header.indexOf(name);
    if (at < 0) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: BurstGPT CSV has no "${name}" column (header: ${header.join(', ')})`);
    return at;
  };
  const [model, req, res] = [col('Model'), col('Request tokens'), col('Response tokens')];
  const usable = rows
    .filter((r) => r[model] === 'GPT-4' && Number(r[res]) > 0)
    .map((r) => ({ input: Math.trunc(Number(r[req])), output: Math.trunc(Number(r[res])) }))
    .filter((r) => Number.isFinite(r.input) && r.input > 0);
  if (usable.length === 0) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: no GPT-4 row with a positive "Response tokens"`);
  const rng = new Prng(cfg.seed);
  const n = cfg.numPrompts;
  let picked: typeof usable;
  if (n <= usable.length) {
    const copy = usable.slice();
    rng.shuffle(copy);
    picked = copy.slice(0, n);
  } else picked = Array.from({ length: n }, () => usable[rng.int(0, usable.length - 1)]!);
  const pool = await kit.samplingPool(tok, signal);
  const seqs = picked.map((p, i) => Array.from({ length: p.input }, (_, j) => pool[(i + j) % pool.length]!));
  const prompts = await tok.decode(seqs, signal);
  const actual = await tok.encode(prompts, encodeOpts(true, signal));
  return prompts.map((prompt, i) => ({ prompt, promptTokens: picked[i]!.input, maxTokens: picked[i]!.output, serverPromptTokens: actual[i]!.length }));
}

/** Spec-Bench's question.jsonl: the first turn of each row (of --spec-bench-category when given), then as custom. */
export async function specBenchDataset(cfg: WorkloadConfig, tok: Tokenizer, kit: DatasetKit, signal?: AbortSignal): Promise<Draft[]> {
  const rows = jsonLines(kit.readFile(cfg), cfg.datasetPath);
  if (rows.length > 0 && !rows.some((r) => 'turns' in r)) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: spec_bench rows need a "turns" list`);
  const prompts: string[] = [];
  for (const r of rows) {
    if (cfg.specBenchCategory !== null && r.category !== cfg.specBenchCategory) continue;
    const first: unknown = Array.isArray(r.turns) ? (r.turns as unknown[])[0] : undefined;
    if (typeof first === 'string') prompts.push(first);
  }
  if (prompts.length === 0) {
    throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: no spec_bench question${cfg.specBenchCategory === null ? '' : ` in category "${cfg.specBenchCategory}"`}`);
  }
  const rng = new Prng(cfg.seed);
  if (!cfg.disableShuffle) rng.shuffle(prompts);
  return kit.customDrafts(prompts.slice(0, cfg.numPrompts), cfg.specBenchOutputLen, cfg, tok, rng, `spec_bench file ${cfg.datasetPath}`, signal);
}

/**
 * txt-slices: the whole text file tokenized (no special tokens); each prompt is --txt-slices-input-len tokens from a
 * seeded random start, wrapping around, decoded; its length is the re-encoded prompt's (special tokens included).
 */
export async function txtSlicesDataset(cfg: WorkloadConfig, tok: Tokenizer, kit: DatasetKit, signal?: AbortSignal): Promise<Draft[]> {
  const [ids] = await tok.encode([kit.readFile(cfg)], encodeOpts(false, signal));
  const all = ids!;
  if (all.length === 0) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: the text file is empty or cannot be tokenized`);
  const rng = new Prng(cfg.seed);
  const seqs = Array.from({ length: cfg.numPrompts }, () => {
    const start = rng.int(0, all.length - 1);
    return Array.from({ length: cfg.txtSlicesInputLen }, (_, j) => all[(start + j) % all.length]!);
  });
  const prompts = await tok.decode(seqs, signal);
  const lens = await tok.encode(prompts, encodeOpts(true, signal));
  return prompts.map((prompt, i) => ({ prompt, promptTokens: lens[i]!.length, maxTokens: cfg.txtSlicesOutputLen, serverPromptTokens: lens[i]!.length }));
}

/**
 * timed_trace (Mooncake's trace format, JSONL: timestamp, input_length, output_length, hash_ids): each hash id is a
 * block of --timed-trace-chunk-hash-size tokens drawn from the seed and the id alone, so requests sharing ids share a
 * prefix (a partial last block is the start of its id's block); tokens beyond the blocks are the request's own. The
 * timestamp times --timed-trace-sec-multiplier is the request's send time in seconds after the first row's, used
 * with --self-timed. The first --num-prompts rows in file order; a shorter file gives fewer requests (a trace is
 * never repeated).
 */
export async function timedTraceDataset(cfg: WorkloadConfig, tok: Tokenizer, kit: DatasetKit, signal?: AbortSignal): Promise<Draft[]> {
  const L = cfg.timedTraceLabels;
  const rows = jsonLines(kit.readFile(cfg), cfg.datasetPath).slice(0, cfg.numPrompts);
  if (rows.length === 0) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath}: the trace has no rows`);
  const chunk = cfg.timedTraceChunkHashSize;
  if (!(chunk >= 1)) throw usageError('--timed-trace-chunk-hash-size', 'must be at least 1');
  const pool = await kit.samplingPool(tok, signal);
  const blocks = new Map<number, number[]>();
  const block = (id: number): number[] => {
    let b = blocks.get(id);
    if (b === undefined) {
      const rng = new Prng((cfg.seed * 0x9e3779b1 + id * 0x85ebca6b) >>> 0);
      b = Array.from({ length: chunk }, () => pool[rng.int(0, pool.length - 1)]!);
      blocks.set(id, b);
    }
    return b;
  };
  const num = (r: Record<string, unknown>, key: string, line: number): number => {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath} row ${line}: "${key}" must be a number >= 0, got ${JSON.stringify(v)}`);
    return v;
  };
  const first = num(rows[0]!, L.timestamp, 1);
  const own = new Prng(cfg.seed ^ 0x7ace);
  const parsed = rows.map((r, k) => {
    const input = Math.trunc(num(r, L.inputLength, k + 1));
    const output = Math.trunc(num(r, L.outputLength, k + 1));
    const hashIds = Array.isArray(r[L.hashIds]) ? (r[L.hashIds] as unknown[]).filter((x): x is number => typeof x === 'number') : [];
    const ts = num(r, L.timestamp, k + 1);
    if (ts < first) throw new IsobenchError('E_INPUT', `--dataset-path ${cfg.datasetPath} row ${k + 1}: "${L.timestamp}" ${ts} is before the first row's ${first} (the trace must be in time order)`);
    const ids: number[] = [];
    for (const h of hashIds) {
      if (ids.length >= input) break;
      ids.push(...block(h).slice(0, input - ids.length));
    }
    while (ids.length < input) ids.push(pool[own.int(0, pool.length - 1)]!);
    return { ids, input, output: Math.max(output, 1), arrivalMs: (ts - first) * cfg.timedTraceSecMultiplier * 1000 };
  });
  const prompts = await tok.decode(parsed.map((p) => p.ids), signal);
  const actual = await tok.encode(prompts, encodeOpts(true, signal));
  return prompts.map((prompt, k) => ({
    prompt,
    promptTokens: parsed[k]!.input,
    maxTokens: parsed[k]!.output,
    serverPromptTokens: actual[k]!.length,
    arrivalMs: parsed[k]!.arrivalMs,
  }));
}
