import { errorMessage, redactValues } from '../core/index.js';
import {
  applySimEffects,
  parseSimProfile,
  parseSimServeArgs,
  runSimScript,
  startSimServer,
  type SimProfile,
  type SimScriptKind,
  type SimServer,
} from '../sim/index.js';
import type { SimEffects } from '../sim/index.js';
import type { SimEngineConfig } from './config.js';
import { secretValues } from './log-buffer.js';
import { inspectPatch } from './patch.js';
import type { Engine, ExecOptions, ExecResult, PrepareResult, PreparedVariant, ServerHandle, ServerStartOptions, VariantSpec } from './types.js';

/** What the sim engine keeps about a prepared variant: its profile with the variant's effects applied. */
export interface SimVariantDetail {
  profile: SimProfile;
  effects: SimEffects;
}

/** The task's sim effects for a variant: keyed by kind (`baseline`, `human`) or by agent name (then `agent`). */
export function simEffectsFor(spec: VariantSpec): SimEffects {
  const sim = spec.task.sim ?? {};
  if (spec.kind === 'agent') return (spec.agent ? sim[spec.agent.name] : undefined) ?? sim.agent ?? {};
  return sim[spec.kind] ?? {};
}

function describeEffects(effects: SimEffects): string {
  const parts = Object.entries(effects).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? 'sim profile' : `sim profile (${parts.join(', ')})`;
}

/** Which standalone script an argv runs (`benchmarks/benchmark_latency.py ...`, `vllm bench throughput ...`). */
export function simScriptOf(argv: readonly string[]): { kind: SimScriptKind; args: string[] } | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    const script = /benchmark_(latency|throughput|prefix_caching)\.py$/.exec(word);
    if (script) return { kind: script[1] as SimScriptKind, args: argv.slice(i + 1) };
    const next = argv[i + 1];
    if (word === 'bench' && (next === 'latency' || next === 'throughput')) return { kind: next, args: argv.slice(i + 2) };
  }
  return undefined;
}

/** The sim engine: engineer 2's simulated vLLM server, in-process, one per variant, with the task's sim effects. */
export class SimEngine implements Engine {
  readonly kind = 'sim' as const;
  private readonly base: SimProfile;
  private readonly servers = new Set<SimServer>();

  constructor(private readonly config: SimEngineConfig) {
    this.base = parseSimProfile(config.profile, 'engine config profile');
  }

  prepare(spec: VariantSpec, _signal: AbortSignal): Promise<PrepareResult> {
    if (spec.kind === 'agent') {
      const inspection = inspectPatch(spec.agent?.patchText ?? '');
      if (inspection.status === 'failed') return Promise.resolve({ status: 'failed', failure: inspection.failure, log: `${inspection.failure.evidence}\n` });
    }
    const effects = simEffectsFor(spec);
    const detail: SimVariantDetail = { profile: applySimEffects(this.base, effects), effects };
    return Promise.resolve({ status: 'ready', variant: { spec, environment: describeEffects(effects), detail } });
  }

  async startServer(variant: PreparedVariant, opts: ServerStartOptions, signal: AbortSignal): Promise<ServerHandle> {
    const { profile } = variant.detail as SimVariantDetail;
    const secrets = secretValues(opts.env);
    let notes: string[] = [];
    let effective: SimProfile;
    try {
      // The perf command's server arguments (--max-model-len, -tp, --enable-prefix-caching...) set profile keys.
      const parsed = parseSimServeArgs(opts.serverArgs);
      notes = parsed.warnings;
      effective = parseSimProfile({ ...profile, ...parsed.overrides, model: opts.model, ...(opts.position === undefined ? {} : { trial_position: opts.position }) }, 'server arguments', true);
    } catch (err) {
      return failedStart(`${errorMessage(err)}\n`, secrets);
    }
    const server = await startSimServer(effective, { port: opts.port, signal });
    this.servers.add(server);
    void server.exited.then(() => this.servers.delete(server));
    const prefix = notes.length > 0 ? `${notes.join('\n')}\n` : '';
    return {
      baseUrl: server.url,
      log: () => redactValues(prefix + server.log(), secrets),
      exited: server.exited.then((e) => ({ code: e.code, signal: e.signal })),
      stop: () => server.close(),
    };
  }

  async exec(variant: PreparedVariant, opts: ExecOptions, signal: AbortSignal): Promise<ExecResult> {
    const { profile } = variant.detail as SimVariantDetail;
    const script = simScriptOf(opts.argv);
    if (!script) return { exitCode: 127, output: `isobench sim: no simulator for ${opts.argv.join(' ')}\n`, timedOut: false };
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, opts.timeoutMs);
    try {
      const result = await runSimScript(script.kind, script.args, opts.position === undefined ? profile : { ...profile, trial_position: opts.position }, ac.signal);
      return { exitCode: result.exitCode, output: redactValues(result.output, secretValues(opts.env)), timedOut };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.servers].map((s) => s.close()));
    this.servers.clear();
  }
}

/** A server that could not start because its arguments are invalid: it has exited, its log says why. */
function failedStart(message: string, secrets: string[]): ServerHandle {
  return {
    baseUrl: 'http://127.0.0.1:0',
    log: () => redactValues(message, secrets),
    exited: Promise.resolve({ code: 2, signal: null }),
    stop: () => Promise.resolve(),
  };
}
