import { cp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { IsobenchError, errorMessage } from '../core/index.js';
import { startChild, type ChildHandle } from './child.js';
import type { ProcessEngineConfig } from './config.js';
import { cleanupProcessLeftovers } from './leftovers.js';
import { claimWorkDir } from './work-dirs.js';
import { builtVenv, recipeFor } from './build-recipes.js';
import { applyPatchToTree, inspectPatch, parsePatch } from './patch.js';
import { BuildFailedError, buildAtCommit } from './source-build.js';
import { PRESETS, serverArgsFor } from './presets.js';
import { expandArgv, expandString } from './template.js';
import type { Engine, ExecOptions, ExecResult, PrepareProgress, PrepareResult, PreparedVariant, ServerHandle, ServerStartOptions, VariantBuild, VariantSpec } from './types.js';
import { resolvePerVariant, variantVariables } from './variables.js';

/** What the process engine keeps about a prepared variant. */
export interface ProcessVariantDetail {
  venv: string;
  /** The variant's source tree: the patched copy for agents, the built tree with a build. */
  source: string | undefined;
  /** True when the tree was built from the repository (an agent's patch is compiled in, not put on PYTHONPATH). */
  built?: boolean;
  vars: Record<string, string>;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Stops `stop` when `signal` aborts; returns the function that detaches the listener. */
export function stopOnAbort(signal: AbortSignal, stop: () => Promise<void>): () => void {
  const onAbort = (): void => void stop();
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** The process engine: a real child process per server, from per-variant command templates (venvs, source trees). */
export class ProcessEngine implements Engine {
  readonly kind = 'process' as const;
  private readonly children = new Set<ChildHandle>();

  constructor(private readonly config: ProcessEngineConfig) {}

  async prepare(spec: VariantSpec, signal: AbortSignal, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult> {
    const vars = variantVariables(spec, this.config.repo);
    if (this.buildOf(spec)) return this.prepareBuilt(spec, vars, signal, onProgress);
    const venv = resolvePerVariant(this.config.venv, spec, vars) ?? '';
    // Only the server command decides: a server-only setup must not fail on the exec template's default venv.
    const usesVenv = /\{venv\}/.test(this.config.serverTemplate);
    if (usesVenv && !(await isDirectory(venv))) {
      return { status: 'failed', failure: { code: 'image_missing', evidence: `venv ${venv} does not exist`, source: 'engine' }, log: `venv ${venv} does not exist\n` };
    }
    let source = resolvePerVariant(this.config.sourceDir, spec, vars);
    const missing = await this.missingServerProgram({ ...vars, venv, source: source ?? '' }, source);
    if (missing !== null) return { status: 'failed', failure: { code: 'image_missing', evidence: missing, source: 'engine' }, log: `${missing}\n` };
    if (spec.kind === 'agent') {
      if (!spec.agent) throw new IsobenchError('E_INTERNAL', `agent variant ${spec.id} has no patch`);
      const inspection = inspectPatch(spec.agent.patchText);
      if (inspection.status === 'failed') return { status: 'failed', failure: inspection.failure, log: `${inspection.failure.evidence}\n` };
      if (source === undefined) {
        throw new IsobenchError('E_USAGE', `process engine: agent variant ${spec.id} needs a source tree to apply its patch to, and sourceDir is not set`, {
          hint: 'set sourceDir (e.g. "/src/vllm-{commit}") to the parent commit\'s checkout; the patched copy is put first on PYTHONPATH',
        });
      }
      if (!(await isDirectory(source))) {
        throw new IsobenchError('E_USAGE', `process engine: sourceDir ${source} (for variant ${spec.id}) is not a directory`, { hint: 'check the sourceDir setting' });
      }
      const check = await applyPatchToTree(source, spec.agent.patchBytes, 'check', signal);
      if (check.status === 'failed') return { status: 'failed', failure: check.failure, log: check.log };
      source = await this.patchedCopy(source, spec, signal);
    }
    const detail: ProcessVariantDetail = { venv, source, vars: { ...vars, venv, source: source ?? '' } };
    const environment = [usesVenv ? `venv ${venv}` : 'process', source ? `source ${source}` : ''].filter(Boolean).join(', ');
    return { status: 'ready', variant: { spec, environment, detail } };
  }

  /** The build of a variant: the engine config's `build`, with the task's own `source_repo` as the repository. */
  private buildOf(spec: VariantSpec): NonNullable<ProcessEngineConfig['build']> | undefined {
    const repo = spec.task.source_repo;
    if (repo === undefined) return this.config.build;
    return { jobs: 2, nice: 10, env: {}, ...this.config.build, repository: repo };
  }

  /**
   * A variant built from the engine's repository at its commit (agents: the parent with the patch applied) into the
   * build cache, or found there: a patch that does not apply is patch_apply_failed, one that does not compile is
   * build_failed with the compiler's first error line, and the whole build log is the failure's log.
   */
  private async prepareBuilt(spec: VariantSpec, vars: Record<string, string>, signal: AbortSignal, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult> {
    const build = this.buildOf(spec);
    if (!build) throw new IsobenchError('E_INTERNAL', 'prepareBuilt without a build setting');
    let files = null;
    if (spec.kind === 'agent') {
      if (!spec.agent) throw new IsobenchError('E_INTERNAL', `agent variant ${spec.id} has no patch`);
      const inspection = inspectPatch(spec.agent.patchText);
      // A patch that needs a build is what this path is for; empty or malformed patches are still refused.
      if (inspection.status === 'failed' && inspection.failure.code !== 'patch_needs_build') {
        return { status: 'failed', failure: inspection.failure, log: `${inspection.failure.evidence}\n` };
      }
      files = parsePatch(spec.agent.patchText);
    }
    const recipe = recipeFor(this.config.preset, { repository: build.repository, steps: build.steps, env: build.env }, files);
    let result;
    try {
      result = await buildAtCommit({
        source: build.repository,
        commit: spec.engineCommit,
        ...(spec.agent ? { patch: spec.agent.patchBytes } : {}),
        recipe,
        jobs: build.jobs,
        nice: build.nice,
        ...(build.cacheDir === undefined ? {} : { cacheRoot: build.cacheDir }),
        signal,
        ...(onProgress ? { onLine: (line: string) => onProgress({ variantId: spec.id, phase: 'build', line }) } : {}),
      });
    } catch (err) {
      if (err instanceof BuildFailedError) return { status: 'failed', failure: err.failure, log: err.log };
      throw err;
    }
    const source = result.tree;
    const venv = builtVenv(this.config.preset, source) ?? resolvePerVariant(this.config.venv, spec, vars) ?? '';
    const all = { ...vars, venv, source };
    const missing = await this.missingServerProgram(all, source);
    if (missing !== null) return { status: 'failed', failure: { code: 'image_missing', evidence: missing, source: 'engine' }, log: `${missing}\n` };
    const detail: ProcessVariantDetail = { venv, source, built: true, vars: all };
    const buildInfo: VariantBuild = { where: result.tree, cached: result.cached, seconds: result.seconds, builtSeconds: result.builtSeconds, logFile: result.logFile };
    const how = result.cached ? 'from the build cache' : `built in ${result.seconds.toFixed(1)} s`;
    return { status: 'ready', variant: { spec, environment: `build ${source} (${how})`, detail, build: buildInfo } };
  }

  /**
   * Why the server command cannot start, when it names a tree or a program that is not there: a `{source}` with no
   * source tree, or a program given by its absolute path that does not exist (llama.cpp: a commit not built yet).
   */
  private async missingServerProgram(vars: Record<string, string>, source: string | undefined): Promise<string | null> {
    const template = this.config.serverTemplate;
    if (/\{source\}/.test(template) && (source === undefined || !(await isDirectory(source)))) {
      return source === undefined ? 'the server command uses {source} and sourceDir is not set' : `source tree ${source} does not exist${this.buildHint()}`;
    }
    const program = expandArgv(template, vars, {})[0] ?? '';
    if (path.isAbsolute(program) && !/\{/.test(program) && !(await exists(program))) return `server program ${program} does not exist${this.buildHint()}`;
    return null;
  }

  private buildHint(): string {
    return this.config.preset === 'llama.cpp' ? ' (build it: npx tsx scripts/build-llama-server.ts <llama.cpp repo or bundle> <commit>, see docs/engines.md)' : '';
  }

  private async patchedCopy(source: string, spec: VariantSpec, signal: AbortSignal): Promise<string> {
    const dest = path.join(await claimWorkDir(this.config.workDir, this.config.runId), spec.id.replace(/[^A-Za-z0-9_.-]/g, '_'));
    await rm(dest, { recursive: true, force: true });
    // The copy keeps built extensions (an in-place build's .so files); the .git folder is not needed to apply.
    await cp(source, dest, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== '.git' || path.dirname(src) !== source });
    const applied = await applyPatchToTree(dest, spec.agent?.patchBytes ?? '', 'apply', signal);
    if (applied.status === 'failed') throw new IsobenchError('E_ENGINE', `patch passed --check but failed to apply in ${dest}: ${applied.failure.evidence}`);
    return dest;
  }

  private detail(variant: PreparedVariant): ProcessVariantDetail {
    return variant.detail as ProcessVariantDetail;
  }

  private childEnv(variant: PreparedVariant, extra: Record<string, string>): Record<string, string> {
    const d = this.detail(variant);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.config.env)) env[k] = expandString(v, d.vars);
    if (variant.spec.kind === 'agent' && d.source && d.built !== true) {
      env.PYTHONPATH = [d.source, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
    }
    return { ...env, ...extra };
  }

  async startServer(variant: PreparedVariant, opts: ServerStartOptions, signal: AbortSignal): Promise<ServerHandle> {
    if (signal.aborted) throw new IsobenchError('E_CANCELLED', 'cancelled before the server started');
    const d = this.detail(variant);
    const port = opts.port === 0 ? await freePort() : opts.port;
    const serverArgs = serverArgsFor(this.config.preset, opts.serverArgs);
    const argv = expandArgv(this.config.serverTemplate, { ...d.vars, model: opts.model, port: String(port) }, { server_args: serverArgs });
    const child = await this.spawn(variant, argv, this.childEnv(variant, opts.env));
    const stop = async (): Promise<void> => {
      await child.stop(this.config.stopGraceMs);
      this.children.delete(child);
    };
    const detach = stopOnAbort(signal, stop);
    void child.exited.then(detach);
    return { baseUrl: `http://127.0.0.1:${port}`, log: () => child.log(), exited: child.exited, stop, readyPaths: PRESETS[this.config.preset].readiness, argv };
  }

  async exec(variant: PreparedVariant, opts: ExecOptions, signal: AbortSignal): Promise<ExecResult> {
    const d = this.detail(variant);
    const argv = this.execArgv(d, opts.argv);
    const child = await this.spawn(variant, argv, this.childEnv(variant, opts.env));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void child.stop(this.config.stopGraceMs);
    }, opts.timeoutMs);
    const detach = stopOnAbort(signal, () => child.stop(this.config.stopGraceMs));
    try {
      const { code } = await child.exited;
      await child.stop(this.config.stopGraceMs);
      return { exitCode: code, output: child.log(), timedOut };
    } finally {
      clearTimeout(timer);
      detach();
      this.children.delete(child);
    }
  }

  /** A `.py` script goes through the exec template; `python`/`python3` become the venv's python; else as given. */
  private execArgv(d: ProcessVariantDetail, argv: string[]): string[] {
    const [first, ...rest] = argv;
    if (first === undefined) throw new IsobenchError('E_INTERNAL', 'exec with an empty argv');
    if (first.endsWith('.py')) return expandArgv(this.config.execTemplate, { ...d.vars, script: first }, { args: rest });
    if ((first === 'python' || first === 'python3') && d.venv !== '') return [path.join(d.venv, 'bin', 'python'), ...rest];
    return argv;
  }

  private async spawn(variant: PreparedVariant, argv: string[], env: Record<string, string>): Promise<ChildHandle> {
    const d = this.detail(variant);
    try {
      const child = await startChild({
        argv,
        env,
        ...(d.source ? { cwd: d.source } : {}),
        runId: this.config.runId,
        variant: variant.spec.id,
        registryDir: this.config.registryDir,
        logLimitBytes: this.config.logLimitBytes,
      });
      this.children.add(child);
      return child;
    } catch (err) {
      throw new IsobenchError('E_ENGINE', `cannot start ${argv[0] ?? ''}: ${errorMessage(err)}`);
    }
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.children].map((c) => c.stop(this.config.stopGraceMs)));
    this.children.clear();
    await cleanupProcessLeftovers(this.config.registryDir, this.config.runId, this.config.stopGraceMs);
    await rm(path.join(this.config.workDir, this.config.runId), { recursive: true, force: true });
  }
}

