import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { LogBuffer } from './log-buffer.js';
import { isAlive, register, unregister } from './registry.js';

/** A child process in its own process group, its output captured. */
export interface ChildHandle {
  pid: number;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  log(): string;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader is gone. */
  stop(graceMs: number): Promise<void>;
}

export interface StartChildOptions {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  runId: string;
  variant: string;
  registryDir: string;
  logLimitBytes: number;
}

/** Sends `signal` to the process group led by `pid`; a group that is gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

function groupAlive(pid: number): boolean {
  return isAlive(-pid);
}

/** Spawns `argv` detached (its own process group, so stop kills the tree), labelled with the run id. */
export async function startChild(opts: StartChildOptions): Promise<ChildHandle> {
  const [cmd, ...args] = opts.argv;
  if (cmd === undefined) throw new Error('empty command');
  const env = { ...process.env, ...opts.env, ISOBENCH_RUN_ID: opts.runId, ISOBENCH_VARIANT: opts.variant };
  // Secrets the child inherits from this process are redacted too, not only those passed in.
  const log = new LogBuffer(opts.logLimitBytes, Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined)));
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  child.stdout.on('data', (b: Buffer) => log.append(b));
  child.stderr.on('data', (b: Buffer) => log.append(b));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('error', (err) => {
      log.append(`isobench: cannot start ${cmd}: ${err.message}\n`);
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    return { pid: -1, exited, log: () => log.text(), stop: () => Promise.resolve() };
  }
  await register(opts.registryDir, {
    pid,
    runId: opts.runId,
    variant: opts.variant,
    owner: process.pid,
    host: hostname(),
    argv0: cmd,
    startedAt: new Date().toISOString(),
  });
  void exited.then(() => unregisterWhenGroupGone(opts.registryDir, opts.runId, pid));

  let stopping: Promise<void> | undefined;
  const stop = (graceMs: number): Promise<void> => {
    stopping ??= stopGroup(pid, exited, graceMs).then(() => unregister(opts.registryDir, opts.runId, pid));
    return stopping;
  };
  return { pid, exited, log: () => log.text(), stop };
}

async function stopGroup(pid: number, exited: Promise<unknown>, graceMs: number): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    }),
  ]);
  clearTimeout(timer);
  // Workers the server forked may outlive it in the group: the group gets SIGKILL either way.
  if (timedOut || groupAlive(pid)) signalGroup(pid, 'SIGKILL');
  await exited;
  for (let i = 0; i < 50 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
}

async function unregisterWhenGroupGone(dir: string, runId: string, pid: number): Promise<void> {
  if (!groupAlive(pid)) await unregister(dir, runId, pid);
}
