import type { Failure } from '../core/index.js';
import type { Task, VariantKind } from '../task/index.js';

/** What a variant is, before any engine looks at it. */
export interface VariantSpec {
  /** Same as the store's VariantRecord id. */
  id: string;
  task: Task;
  kind: VariantKind;
  /** The engine commit the variant runs: the parent for baseline and agents, the commit for human. */
  engineCommit: string;
  /** `patchBytes` are applied exactly; `patchText` (the bytes read as UTF-8) is for inspection and messages. */
  agent?: { name: string; model: string; patchText: string; patchBytes: Uint8Array; patchSha256: string };
}

/** A variant resolved to an engine environment (an image, a directory, a simulated profile), ready to start. */
export interface PreparedVariant {
  spec: VariantSpec;
  /** Human-readable environment, e.g. `image anonymous/vllm-bench:abc…`, `venv /opt/venvs/abc`, `sim profile`. */
  environment: string;
  /** Engine-private data (image name, patched dir, sim profile...). */
  detail: unknown;
  /** The variant's build from source, when the engine built it (or found it in the build cache). */
  build?: VariantBuild;
}

/** A variant's build: where, how long this prepare spent (0 when it came from the cache) and the build took, its log. */
export interface VariantBuild {
  /** The built tree (process engine) or image (docker engine). */
  where: string;
  cached: boolean;
  seconds: number;
  /** Seconds the build took when it was made (equal to `seconds` unless cached). */
  builtSeconds: number;
  logFile: string;
}

/** What a long prepare step is doing (a build: its phase and its last log line). */
export interface PrepareProgress {
  variantId: string;
  phase: 'build';
  line: string;
}

/** A variant that could not be prepared is a recorded failure, not an exception. */
export type PrepareResult = { status: 'ready'; variant: PreparedVariant } | { status: 'failed'; failure: Failure; log: string };

export interface ServerStartOptions {
  model: string;
  /** Server-side arguments from the task's perf command (after `--model`), e.g. `--tensor-parallel-size 2`. */
  serverArgs: string[];
  env: Record<string, string>;
  /** Port to listen on; 0 lets the engine choose a free one. */
  port: number;
  /** The trial's position in its round (1-based), when the server serves a trial; the sim's position_effect uses it. */
  position?: number;
}

/** A server that was started; readiness is polled by run/, not here. */
export interface ServerHandle {
  /** e.g. `http://127.0.0.1:39123`. */
  baseUrl: string;
  /** Everything the server printed so far (stdout and stderr interleaved), secrets redacted. */
  log(): string;
  /** Settles when the server process/container/in-process server has exited. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Stops the server and waits for it to be gone; safe to call twice. */
  stop(): Promise<void>;
  /** Paths that must answer 200, in order, before the server is ready (default `/health`, then `/v1/models`). */
  readonly readyPaths?: readonly string[];
  /** The server command as started (after the preset's flag translation), when the engine runs one. */
  readonly argv?: readonly string[];
}

export interface ExecOptions {
  argv: string[];
  env: Record<string, string>;
  timeoutMs: number;
  /** The trial's position in its round (1-based); the sim's position_effect uses it. */
  position?: number;
}

export interface ExecResult {
  exitCode: number | null;
  /** stdout and stderr interleaved, secrets redacted. */
  output: string;
  timedOut: boolean;
}

/**
 * An engine turns variants into running servers and runs scripts inside the variant's environment.
 * Everything an engine starts is labelled `isobench=1` (and with the run id) so leftovers can be found and removed.
 */
export interface Engine {
  readonly kind: 'sim' | 'process' | 'docker';
  /** Resolves the variant's environment; patch problems come back as failures (patch_empty, patch_apply_failed, ...). */
  prepare(spec: VariantSpec, signal: AbortSignal, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult>;
  startServer(variant: PreparedVariant, opts: ServerStartOptions, signal: AbortSignal): Promise<ServerHandle>;
  /** Runs a command (a standalone benchmark script) in the variant's environment. */
  exec(variant: PreparedVariant, opts: ExecOptions, signal: AbortSignal): Promise<ExecResult>;
  /** Stops and removes everything this engine started that is still there. */
  cleanup(): Promise<void>;
}
