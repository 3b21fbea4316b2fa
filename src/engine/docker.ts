import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { IsobenchError, errorMessage, gpuCount, type Failure } from '../core/index.js';
import type { DockerEngineConfig } from './config.js';
import { containerLabels } from './docker-labels.js';
import { cleanupContainerLeftovers, dockerClient } from './docker-client.js';
import { LogBuffer } from './log-buffer.js';
import { applyFailure, filterPatch, inspectPatch, parsePatch, patchFileBytes } from './patch.js';
import { recipeFor } from './build-recipes.js';
import { buildVariantImage, cleanupBuildLeftovers } from './docker-build.js';
import { BuildFailedError, defaultCacheRoot } from './source-build.js';
import { claimWorkDir } from './work-dirs.js';
import { PRESETS, serverArgsFor } from './presets.js';
import { freePort, stopOnAbort } from './process.js';
import { expandArgv, expandString } from './template.js';
import type { Engine, ExecOptions, ExecResult, PrepareProgress, PrepareResult, PreparedVariant, ServerHandle, ServerStartOptions, VariantSpec } from './types.js';
import { variantVariables } from './variables.js';

/** What the docker engine keeps about a prepared variant. */
export interface DockerVariantDetail {
  image: string;
  /** Host folder holding `agent.patch`, mounted read-only at /isobench in agent containers. */
  patchDir: string | undefined;
  vars: Record<string, string>;
}

/** Where the agent's patch is mounted inside the container. */
export const PATCH_MOUNT = '/isobench';
const EXIT_NO_TOOL = 97;
const EXIT_NO_PACKAGE = 98;
/** The wrapper's exit code when the patch does not apply. */
export const EXIT_NOT_APPLIED = 99;

/**
 * The agent containers' entrypoint: finds the installed package root (site-packages), checks and applies the mounted
 * patch there with git apply (or patch with no fuzz), then execs the server command. `check` mode stops after the
 * check, `apply` mode after applying (an image build's step, docker-build.ts). POSIX sh with builtins only, so that
 * it runs in a minimal image.
 */
export const APPLY_WRAPPER = `
mode="$1"; shift
root="\${ISOBENCH_PACKAGE_ROOT:-}"
if [ -z "$root" ]; then
  root=$(python3 -c 'import importlib.util,os;s=importlib.util.find_spec("vllm");print(os.path.dirname(os.path.dirname(s.origin)))' 2>&1) || { echo "isobench: cannot find the installed vllm package: $root" >&2; exit ${EXIT_NO_PACKAGE}; }
fi
cd "$root" 2>/dev/null || { echo "isobench: package root $root does not exist in the image" >&2; exit ${EXIT_NO_PACKAGE}; }
p=${PATCH_MOUNT}/agent.patch
if command -v git >/dev/null 2>&1; then
  export GIT_CEILING_DIRECTORIES="\${root%/*}"
  git apply --check --verbose "$p" >&2 || exit ${EXIT_NOT_APPLIED}
  if [ "$mode" = check ]; then echo "isobench: the patch applies to $root (git apply --check)" >&2; exit 0; fi
  git apply --verbose "$p" >&2 || exit ${EXIT_NOT_APPLIED}
elif command -v patch >/dev/null 2>&1; then
  patch -p1 --forward --batch --fuzz=0 --dry-run -i "$p" >&2 || exit ${EXIT_NOT_APPLIED}
  if [ "$mode" = check ]; then echo "isobench: the patch applies to $root (patch --dry-run)" >&2; exit 0; fi
  patch -p1 --forward --batch --fuzz=0 -i "$p" >&2 || exit ${EXIT_NOT_APPLIED}
else
  echo "isobench: the image has neither git nor patch to apply the agent's patch" >&2; exit ${EXIT_NO_TOOL}
fi
echo "isobench: patch applied to $root" >&2
if [ "$mode" = apply ]; then exit 0; fi
exec "$@"
`;

/** Bytes of a size such as `16g`. */
export function sizeBytes(size: string): number {
  const m = /^(\d+)([bkmg]?)$/i.exec(size);
  if (!m) throw new IsobenchError('E_USAGE', `shmSize: ${size} is not a size such as 16g`);
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) into text. */
function demux(stream: NodeJS.ReadableStream, append: (text: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      append(pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  });
}

interface ContainerRun {
  id: string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  log: LogBuffer;
  stop(): Promise<void>;
}

/** The docker engine: one container per server or script, from per-variant images; agents patch at start. */
export class DockerEngine implements Engine {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly running = new Set<ContainerRun>();

  constructor(private readonly config: DockerEngineConfig) {
    this.docker = dockerClient(config.dockerHost);
  }

  private imageFor(spec: VariantSpec, vars: Record<string, string>): string {
    const { images } = this.config;
    const template = spec.kind === 'human' ? images.human : spec.kind === 'agent' ? (images.agent ?? images.baseline) : images.baseline;
    return expandString(template, vars);
  }

  async prepare(spec: VariantSpec, signal: AbortSignal, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult> {
    const vars = variantVariables(spec);
    const image = this.imageFor(spec, vars);
    let patchText: string | undefined;
    if (spec.kind === 'agent' && this.config.build) return this.prepareBuilt(spec, vars, image, signal, onProgress);
    if (spec.kind === 'agent') {
      if (!spec.agent) throw new IsobenchError('E_INTERNAL', `agent variant ${spec.id} has no patch`);
      const inspection = inspectPatch(spec.agent.patchText);
      if (inspection.status === 'failed') return { status: 'failed', failure: inspection.failure, log: `${inspection.failure.evidence}\n` };
      // latin1 maps each byte to one character and back: the kept sections keep their exact bytes.
      const filtered = filterPatch(Buffer.from(spec.agent.patchBytes).toString('latin1'), (p) => p.startsWith('vllm/'));
      if (filtered.kept.length === 0) {
        const evidence = `the patch changes no file of the installed vllm package (only ${filtered.dropped.join(', ')})`;
        return { status: 'failed', failure: { code: 'patch_empty', evidence, source: 'patch' }, log: `${evidence}\n` };
      }
      patchText = filtered.text;
    }
    const missing = await this.ensureImage(image, signal);
    if (missing) return { status: 'failed', failure: missing, log: `${missing.evidence}\n` };
    let patchDir: string | undefined;
    let log = `image ${image}\n`;
    if (patchText !== undefined) {
      patchDir = path.join(await claimWorkDir(this.config.workDir, this.config.runId), spec.id.replace(/[^A-Za-z0-9_.-]/g, '_'));
      await mkdir(patchDir, { recursive: true });
      await writeFile(path.join(patchDir, 'agent.patch'), patchFileBytes(Buffer.from(patchText, 'latin1')));
      const variant: PreparedVariant = { spec, environment: '', detail: { image, patchDir, vars } satisfies DockerVariantDetail };
      const check = await this.checkPatch(variant, signal);
      log += check.log;
      if (check.failure) return { status: 'failed', failure: check.failure, log };
    }
    const detail: DockerVariantDetail = { image, patchDir, vars };
    const environment = patchDir ? `image ${image} + patch applied at start` : `image ${image}`;
    return { status: 'ready', variant: { spec, environment, detail } };
  }

  /**
   * An agent built as an image: the baseline image with the whole patch applied to the engine's source tree inside
   * it and the build run there (docker-build.ts), or the image a previous run built from the same base, patch and
   * build config. The agent's containers then run that image as it is (no patch applied at start).
   */
  private async prepareBuilt(spec: VariantSpec, vars: Record<string, string>, image: string, signal: AbortSignal, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult> {
    const build = this.config.build;
    if (!build || !spec.agent) throw new IsobenchError('E_INTERNAL', `prepareBuilt of ${spec.id} without a build or a patch`);
    const inspection = inspectPatch(spec.agent.patchText);
    // A patch that needs a build is what this path is for; empty or malformed patches are still refused.
    if (inspection.status === 'failed' && inspection.failure.code !== 'patch_needs_build') {
      return { status: 'failed', failure: inspection.failure, log: `${inspection.failure.evidence}\n` };
    }
    const missing = await this.ensureImage(image, signal);
    if (missing) return { status: 'failed', failure: missing, log: `${missing.evidence}\n` };
    const baseId = (await this.docker.getImage(image).inspect()).Id;
    const recipe = recipeFor(this.config.preset, { repository: image, steps: build.steps, env: build.env }, parsePatch(spec.agent.patchText), 'image');
    let built;
    try {
      built = await buildVariantImage({
        docker: this.docker,
        baseImage: image,
        baseId,
        commit: spec.engineCommit,
        sourceDir: build.sourceDir,
        patch: spec.agent.patchBytes,
        recipe,
        jobs: build.jobs,
        cacheRoot: build.cacheDir ?? defaultCacheRoot(),
        signal,
        ...(onProgress ? { onLine: (line: string) => onProgress({ variantId: spec.id, phase: 'build', line }) } : {}),
      });
    } catch (err) {
      if (err instanceof BuildFailedError) return { status: 'failed', failure: err.failure, log: err.log };
      throw err;
    }
    const how = built.cached ? 'from the build cache' : `built in ${built.seconds.toFixed(1)} s`;
    const detail: DockerVariantDetail = { image: built.image, patchDir: undefined, vars };
    return {
      status: 'ready',
      variant: {
        spec,
        environment: `image ${built.image} (${image} + patch, ${how})`,
        detail,
        build: { where: built.image, cached: built.cached, seconds: built.seconds, builtSeconds: built.builtSeconds, logFile: built.logFile },
      },
    };
  }

  /** Undefined when the image is there (pulled if allowed), else why not (image_missing, image_pull_failed, disk_full). */
  private async ensureImage(image: string, signal: AbortSignal): Promise<Failure | undefined> {
    try {
      await this.docker.getImage(image).inspect();
      return undefined;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw this.unreachable(err);
    }
    if (!this.config.pull) return { code: 'image_missing', evidence: `image ${image} is not present locally (pulling is off)`, source: 'engine' };
    try {
      const stream = (await this.docker.pull(image, { abortSignal: signal }));
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve()));
      });
      return undefined;
    } catch (err) {
      return pullFailure(image, errorMessage(err));
    }
  }

  private unreachable(err: unknown): IsobenchError {
    return new IsobenchError('E_ENGINE', `cannot talk to Docker (${this.config.dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}): ${errorMessage(err)}`, {
      hint: 'start dockerd, or set dockerHost / DOCKER_HOST to its socket',
    });
  }

  /** A short-lived container of the variant's image runs the wrapper's check mode against the installed package. */
  private async checkPatch(variant: PreparedVariant, signal: AbortSignal): Promise<{ failure?: Failure; log: string }> {
    const run = await this.run(variant, { argv: [], env: {}, mode: 'check', gpus: false }, signal);
    const timer = setTimeout(() => void run.stop(), 120_000);
    const detach = stopOnAbort(signal, () => run.stop());
    try {
      const { code } = await run.exited;
      await run.stop();
      const log = run.log.text();
      if (code === 0) return { log };
      if (code === EXIT_NOT_APPLIED) return { failure: applyFailure(log), log };
      const lastLine = log.trim().split('\n').pop() ?? `exit code ${code}`;
      return { failure: { code: 'internal_error', evidence: lastLine, source: 'patch' }, log };
    } finally {
      clearTimeout(timer);
      detach();
    }
  }

  private env(variant: PreparedVariant, extra: Record<string, string>): string[] {
    const d = variant.detail as DockerVariantDetail;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.config.env)) env[k] = expandString(v, d.vars);
    for (const name of this.config.passEnv) {
      const value = process.env[name];
      if (value !== undefined && value !== '') env[name] = value;
    }
    Object.assign(env, extra, { ISOBENCH_RUN_ID: this.config.runId, ISOBENCH_VARIANT: variant.spec.id });
    if (this.config.packageRoot) env.ISOBENCH_PACKAGE_ROOT = this.config.packageRoot;
    return Object.entries(env).map(([k, v]) => `${k}=${v}`);
  }

  private deviceRequests(variant: PreparedVariant): Docker.DeviceRequest[] {
    const { gpus } = this.config;
    if (gpus === 'none') return [];
    const count = gpus === 'all' ? -1 : gpus === 'task' ? (gpuCount(variant.spec.task.gpu_config) ?? -1) : gpus;
    return [{ Driver: 'nvidia', Count: count, Capabilities: [['gpu']] }];
  }

  /** Creates and starts a labelled container; its logs stream into a bounded, redacted buffer. */
  private async run(
    variant: PreparedVariant,
    opts: { argv: string[]; env: Record<string, string>; mode: 'run' | 'check'; gpus: boolean; hostPort?: number; model?: string },
    signal: AbortSignal,
  ): Promise<ContainerRun> {
    const d = variant.detail as DockerVariantDetail;
    const env = this.env(variant, opts.env);
    const wrapped = d.patchDir !== undefined;
    // A local model file or folder is mounted read-only at the same path, so the server command names it as given.
    const modelBind = opts.model !== undefined && path.isAbsolute(opts.model) ? [`${opts.model}:${opts.model}:ro`] : [];
    const binds = [...(this.config.hfCache ? [`${this.config.hfCache}:/root/.cache/huggingface`] : []), ...(d.patchDir ? [`${d.patchDir}:${PATCH_MOUNT}:ro`] : []), ...modelBind];
    const port = `${this.config.containerPort}/tcp`;
    const bridged = opts.hostPort !== undefined && this.config.network === 'bridge';
    const secretValues = Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const log = new LogBuffer(this.config.logLimitBytes, secretValues);
    if (signal.aborted) throw new IsobenchError('E_CANCELLED', 'cancelled before the container started');
    let container: Docker.Container;
    try {
      if (this.config.hfCache) await mkdir(this.config.hfCache, { recursive: true });
      container = await this.docker.createContainer({
        name: `isobench-${this.config.runId}-${variant.spec.id}-${Date.now().toString(36)}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 200),
        Image: d.image,
        ...(wrapped ? { Entrypoint: ['/bin/sh', '-c', APPLY_WRAPPER, 'isobench-apply', opts.mode], Cmd: opts.argv } : { Entrypoint: opts.argv.slice(0, 1), Cmd: opts.argv.slice(1) }),
        Env: env,
        Labels: containerLabels(this.config.runId, variant.spec.id),
        ...(bridged ? { ExposedPorts: { [port]: {} } } : {}),
        HostConfig: {
          // An init process as PID 1 forwards SIGTERM to the server and reaps the workers it forks.
          Init: this.config.init,
          ShmSize: sizeBytes(this.config.shmSize),
          Binds: binds,
          NetworkMode: this.config.network,
          ...(bridged ? { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: String(opts.hostPort) }] } } : {}),
          ...(opts.gpus ? { DeviceRequests: this.deviceRequests(variant) } : {}),
        },
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: true });
    demux(stream, (b) => log.append(b));
    // `wait` asked before the start would answer at once for a created container: it is asked once started.
    let settle!: (exit: { code: number | null; signal: string | null }) => void;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => (settle = resolve));
    let stopping: Promise<void> | undefined;
    const run: ContainerRun = {
      id: container.id,
      exited,
      log,
      stop: () => {
        stopping ??= this.stopContainer(container, exited).finally(() => this.running.delete(run));
        return stopping;
      },
    };
    this.running.add(run);
    try {
      await container.start();
      container
        .wait()
        .then((r: { StatusCode?: number }) => settle({ code: r.StatusCode ?? null, signal: null }))
        .catch(() => settle({ code: null, signal: null }));
    } catch (err) {
      log.append(`isobench: the container did not start: ${errorMessage(err)}\n`);
      settle({ code: null, signal: null });
      await run.stop();
    }
    return run;
  }

  private async stopContainer(container: Docker.Container, exited: Promise<unknown>): Promise<void> {
    // Docker sends SIGTERM, then SIGKILL after t seconds.
    await container.stop({ t: Math.ceil(this.config.stopGraceMs / 1000) }).catch(() => undefined);
    await exited;
    await container.remove({ force: true }).catch(() => undefined);
  }

  async startServer(variant: PreparedVariant, opts: ServerStartOptions, signal: AbortSignal): Promise<ServerHandle> {
    const d = variant.detail as DockerVariantDetail;
    const hostPort = opts.port === 0 ? await freePort() : opts.port;
    const innerPort = this.config.network === 'host' ? hostPort : this.config.containerPort;
    const serverArgs = serverArgsFor(this.config.preset, opts.serverArgs);
    const argv = expandArgv(this.config.serverTemplate, { ...d.vars, model: opts.model, port: String(innerPort) }, { server_args: serverArgs });
    const local = path.isAbsolute(opts.model) && existsSync(opts.model) ? { model: opts.model } : {};
    const run = await this.run(variant, { argv, env: opts.env, mode: 'run', gpus: true, hostPort, ...local }, signal);
    const detach = stopOnAbort(signal, () => run.stop());
    void run.exited.then(detach);
    return { baseUrl: `http://127.0.0.1:${hostPort}`, log: () => run.log.text(), exited: run.exited, stop: () => run.stop(), readyPaths: PRESETS[this.config.preset].readiness, argv };
  }

  async exec(variant: PreparedVariant, opts: ExecOptions, signal: AbortSignal): Promise<ExecResult> {
    const d = variant.detail as DockerVariantDetail;
    const [first, ...rest] = opts.argv;
    if (first === undefined) throw new IsobenchError('E_INTERNAL', 'exec with an empty argv');
    const argv = first.endsWith('.py') ? expandArgv(this.config.execTemplate, { ...d.vars, script: first }, { args: rest }) : opts.argv;
    const run = await this.run(variant, { argv, env: opts.env, mode: 'run', gpus: true }, signal);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void run.stop();
    }, opts.timeoutMs);
    const detach = stopOnAbort(signal, () => run.stop());
    try {
      const { code } = await run.exited;
      await run.stop();
      return { exitCode: code, output: run.log.text(), timedOut };
    } finally {
      clearTimeout(timer);
      detach();
    }
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.running].map((r) => r.stop()));
    await cleanupContainerLeftovers(this.docker, this.config.runId).catch(() => undefined);
    // The untagged layers of this run's failed builds (and of builders gone), never a build still running elsewhere.
    if (this.config.build) await cleanupBuildLeftovers(this.docker, { mine: true }).catch(() => undefined);
    await rm(path.join(this.config.workDir, this.config.runId), { recursive: true, force: true });
  }
}

/** Why a pull failed: the disk filled up, the image does not exist (or is private), or pulling itself failed. */
export function pullFailure(image: string, message: string): Failure {
  const evidence = `image ${image} could not be pulled: ${message}`;
  if (/no space left on device|\[Errno 28\]/i.test(message)) return { code: 'disk_full', evidence, source: 'engine' };
  if (/manifest unknown|manifest for \S+ not found|pull access denied|repository does not exist|No such image/i.test(message)) return { code: 'image_missing', evidence, source: 'engine' };
  return { code: 'image_pull_failed', evidence, source: 'engine' };
}
