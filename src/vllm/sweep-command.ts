/**
 * Perf commands that ask for a load sweep, expanded into one single-point command per point (docs/run.md, Sweeps):
 * - vLLM's `vllm bench sweep serve --serve-cmd '...' --bench-cmd '...' [--serve-params F] [--bench-params F]`: the
 *   Cartesian product of the serve and bench parameter records (JSON list of objects, or an object of named ones),
 *   each record applied to its command as vLLM's ParameterSweepItem does (`max_concurrency: 16` → `--max-concurrency
 *   16`, replacing the flag where the command has it; `true` → `--flag`, `false` → `--no-flag`), filtered by
 *   `--link-vars`;
 * - a serving command that lists several `--request-rate` / `--max-concurrency` values (`--request-rate 1 2 4` or
 *   `--request-rate 1,2,4`): their product, concurrency outer.
 * Anything else of a sweep that cannot be honoured is a refusal with its reason, never a single point.
 */
import { parsePerfCommand } from './perf-command.js';
import { shellQuote, splitShellWords } from './shell-words.js';

export type SweepValue = string | number | boolean;

/** One point of a sweep: its own perf command(s) and what it changed. */
export interface SweepCommandPoint {
  /** `max_concurrency=16, request_rate=4` (vLLM's ParameterSweepItem.as_text, serve parameters first). */
  label: string;
  /** The parameters of this point (serve and bench records merged, or the listed load flags). */
  params: Record<string, SweepValue>;
  /** The single-point serving command (`vllm bench serve ...` with the point's values). */
  bench: string;
  /** `vllm bench sweep serve`: the server command with the point's serve parameters; null for a load-list command. */
  serve: string | null;
}

export type SweepExpansion =
  | { status: 'sweep'; form: 'vllm_bench_sweep' | 'load_list'; points: SweepCommandPoint[]; notes: string[] }
  /** The command asks for a sweep isobench cannot run as asked (`code` is the failure to record). */
  | { status: 'refused'; code: 'unsupported_flag' | 'unsupported_mode' | 'task_invalid' | 'dataset_missing'; reason: string }
  | { status: 'single' };

/** Reads a `--serve-params` / `--bench-params` file: its text, or where it was looked for. */
export type ParamsReader = (path: string) => { text: string; file: string } | { looked: string[] };

/** The load flags a serving command may list several values of. */
const LIST_FLAGS = ['--request-rate', '--max-concurrency'] as const;
const LIST_VALUE = /^(?:inf|\d+(?:\.\d+)?|\.\d+)$/i;

/** vLLM's `vllm bench sweep` subcommands isobench does not run, and why. */
const OTHER_SWEEPS: Record<string, string> = {
  serve_sla: 'vllm bench sweep serve_sla searches the load that meets --sla-params from measured results: its points depend on what each variant measured, so the variants would not run the same points',
  serve_workload: 'vllm bench sweep serve_workload is not supported: give the points as --bench-params of vllm bench sweep serve',
  startup: 'vllm bench sweep startup measures server start-up, not serving',
  plot: 'vllm bench sweep plot draws earlier results: it runs no benchmark',
  plot_pareto: 'vllm bench sweep plot_pareto draws earlier results: it runs no benchmark',
  tune_speculative_k: 'vllm bench sweep tune_speculative_k is not supported',
};

/** `vllm bench sweep serve` options: what isobench does with each (see docs/run.md). */
const SWEEP_OPTIONS: Record<string, { value: boolean; use: 'read' | 'ignored' | 'refused'; why?: string }> = {
  '--serve-cmd': { value: true, use: 'read' },
  '--bench-cmd': { value: true, use: 'read' },
  '--serve-params': { value: true, use: 'read' },
  '--bench-params': { value: true, use: 'read' },
  '--link-vars': { value: true, use: 'read' },
  '--warmup-num-prompts': { value: true, use: 'read' },
  '--num-runs': { value: true, use: 'ignored', why: "isobench's --trials rounds repeat every point" },
  '--output-dir': { value: true, use: 'ignored', why: 'results go to the store' },
  '-o': { value: true, use: 'ignored', why: 'results go to the store' },
  '--experiment-name': { value: true, use: 'ignored', why: 'results go to the store' },
  '--show-stdout': { value: false, use: 'ignored', why: 'output only' },
  '--resume': { value: false, use: 'ignored', why: 'isobench resumes from the store' },
  '--continue-on-error': { value: false, use: 'ignored', why: 'a failed point is a recorded failure; the others still run' },
  '--server-ready-timeout': { value: true, use: 'ignored', why: "run's --timeout-startup decides" },
  '--dry-run': { value: false, use: 'refused', why: 'it only prints the commands: there is nothing to measure' },
  '--after-bench-cmd': { value: true, use: 'refused', why: 'isobench starts a fresh server for every point of every trial and runs no command of the task between benchmarks' },
};

/** `sweep point 2/3: max_concurrency=16` (ends every stored command of the point's trials; the dataset reads it back). */
export function sweepPointText(p: { index: number; count: number; label: string }): string {
  return `sweep point ${p.index}/${p.count}: ${p.label}`;
}

/** The label of the sweep point a stored command ends with (see sweepPointText), or null. */
export function sweepPointOfCommand(command: string | null): string | null {
  const m = command === null ? null : /; sweep point (\d+\/\d+): ([^\n]*)$/.exec(command);
  return m ? `${m[1] ?? ''}: ${m[2] ?? ''}` : null;
}

/** Whether the command asks for a sweep, and its points. Never throws. */
export function expandSweep(command: string, readParams: ParamsReader): SweepExpansion {
  const split = splitShellWords(command);
  if (split.status === 'error') return { status: 'single' };
  const words = split.words;
  let i = 0;
  if (words[i] === 'env') i++;
  while (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? '')) i++;
  const env = words.slice(0, i);
  if (words[i] === 'vllm' && words[i + 1] === 'bench' && words[i + 2] === 'sweep') return vllmSweep(words.slice(i + 3), env, readParams, split.rest);
  return loadList(words, command);
}

function refused(code: Extract<SweepExpansion, { status: 'refused' }>['code'], reason: string): SweepExpansion {
  return { status: 'refused', code, reason };
}

function vllmSweep(args: string[], env: string[], readParams: ParamsReader, rest: string | undefined): SweepExpansion {
  const sub = args[0] ?? '';
  if (sub !== 'serve') return refused('unsupported_mode', OTHER_SWEEPS[sub] ?? `vllm bench sweep ${sub || '(missing)'} is not a sweep isobench runs (vllm bench sweep serve)`);
  const opts = new Map<string, string | true>();
  const notes: string[] = [];
  if (rest !== undefined) notes.push(`ignored everything after a shell operator: ${rest}`);
  for (let k = 1; k < args.length; k++) {
    const token = args[k] ?? '';
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const flag = (eq > 0 ? token.slice(0, eq) : token).replace(/_/g, '-');
    const opt = SWEEP_OPTIONS[flag];
    if (!opt) return refused('unsupported_flag', `${token}: not an option of vllm bench sweep serve isobench knows`);
    let value: string | true = true;
    if (opt.value) {
      const v = eq > 0 ? token.slice(eq + 1) : args[++k];
      if (v === undefined) return refused('task_invalid', `${flag} needs a value`);
      value = v;
    }
    if (opt.use === 'refused') return refused('unsupported_flag', `${flag}: ${opt.why ?? 'not supported'}`);
    if (opt.use === 'ignored') notes.push(`${flag === '-o' ? '--output-dir' : flag} not used: ${opt.why ?? ''}`);
    opts.set(flag === '-o' ? '--output-dir' : flag, value);
  }
  const serveCmd = opts.get('--serve-cmd');
  const benchCmd = opts.get('--bench-cmd');
  if (typeof serveCmd !== 'string' || typeof benchCmd !== 'string') return refused('task_invalid', 'vllm bench sweep serve needs --serve-cmd and --bench-cmd');
  const serveWords = splitShellWords(serveCmd);
  const benchWords = splitShellWords(benchCmd);
  if (serveWords.status === 'error') return refused('task_invalid', `--serve-cmd: ${serveWords.message}`);
  if (benchWords.status === 'error') return refused('task_invalid', `--bench-cmd: ${benchWords.message}`);
  const params = (flag: '--serve-params' | '--bench-params'): Record<string, SweepValue>[] | SweepExpansion => {
    const path = opts.get(flag);
    if (typeof path !== 'string') return [{}];
    const read = readParams(path);
    if ('looked' in read) return refused('dataset_missing', `${flag} ${path} not found${read.looked.length > 0 ? ` at ${read.looked.join(', ')}` : ''}: pass --dataset-dir with the file`);
    const parsed = parseParams(read.text, `${flag} ${read.file}`);
    return typeof parsed === 'string' ? refused('task_invalid', parsed) : parsed;
  };
  const serveParams = params('--serve-params');
  if (!Array.isArray(serveParams)) return serveParams;
  const benchParams = params('--bench-params');
  if (!Array.isArray(benchParams)) return benchParams;
  const links = parseLinkVars(typeof opts.get('--link-vars') === 'string' ? String(opts.get('--link-vars')) : '');
  if (typeof links === 'string') return refused('task_invalid', links);
  const warmup = opts.get('--warmup-num-prompts');
  const points: SweepCommandPoint[] = [];
  for (const s of serveParams) {
    for (const b of benchParams) {
      if (!links.every(([sk, bk]) => sk in s && bk in b && s[sk] === b[bk])) continue;
      const bench = applyParams(benchWords.words, b);
      if (typeof warmup === 'string' && !bench.includes('--num-warmups')) bench.push('--num-warmups', warmup);
      const merged = { ...strip(s), ...strip(b) };
      points.push({ label: asText(merged), params: merged, bench: joinWords([...env, ...bench]), serve: joinWords([...env, ...applyParams(serveWords.words, s)]) });
    }
  }
  if (typeof warmup === 'string') notes.push(`--warmup-num-prompts ${warmup}: that many warm-up requests before each point's measured run (--num-warmups)`);
  return finish({ status: 'sweep', form: 'vllm_bench_sweep', points, notes });
}

/** Refuses a sweep without points or with two identical points (they would be one configuration). */
function finish(s: Extract<SweepExpansion, { status: 'sweep' }>): SweepExpansion {
  if (s.points.length === 0) return refused('task_invalid', 'the sweep has no point (empty parameter file, or --link-vars matched no combination)');
  const seen = new Map<string, number>();
  for (const [k, p] of s.points.entries()) {
    const key = `${p.serve ?? ''}\u0000${p.bench}`;
    const first = seen.get(key);
    if (first !== undefined) return refused('task_invalid', `sweep points ${first + 1} (${s.points[first]?.label ?? ''}) and ${k + 1} (${p.label}) run the same command`);
    seen.set(key, k);
  }
  return s;
}

function strip(rec: Record<string, SweepValue>): Record<string, SweepValue> {
  const out = { ...rec };
  delete out._benchmark_name;
  return out;
}

/** vLLM's as_text: `k=v` joined by `, ` (the record's name aside). */
function asText(rec: Record<string, SweepValue>): string {
  const text = Object.entries(rec).map(([k, v]) => `${k}=${String(v)}`).join(', ');
  return text === '' ? 'default' : text;
}

function parseParams(text: string, what: string): Record<string, SweepValue>[] | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return `${what}: not JSON (${(err as Error).message})`;
  }
  const records: unknown[] = Array.isArray(data)
    ? data
    : data !== null && typeof data === 'object'
      ? Object.entries(data as Record<string, unknown>).map(([name, p]) => (p !== null && typeof p === 'object' && !Array.isArray(p) ? { _benchmark_name: name, ...(p) } : p))
      : [];
  if (!Array.isArray(data) && (data === null || typeof data !== 'object')) return `${what}: expected a list of objects or an object of named ones`;
  const out: Record<string, SweepValue>[] = [];
  for (const [k, r] of records.entries()) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return `${what}: item ${k + 1} is not an object`;
    const rec: Record<string, SweepValue> = {};
    for (const [key, v] of Object.entries(r as Record<string, unknown>)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') rec[key] = v;
      else if (v !== null && typeof v === 'object') rec[key] = JSON.stringify(v);
      else return `${what}: item ${k + 1} key ${key}: ${v === null ? 'null' : typeof v} is not a value`;
    }
    out.push(rec);
  }
  return out;
}

function parseLinkVars(text: string): [string, string][] | string {
  if (text.trim() === '') return [];
  const out: [string, string][] = [];
  for (const part of text.split(',')) {
    const [s, b, more] = part.split('=').map((x) => x.trim());
    if (!s || !b || more !== undefined) return `--link-vars ${text}: expected serve_key=bench_key[,...]`;
    out.push([s, b]);
  }
  return out;
}

/** The flag spellings vLLM tries for a parameter key, preferred (dashed) first. */
function flagCandidates(key: string): string[] {
  if (key.includes('.')) {
    const [head = '', ...tail] = key.split('.');
    return flagCandidates(head).map((f) => `${f}.${tail.join('.')}`);
  }
  return [...new Set([key.replace(/_/g, '-'), key.replace(/-/g, '_'), key])].map((k) => `--${k}`);
}

/** A parameter record applied to a command's words as vLLM's ParameterSweepItem.apply_to_cmd. */
function applyParams(words: readonly string[], rec: Record<string, SweepValue>): string[] {
  const cmd = [...words];
  for (const [key, value] of Object.entries(rec)) {
    if (key === '_benchmark_name') continue;
    const pair = typeof value === 'boolean' ? (key.includes('.') ? [`${flagCandidates(key)[0] ?? ''}=${String(value)}`] : [flagCandidates(value ? key : `no-${key}`)[0] ?? '']) : [flagCandidates(key)[0] ?? '', String(value)];
    const at = flagCandidates(key).map((f) => cmd.indexOf(f)).find((x) => x >= 0);
    if (at === undefined) cmd.push(...pair);
    else if (pair.length === 1) cmd[at] = pair[0] ?? '';
    else cmd.splice(at, 2, ...pair);
  }
  return cmd;
}

function joinWords(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** A serving command listing several `--request-rate` / `--max-concurrency` values: one point per combination. */
function loadList(words: readonly string[], command: string): SweepExpansion {
  const lists = new Map<string, string[]>();
  const kept: (string | { flag: string })[] = [];
  for (let k = 0; k < words.length; k++) {
    const token = words[k] ?? '';
    const eq = token.indexOf('=');
    const flag = token.startsWith('--') && eq > 0 ? token.slice(0, eq) : token;
    if (!(LIST_FLAGS as readonly string[]).includes(flag)) {
      kept.push(token);
      continue;
    }
    const values = eq > 0 ? token.slice(eq + 1).split(',') : [];
    if (eq < 0) {
      // Every value word after the flag (space-separated), each maybe a comma list.
      while (k + 1 < words.length && /^[\d.,infINF]+$/.test(words[k + 1] ?? '') && (words[k + 1] ?? '').split(',').every((v) => v === '' || LIST_VALUE.test(v))) values.push(...(words[++k] ?? '').split(','));
    }
    const vs = values.filter((v) => v !== '');
    if (vs.length === 0) {
      kept.push(token);
      continue;
    }
    lists.set(flag, [...(lists.get(flag) ?? []), ...vs]);
    if (!kept.some((w) => typeof w !== 'string' && w.flag === flag)) kept.push({ flag });
  }
  if (![...lists.values()].some((vs) => vs.length > 1)) return { status: 'single' };
  const rates = lists.get('--request-rate') ?? [null];
  const concurrencies = lists.get('--max-concurrency') ?? [null];
  const points: SweepCommandPoint[] = [];
  for (const c of concurrencies) {
    for (const r of rates) {
      const params: Record<string, SweepValue> = {};
      if (c !== null) params.max_concurrency = Number(c);
      if (r !== null) params.request_rate = /^inf$/i.test(r) ? 'inf' : Number(r);
      const out = kept.flatMap((w) => (typeof w === 'string' ? [w] : w.flag === '--request-rate' ? (r === null ? [] : [w.flag, r]) : c === null ? [] : [w.flag, c]));
      points.push({ label: asText(params), params, bench: joinWords(out), serve: null });
    }
  }
  const parsed = parsePerfCommand(points[0]?.bench ?? command);
  const listed = [...lists.keys()].join(' / ');
  if (parsed.status === 'ok' && (parsed.mode !== 'serving' || parsed.script === 'api_server' || parsed.script === 'vllm_serve')) {
    return refused('unsupported_flag', `several ${listed} values, but the command is not a serving benchmark client (vllm bench serve, benchmark_serving.py)`);
  }
  return finish({ status: 'sweep', form: 'load_list', points, notes: [] });
}
