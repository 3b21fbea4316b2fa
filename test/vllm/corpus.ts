import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MetricSet } from '../../src/core/index.js';

/** The real corpus beside the repository (CI clones the repo with ../shared next to it). */
export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const corpusRoot = path.resolve(repoRoot, '../shared/corpus/iso-bench');
export const ccRoot = path.join(corpusRoot, 'archive/results/2026-01/omniperf_results_3way_claude_code');

/** One raw benchmark output of the corpus with what the original pipeline recorded beside it. */
export interface RawRecord {
  /** `<file relative to CC/>#<json pointer>` */
  where: string;
  text: string;
  status: string | undefined;
  error: string | undefined;
  /** The original's metrics, renamed to canonical keys and converted to canonical units. */
  recorded: MetricSet;
  /** Keys of the original that no canonical key matches (e.g. `throughput_tok_s`, whose meaning varies). */
  ambiguous: Record<string, number>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every .json/.jsonl file under CC/, parsed; files that are not valid JSON are returned apart. */
export function corpusDocuments(): { docs: { file: string; data: unknown }[]; invalid: string[] } {
  const docs: { file: string; data: unknown }[] = [];
  const invalid: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.json') || entry.name.endsWith('.jsonl')) {
        const file = path.relative(ccRoot, full);
        const text = readFileSync(full, 'utf8');
        try {
          if (entry.name.endsWith('.jsonl')) {
            text.split('\n').forEach((line, i) => line.trim() && docs.push({ file: `${file}:${i + 1}`, data: JSON.parse(line) as unknown }));
          } else docs.push({ file, data: JSON.parse(text) as unknown });
        } catch {
          invalid.push(file);
        }
      }
    }
  };
  walk(ccRoot);
  return { docs, invalid };
}

/** Every raw output (raw_output, logs, <role>_raw) in the corpus, with the recorded metrics beside it. */
export function rawRecords(): RawRecord[] {
  const out: RawRecord[] = [];
  for (const { file, data } of corpusDocuments().docs) collect(data, `${file}#`, out);
  return out;
}

function collect(value: unknown, pointer: string, out: RawRecord[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collect(v, `${pointer}/${i}`, out));
    return;
  }
  if (!isObj(value)) return;
  for (const key of ['raw_output', 'logs']) {
    const text = value[key];
    if (typeof text === 'string' && text.trim() !== '') {
      const metrics = isObj(value.metrics) ? value.metrics : value;
      out.push(record(`${pointer}/${key}`, text, value.status, value.error, metrics));
    }
  }
  for (const role of ['baseline', 'human', 'agent']) {
    const text = value[`${role}_raw`];
    if (typeof text === 'string' && text.trim() !== '') {
      const metrics = value[`${role}_metrics`];
      const error = role === 'agent' ? value.agent_error : undefined;
      out.push(record(`${pointer}/${role}_raw`, text, value.status, error, isObj(metrics) ? metrics : flatRoleMetrics(value, role)));
    }
  }
  for (const [k, v] of Object.entries(value)) if (typeof v === 'object' && v !== null) collect(v, `${pointer}/${k}`, out);
}

/** Dataset-layout rows keep metrics as flat `<role>_<metric>` columns instead of a `<role>_metrics` object. */
function flatRoleMetrics(row: Obj, role: string): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith(`${role}_`) && !k.includes('improvement') && !k.includes('_vs_')) out[k.slice(role.length + 1)] = v;
  }
  return out;
}

function record(where: string, text: string, status: unknown, error: unknown, metrics: Obj): RawRecord {
  const { recorded, ambiguous } = canonicalRecorded(metrics);
  return { where, text, status: typeof status === 'string' ? status : undefined, error: typeof error === 'string' ? error : undefined, recorded, ambiguous };
}

/** The original's key spellings → canonical key and the factor to canonical units. */
const RENAMES: Record<string, [string, number]> = {
  request_throughput_req_s: ['request_throughput', 1],
  throughput_req_s: ['request_throughput', 1],
  request_throughput: ['request_throughput', 1],
  output_token_throughput_tok_s: ['output_throughput', 1],
  output_throughput_tok_s: ['output_throughput', 1],
  output_throughput: ['output_throughput', 1],
  total_token_throughput_tok_s: ['total_token_throughput', 1],
  total_token_throughput: ['total_token_throughput', 1],
  input_throughput: ['input_throughput', 1],
  input_throughput_tok_s: ['input_throughput', 1],
  elapsed_time_s: ['generate_time', 1000],
  latency_avg_ms: ['latency_avg', 1],
  latency_avg: ['latency_avg', 1],
  avg_latency_s: ['latency_avg', 1000],
  p50_latency_s: ['latency_p50', 1000],
  p99_latency_s: ['latency_p99', 1000],
  warmup_time_s: ['warmup_time', 1000],
  generate_time_s: ['generate_time', 1000],
  successful_requests: ['completed', 1],
  total_input_tokens: ['total_input_tokens', 1],
  total_output_tokens: ['total_output_tokens', 1],
  benchmark_duration_s: ['duration', 1],
};

/** Maps one recorded metrics object to canonical keys; unknown numeric keys go to `ambiguous`. */
export function canonicalRecorded(metrics: Obj): { recorded: MetricSet; ambiguous: Record<string, number> } {
  const recorded: MetricSet = {};
  const ambiguous: Record<string, number> = {};
  for (const [key, v] of Object.entries(metrics)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const stat = /^(?:(mean|median|std|p\d+)_(ttft|tpot|itl|e2el)|(ttft|tpot|itl|e2el)_(mean|median|std|p\d+))(?:_ms)?$/.exec(key);
    if (stat) {
      recorded[`${stat[2] ?? stat[3] ?? ''}_${stat[1] ?? stat[4] ?? ''}`] = v;
      continue;
    }
    const rename = RENAMES[key];
    if (rename) recorded[rename[0]] = v * rename[1];
    else if (!/duration_s|num_prompts|timestamp/.test(key)) ambiguous[key] = v;
  }
  return { recorded, ambiguous };
}

/** A failed run of the corpus: what the original recorded (status, error) and the logs beside it. */
export interface FailedRun {
  where: string;
  status: string;
  input: { error?: string; server?: string };
}

const OK_STATUSES = new Set(['success', 'ok', 'completed']);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/** Every failed run in the corpus's JSON: records whose status is not a success, and agent runs with an agent_error. */
export function failedRuns(): FailedRun[] {
  const out: FailedRun[] = [];
  for (const { file, data } of corpusDocuments().docs) collectFailures(data, `${file}#`, out);
  return out;
}

function roleLog(value: Obj, error: string | undefined): string | undefined {
  const role = /agent/i.test(error ?? '') ? 'agent' : /human/i.test(error ?? '') ? 'human' : 'baseline';
  return str(value.raw_output) ?? str(value.logs) ?? str(value[`${role}_raw`]);
}

function collectFailures(value: unknown, pointer: string, out: FailedRun[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectFailures(v, `${pointer}/${i}`, out));
    return;
  }
  if (!isObj(value)) return;
  const status = str(value.status);
  if (status !== undefined && !OK_STATUSES.has(status)) {
    // With no message and no log, the status label is the only evidence the original left.
    const error = str(value.error) ?? str(value.error_message) ?? str(value.skip_reason) ?? `status: ${status}`;
    const server = roleLog(value, error);
    out.push({ where: pointer, status, input: { ...(error === undefined ? {} : { error }), ...(server === undefined ? {} : { server }) } });
  }
  const agentError = str(value.agent_error);
  if (agentError !== undefined) {
    const server = str(value.agent_raw);
    out.push({ where: `${pointer}/agent`, status: 'agent_error', input: { error: agentError, ...(server === undefined ? {} : { server }) } });
  }
  for (const [k, v] of Object.entries(value)) if (typeof v === 'object' && v !== null) collectFailures(v, `${pointer}/${k}`, out);
}
