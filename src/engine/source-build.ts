import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Failure } from '../core/index.js';
import { IsobenchError, patchSha256, redactSecrets } from '../core/index.js';
import { applyPatchToTree } from './patch.js';
import { isAlive } from './registry.js';

/**
 * Builds of an engine's source tree at a commit, kept in a cache outside any checkout so that a second run on the
 * same machine reuses them: `<cacheRoot>/<recipe>/<commit>/` is the commit's tree (from `git archive`) with the
 * build inside it, and `.isobench-build.json` there is written only after every step succeeded. ccache, when
 * installed, shares object files between commits (`<cacheRoot>/ccache`, paths made relative to the recipe folder).
 */

/** How to build one kind of tree: commands run in the tree, and the files that must exist afterwards. */
export interface BuildRecipe {
  /** Folder name under the cache root, e.g. `llama.cpp`. */
  name: string;
  /** The steps, in order; each runs with the tree as its working directory. */
  steps(opts: { tree: string; jobs: number; ccache: boolean }): string[][];
  /** Paths relative to the tree that the build makes (e.g. `build/bin/llama-server`). */
  outputs: readonly string[];
  /** Everything that changes what the steps make (flags); a stored build with another key is rebuilt. */
  key: string;
  /** Environment of every step (e.g. `VLLM_USE_PRECOMPILED=1`, `MAX_JOBS={jobs}`); part of `key`. */
  env?: Record<string, string>;
}

export interface BuildRequest {
  /** A git repository or bundle holding the commit. */
  source: string;
  /** A commit hash or any name git resolves in `source`. */
  commit: string;
  /** A patch applied to the commit's tree with `git apply` (never forced) before the build; its exact bytes are keyed. */
  patch?: Uint8Array;
  recipe: BuildRecipe;
  /** Default `$ISOBENCH_CACHE_DIR`, else `~/.cache/isobench`. */
  cacheRoot?: string;
  /** Parallel compile jobs (default 1: a shared machine). */
  jobs?: number;
  /** Niceness of the build commands (default 10); 0 runs them at normal priority. */
  nice?: number;
  /** Each line of build output, as it comes (the whole output is also in `logFile`). */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface BuildResult {
  commit: string;
  /** sha256 of the applied patch's bytes, null without one. */
  patchSha256: string | null;
  tree: string;
  /** Absolute paths of the recipe's outputs, by their relative name. */
  outputs: Record<string, string>;
  /** True when the build was already in the cache. */
  cached: boolean;
  /** Seconds this call spent building (0 when cached). */
  seconds: number;
  /** Seconds the build took when it was made (equal to `seconds` unless cached). */
  builtSeconds: number;
  logFile: string;
}

export interface Stamp {
  commit: string;
  recipeKey: string;
  seconds: number;
  builtAt: string;
  /** The repository or bundle it was built from, and the patch applied (for `isobench builds`). */
  source?: string;
  patchSha256?: string | null;
  /** A docker build's base image (name as configured): its tree is the image, not a folder here. */
  base?: string;
}

/** A build whose compiler (or `git apply`) refused the tree: same bytes and config fail the same way, so it is kept. */
interface FailedStamp extends Stamp {
  failure: Failure;
}

const STAMP = '.isobench-build.json';
const FAILED_STAMP = '.isobench-build-failed.json';

/**
 * A tree that cannot be built: `build_failed` with the compiler's first error line, or `patch_apply_failed`.
 * `log` is the whole build log (also kept in `logFile`).
 */
export class BuildFailedError extends IsobenchError {
  constructor(
    readonly failure: Failure,
    readonly log: string,
    readonly logFile: string,
    readonly cached: boolean,
  ) {
    super('E_ENGINE', `${failure.code}: ${failure.evidence} (log: ${logFile})`);
  }
}

/** The line of a build log that says why the build failed: the compiler's (or CMake's, or the linker's) first error. */
export function firstErrorLine(log: string): { evidence: string; line: number } | null {
  const lines = log.split(/\r?\n/);
  const patterns = [/^\S.*:\d+(?::\d+)?: (?:fatal )?error\b/, /\b(?:fatal )?error\b\s*:/i, /^CMake Error\b/, /undefined reference to|ld returned|collect2:/, /\b(?:error|failed)\b/i];
  for (const re of patterns) {
    const i = lines.findIndex((l) => !l.startsWith('$ ') && re.test(l));
    if (i >= 0) return { evidence: redactSecrets((lines[i] ?? '').trim()).slice(0, 500), line: i + 1 };
  }
  return null;
}

/** `$ISOBENCH_CACHE_DIR`, else `~/.cache/isobench` (outside every checkout, kept between runs). */
export function defaultCacheRoot(): string {
  const env = process.env.ISOBENCH_CACHE_DIR;
  return env !== undefined && env !== '' ? path.resolve(env) : path.join(homedir(), '.cache', 'isobench');
}

/** True when `program` is on PATH. */
export function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

function git(args: string[], opts: { cwd?: string } = {}): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', args, { encoding: 'utf8', ...opts });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

/** A bare mirror of `source` under the recipe folder (cloned once, fetched when the commit is not in it). */
function mirrorOf(source: string, dir: string, commit: string): { mirror: string; sha: string } {
  const mirror = path.join(dir, 'repo.git');
  if (!existsSync(path.join(mirror, 'HEAD'))) {
    const tmp = `${mirror}.${process.pid}.tmp`;
    const r = git(['clone', '--quiet', '--bare', source, tmp]);
    if (!r.ok) throw new IsobenchError('E_USAGE', `cannot clone ${source}: ${r.err}`, { hint: 'give a git repository or bundle' });
    // Another process may have cloned it meanwhile: the first one stays.
    const moved = spawnSync('mv', ['-T', tmp, mirror]).status === 0;
    if (!moved) spawnSync('rm', ['-rf', tmp]);
  }
  let sha = git(['--git-dir', mirror, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`]);
  if (!sha.ok) {
    git(['--git-dir', mirror, 'fetch', '--quiet', source, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*']);
    sha = git(['--git-dir', mirror, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`]);
  }
  if (!sha.ok) throw new IsobenchError('E_USAGE', `commit ${commit} is not in ${source}`, { hint: 'give a commit of that repository' });
  return { mirror, sha: sha.out };
}

/**
 * The full hash of `ref` in `source`: a repository resolves its own names (a branch as it is now); a bundle is read
 * through the recipe's mirror in the build cache (cloned on first use).
 */
export async function resolveCommit(source: string, ref: string, recipeName: string, cacheRoot = defaultCacheRoot(), signal?: AbortSignal): Promise<string> {
  if (existsSync(source) && (await stat(source)).isDirectory()) {
    const r = git(['-C', source, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    if (!r.ok) throw new IsobenchError('E_USAGE', `${ref} is not a commit of ${source}`, { hint: 'give a commit, branch or tag of that repository' });
    return r.out;
  }
  const dir = path.join(cacheRoot, recipeName);
  await mkdir(dir, { recursive: true });
  return (await withLock(path.join(dir, 'repo.lock'), signal, () => Promise.resolve(mirrorOf(source, dir, ref)))).sha;
}

async function readStamp(tree: string, name: string): Promise<Stamp | null> {
  try {
    return JSON.parse(await readFile(path.join(tree, name), 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

function outputsOf(tree: string, recipe: BuildRecipe): Record<string, string> {
  return Object.fromEntries(recipe.outputs.map((o) => [o, path.join(tree, o)]));
}

/**
 * A failed build remembered under `tree` (its FAILED_STAMP) for `recipeKey`: thrown again as BuildFailedError (cached)
 * with its failure and the log it left in `logFile`, so that a retry of the same bytes and config builds nothing.
 */
export async function recallFailure(tree: string, logFile: string, recipeKey: string): Promise<void> {
  const failed = (await readStamp(tree, FAILED_STAMP)) as FailedStamp | null;
  if (failed?.recipeKey === recipeKey && failed.failure !== undefined) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    throw new BuildFailedError(failed.failure, log, logFile, true);
  }
}

/** Remembers a build the tree (or the patch) refused: the whole log in `logFile`, the failure in `tree`'s FAILED_STAMP; throws it. */
export async function rememberFailure(tree: string, logFile: string, stamp: Stamp, failure: Failure, log: string): Promise<never> {
  await mkdir(tree, { recursive: true });
  await writeFile(logFile, log);
  await writeFile(path.join(tree, FAILED_STAMP), JSON.stringify({ ...stamp, failure } satisfies FailedStamp));
  throw new BuildFailedError(failure, log, logFile, false);
}

/**
 * Holds `<lock>` (a folder holding the owner's host and pid) while `fn` runs; waits for a live owner (another process,
 * or another call in this one), breaks a dead one's.
 */
export async function withLock<T>(lock: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const owner = `${hostname()} ${process.pid}`;
  while (true) {
    signal?.throwIfAborted();
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'owner'), owner);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = await readFile(path.join(lock, 'owner'), 'utf8').catch(() => '');
      const [host, pid] = held.split(' ');
      const stale = held !== '' && host === hostname() && !isAlive(Number(pid));
      const old = held === '' && Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs > 60_000;
      if (stale || old) await rm(lock, { recursive: true, force: true });
      else await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** A build step that ran and exited non-zero (the tree was refused), as opposed to one killed or never started. */
class StepExitError extends IsobenchError {}

/** Grace between SIGTERM and SIGKILL of a cancelled build's process group. */
const STOP_GRACE_MS = 3000;

/**
 * Runs one command in its own process group, appending its output to `log`; rejects with the last lines when it
 * fails. On abort the whole group (make, the compilers under it) gets SIGTERM, then SIGKILL, and the promise settles
 * only once the command has exited.
 */
function runStep(argv: string[], cwd: string, env: NodeJS.ProcessEnv, log: NodeJS.WritableStream, onLine: ((l: string) => void) | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return resolve();
    if (signal?.aborted === true) return reject(new IsobenchError('E_CANCELLED', 'build cancelled'));
    log.write(`$ ${argv.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const group = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        /* the group is gone */
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      group('SIGTERM');
      killTimer = setTimeout(() => group('SIGKILL'), STOP_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let tail: string[] = [];
    let partial = '';
    const take = (b: Buffer): void => {
      log.write(b);
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine?.(l);
      tail = [...tail, ...lines].slice(-20);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => reject(new IsobenchError('E_ENGINE', `cannot run ${cmd}: ${err.message}`)));
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      // Whatever the group left behind (a compiler whose parent was killed) goes too.
      group('SIGKILL');
      if (signal?.aborted === true) return reject(new IsobenchError('E_CANCELLED', `build cancelled: ${argv.join(' ')}`));
      if (code === 0) return resolve();
      const message = `build step failed (${sig ?? `exit ${String(code)}`}): ${argv.join(' ')}\n${[...tail, partial].join('\n').trim()}`;
      reject(code === null ? new IsobenchError('E_ENGINE', message) : new StepExitError('E_ENGINE', message));
    });
  });
}

/** Extracts the commit's tree into `dest` (`git archive | tar -x`). */
async function extractTree(mirror: string, sha: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const archive = spawn('git', ['--git-dir', mirror, 'archive', '--format=tar', sha], { stdio: ['ignore', 'pipe', 'inherit'] });
    const tar = spawn('tar', ['-x', '-C', dest], { stdio: ['pipe', 'inherit', 'inherit'] });
    archive.stdout.pipe(tar.stdin);
    let failed = false;
    const fail = (what: string) => {
      if (failed) return;
      failed = true;
      reject(new IsobenchError('E_ENGINE', `cannot extract ${sha} into ${dest}: ${what}`));
    };
    archive.on('close', (code) => code !== 0 && fail(`git archive exited ${String(code)}`));
    tar.on('close', (code) => (code === 0 ? !failed && resolve() : fail(`tar exited ${String(code)}`)));
  });
}

/**
 * The recipe's build of `commit`: from the cache when a finished build with the same recipe key is there, else
 * extracted and built (one builder per commit at a time: others wait for its lock). A failed build leaves no stamp
 * and throws E_ENGINE with the failing command and its last output lines; its log stays in `<tree>.log`.
 */
export async function buildAtCommit(req: BuildRequest): Promise<BuildResult> {
  const root = req.cacheRoot ?? defaultCacheRoot();
  const dir = path.join(root, req.recipe.name);
  await mkdir(dir, { recursive: true });
  const { mirror, sha } = await withLock(path.join(dir, 'repo.lock'), req.signal, () => Promise.resolve(mirrorOf(req.source, dir, req.commit)));
  const patchHash = req.patch === undefined ? null : patchSha256(req.patch);
  const tree = path.join(dir, patchHash === null ? sha : `${sha}-patch-${patchHash.slice(0, 16)}`);
  const logFile = `${tree}.log`;
  const done = async (): Promise<BuildResult | null> => {
    await recallFailure(tree, logFile, req.recipe.key);
    const stamp = await readStamp(tree, STAMP);
    const outputs = outputsOf(tree, req.recipe);
    if (stamp?.recipeKey !== req.recipe.key || !Object.values(outputs).every((o) => existsSync(o))) return null;
    return { commit: sha, patchSha256: patchHash, tree, outputs, cached: true, seconds: 0, builtSeconds: stamp.seconds, logFile };
  };
  const hit = await done();
  if (hit) return hit;
  return withLock(`${tree}.lock`, req.signal, async () => {
    const again = await done();
    if (again) return again;
    const t0 = performance.now();
    await rm(tree, { recursive: true, force: true });
    await extractTree(mirror, sha, tree);
    const stampOf = (): Stamp => ({ commit: sha, recipeKey: req.recipe.key, seconds: (performance.now() - t0) / 1000, builtAt: new Date().toISOString(), source: req.source, patchSha256: patchHash });
    const fail = (failure: Failure, log: string): Promise<never> => rememberFailure(tree, logFile, stampOf(), failure, log);
    if (req.patch !== undefined) {
      const applied = await applyPatchToTree(tree, req.patch, 'apply', req.signal);
      req.signal?.throwIfAborted();
      if (applied.status === 'failed') await fail(applied.failure, applied.log);
    }
    const ccache = onPath('ccache');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(ccache ? { CCACHE_DIR: process.env.CCACHE_DIR ?? path.join(root, 'ccache'), CCACHE_BASEDIR: dir, CCACHE_NOHASHDIR: '1' } : {}),
    };
    const nice = req.nice ?? 10;
    const prefix = nice > 0 && onPath('nice') ? ['nice', '-n', String(nice)] : [];
    const log = createWriteStream(logFile, { flags: 'w' });
    let refused: string | null = null;
    let stopped: Error | null = null;
    try {
      const jobs = req.jobs ?? 1;
      const recipeEnv = Object.fromEntries(Object.entries(req.recipe.env ?? {}).map(([k, v]) => [k, v.replaceAll('{jobs}', String(jobs))]));
      for (const step of req.recipe.steps({ tree, jobs, ccache })) {
        await runStep([...prefix, ...step], tree, { ...env, ...recipeEnv }, log, req.onLine, req.signal);
      }
    } catch (err) {
      // A step that exited non-zero refused the tree (kept as a failed build); a signal or a cancel is not kept.
      if (!(err instanceof StepExitError) || req.signal?.aborted === true) stopped = err instanceof Error ? err : new Error(String(err));
      else refused = err.message;
    } finally {
      await new Promise((r) => log.end(r));
    }
    if (stopped !== null) {
      // Cancelled or killed: no half-built tree is left behind; the next run builds it from the start.
      if (req.signal?.aborted === true) await Promise.all([rm(tree, { recursive: true, force: true }), rm(logFile, { force: true })]);
      throw stopped;
    }
    if (refused !== null) {
      const text = await readFile(logFile, 'utf8');
      const first = firstErrorLine(text);
      await fail({ code: 'build_failed', evidence: first?.evidence ?? refused.split('\n')[0] ?? 'the build failed', source: 'build', ...(first ? { line: first.line } : {}) }, text);
    }
    const outputs = outputsOf(tree, req.recipe);
    const missing = Object.values(outputs).filter((o) => !existsSync(o));
    if (missing.length > 0) throw new IsobenchError('E_ENGINE', `the build of ${sha} finished without ${missing.join(', ')} (log: ${logFile})`);
    const stamp = stampOf();
    await writeFile(path.join(tree, `${STAMP}.tmp`), JSON.stringify(stamp));
    await rename(path.join(tree, `${STAMP}.tmp`), path.join(tree, STAMP));
    return { commit: sha, patchSha256: patchHash, tree, outputs, cached: false, seconds: stamp.seconds, builtSeconds: stamp.seconds, logFile };
  });
}

/** CMake flags of the llama.cpp CPU build (see the corpus README): portable, no curl, no OpenMP, one static binary. */
export const LLAMA_CPP_CMAKE_FLAGS = ['-DGGML_NATIVE=OFF', '-DLLAMA_CURL=OFF', '-DGGML_OPENMP=OFF', '-DCMAKE_BUILD_TYPE=Release', '-DBUILD_SHARED_LIBS=OFF'] as const;

/** `llama-server` of a llama.cpp tree, built with CMake (ccache as the compiler launcher when installed). */
export function llamaCppServerRecipe(extraFlags: readonly string[] = []): BuildRecipe {
  const flags = [...LLAMA_CPP_CMAKE_FLAGS, ...extraFlags];
  return {
    name: 'llama.cpp',
    outputs: ['build/bin/llama-server'],
    key: recipeKey({ flags, target: 'llama-server' }),
    steps: ({ tree, jobs, ccache }) => [
      ['cmake', '-S', tree, '-B', path.join(tree, 'build'), ...flags, ...(ccache ? ['-DCMAKE_C_COMPILER_LAUNCHER=ccache', '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache'] : [])],
      ['cmake', '--build', path.join(tree, 'build'), '--target', 'llama-server', '-j', String(jobs)],
    ],
  };
}

/** The short hash of what a recipe does, its cache key. */
export function recipeKey(what: unknown): string {
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/** One tree of the build cache, as `isobench builds` lists it. */
export interface CachedBuild {
  /** The recipe's folder; `docker` for the docker engine's failed image builds (its built ones are images: listBuildImages). */
  recipe: string;
  tree: string;
  commit: string;
  /** A docker build's base image, null for a tree. */
  base: string | null;
  patchSha256: string | null;
  status: 'built' | 'failed' | 'incomplete';
  /** Seconds the build took (failed: until it failed); null for an incomplete tree. */
  seconds: number | null;
  builtAt: string | null;
  /** The failure of a failed build. */
  failure: Failure | null;
  /** Disk use in bytes (`du`), null when unknown. */
  bytes: number | null;
  /** A builder holds the tree's lock now (it is never pruned then). */
  locked: boolean;
}

/** A tree: `<commit>` or `<commit>-patch-<16 hex>`; under `docker/`, a docker build's key (16 hex; docker-build.ts). */
const SHA_DIR = /^(?:[0-9a-f]{40}(?:-patch-[0-9a-f]{16})?|[0-9a-f]{16})$/;

/** Every tree of the build cache under `root`, by recipe then name. */
export async function listBuilds(root = defaultCacheRoot()): Promise<CachedBuild[]> {
  const { readdir } = await import('node:fs/promises');
  const recipes = await readdir(root, { withFileTypes: true }).catch(() => []);
  const out: CachedBuild[] = [];
  for (const r of recipes.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const entries = await readdir(path.join(root, r.name), { withFileTypes: true }).catch(() => []);
    for (const e of entries.filter((d) => d.isDirectory() && SHA_DIR.test(d.name)).sort((a, b) => a.name.localeCompare(b.name))) {
      const tree = path.join(root, r.name, e.name);
      const ok = await readStamp(tree, STAMP);
      const failed = (await readStamp(tree, FAILED_STAMP)) as FailedStamp | null;
      const stamp = ok ?? failed;
      const du = spawnSync('du', ['-sk', tree], { encoding: 'utf8' });
      const kb = du.status === 0 ? Number((du.stdout ?? '').split(/\s/)[0]) : NaN;
      out.push({
        recipe: r.name,
        tree,
        commit: stamp?.commit ?? e.name.slice(0, 40),
        base: stamp?.base ?? null,
        patchSha256: stamp?.patchSha256 ?? (e.name.includes('-patch-') ? e.name.slice(47) : null),
        status: ok ? 'built' : failed ? 'failed' : 'incomplete',
        seconds: stamp?.seconds ?? null,
        builtAt: stamp?.builtAt ?? null,
        failure: ok ? null : (failed?.failure ?? null),
        bytes: Number.isFinite(kb) ? kb * 1024 : null,
        locked: existsSync(`${tree}.lock`),
      });
    }
  }
  return out;
}

/** Removes a tree of the build cache and its log, unless a builder holds its lock; true when removed. */
export async function removeBuild(b: CachedBuild): Promise<boolean> {
  if (existsSync(`${b.tree}.lock`)) return false;
  await rm(b.tree, { recursive: true, force: true });
  await rm(`${b.tree}.log`, { force: true });
  return true;
}
