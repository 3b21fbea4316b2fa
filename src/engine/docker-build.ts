import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type Docker from 'dockerode';
import { IsobenchError, errorMessage, patchSha256, redactSecrets, type Failure } from '../core/index.js';
import { APPLY_WRAPPER, EXIT_NOT_APPLIED, PATCH_MOUNT } from './docker.js';
import { BUILD_LABELS, ownerGone } from './docker-labels.js';
import { applyFailure, patchFileBytes } from './patch.js';
import { BuildFailedError, firstErrorLine, recallFailure, recipeKey, rememberFailure, withLock, type BuildRecipe } from './source-build.js';

/**
 * Agent variants of the docker engine built as images: FROM the baseline image (by its id), the patch copied in and
 * applied to the engine's source tree inside it with the agent wrapper (git apply, or patch without fuzz; never
 * forced), then the recipe's build steps run there. The image is tagged `isobench-build:<key>`, key = (base image id,
 * patch sha256, recipe key, source folder): a second run finds the tag and builds nothing. Every image it makes
 * (the intermediate ones of a failed build too) carries BUILD_LABELS, so prune and the leftover clean-up find them.
 * A build a step refused (exit code 1-127: the compiler, or the patch not applying) is remembered in the build cache
 * folder as the process engine remembers its failed trees (`<cacheRoot>/docker/<key>/` holding the failed stamp,
 * `<key>.log` the whole log): the same key fails again at once, with the same evidence, no docker build started.
 * One builder per key at a time (`<key>.lock`, the process engine's lock): a second waits, then takes the first's
 * image or its remembered failure.
 */

export const BUILD_REPOSITORY = 'isobench-build';
/** The outputs check's exit code: the build ran but did not make what the recipe names. */
const EXIT_NO_OUTPUT = 96;

export interface DockerBuildRequest {
  docker: Docker;
  /** The baseline image (name as configured) and its id. */
  baseImage: string;
  baseId: string;
  /** The engine commit the base image holds (listed by `isobench builds`; not part of the key). */
  commit: string;
  /** The engine's source tree inside the image: the patch applies there and the steps run there. */
  sourceDir: string;
  patch: Uint8Array;
  recipe: BuildRecipe;
  jobs: number;
  /** Where build logs are written (`<cacheRoot>/docker/<key>.log`). */
  cacheRoot: string;
  signal: AbortSignal;
  onLine?: (line: string) => void;
}

export interface DockerBuildResult {
  image: string;
  cached: boolean;
  /** Seconds this call spent building (0 when cached). */
  seconds: number;
  /** Seconds the build took when it was made. */
  builtSeconds: number;
  logFile: string;
}

/** The tag of a build: the same base image, patch bytes and build config give the same tag. */
export function buildImageTag(req: Pick<DockerBuildRequest, 'baseId' | 'patch' | 'recipe' | 'sourceDir'>): { tag: string; key: string } {
  const key = recipeKey({ base: req.baseId, patch: patchSha256(req.patch), recipe: req.recipe.key, sourceDir: req.sourceDir });
  return { tag: `${BUILD_REPOSITORY}:${key}`, key };
}

/** A JSON-form Dockerfile instruction (no shell parses it). */
const json = (argv: readonly string[]): string => JSON.stringify(argv);

/** Build arguments are the steps' environment (set for RUN only, not kept in the image). */
function dockerfile(req: DockerBuildRequest, key: string, workDir: string): string {
  const { recipe, sourceDir, jobs } = req;
  const labels = { [BUILD_LABELS.marker]: '1', [BUILD_LABELS.key]: key, [BUILD_LABELS.base]: req.baseImage, [BUILD_LABELS.patch]: patchSha256(req.patch), [BUILD_LABELS.owner]: `${hostname()}:${process.pid}` };
  const env = { ...Object.fromEntries(Object.entries(recipe.env ?? {}).map(([k, v]) => [k, v.replaceAll('{jobs}', String(jobs))])), ISOBENCH_PACKAGE_ROOT: sourceDir };
  const lines = [
    `FROM ${req.baseId}`,
    `LABEL ${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`,
    `COPY agent.patch apply.sh ${PATCH_MOUNT}/`,
    ...Object.entries(env).map(([k, v]) => `ARG ${k}=${JSON.stringify(v)}`),
    `WORKDIR ${sourceDir}`,
    `RUN ${json(['/bin/sh', `${PATCH_MOUNT}/apply.sh`, 'apply'])}`,
    ...recipe.steps({ tree: sourceDir, jobs, ccache: false }).map((argv) => `RUN ${json(argv)}`),
  ];
  if (recipe.outputs.length > 0) {
    const files = recipe.outputs.map((o) => JSON.stringify(path.posix.join(sourceDir, o))).join(' ');
    lines.push(`RUN ${json(['/bin/sh', '-c', `for f in ${files}; do [ -e "$f" ] || { echo "isobench: the build made no $f" >&2; exit ${EXIT_NO_OUTPUT}; }; done`])}`);
  }
  lines.push(`WORKDIR ${workDir}`);
  return `${lines.join('\n')}\n`;
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/** Runs one `docker build` of `context` (a folder); resolves with the daemon's error event, if any. */
async function dockerBuild(docker: Docker, context: string, files: string[], opts: Record<string, unknown>, signal: AbortSignal, onText: (text: string) => void): Promise<BuildEvent | null> {
  const stream = await docker.buildImage({ context, src: files }, { ...opts, rm: true, forcerm: true, abortSignal: signal });
  return new Promise((resolve, reject) => {
    let failed: BuildEvent | null = null;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve(failed)),
      (e: BuildEvent) => {
        if (e.stream !== undefined) onText(e.stream);
        if (e.error !== undefined) {
          failed = e;
          onText(`${e.error}\n`);
        }
      },
    );
  });
}

/** The exit code of the step that failed, when the daemon's error says one. */
function exitCodeOf(event: BuildEvent): number {
  return event.errorDetail?.code ?? Number(/non-zero code: (\d+)/.exec(event.error ?? '')?.[1]);
}

/**
 * True when a step exited with a code of its own (1-127): the patch or the tree was refused, and the same bytes and
 * config fail the same way. A step killed by a signal (128+: the OOM killer) or a daemon error (no code) is not.
 */
function refusedByStep(event: BuildEvent): boolean {
  const code = exitCodeOf(event);
  return Number.isInteger(code) && code > 0 && code < 128;
}

/** The failure of a build that the daemon reported: the patch did not apply, or a step (the compiler) refused it. */
function failureOf(event: BuildEvent, log: string): Failure {
  const code = exitCodeOf(event);
  if (code === EXIT_NOT_APPLIED) return applyFailure(log);
  // Docker's own step lines (`Step 4/7 : RUN ...`) are commands, not the compiler's output.
  const first = firstErrorLine(log.replace(/^Step \d+\/\d+ : /gm, '$ '));
  const evidence = first?.evidence ?? redactSecrets(event.error ?? 'the image build failed');
  if (code === EXIT_NO_OUTPUT) return { code: 'build_failed', evidence, source: 'build' };
  return { code: 'build_failed', evidence, source: 'build', ...(first ? { line: first.line } : {}) };
}

/**
 * The variant image: found by its tag (cached), else built. A patch that does not apply is patch_apply_failed, a step
 * that fails build_failed with the compiler's first error line; both throw BuildFailedError with the whole log.
 */
export async function buildVariantImage(req: DockerBuildRequest): Promise<DockerBuildResult> {
  const { tag, key } = buildImageTag(req);
  const logDir = path.join(req.cacheRoot, 'docker');
  // Where a refused build is remembered (a folder, as the process engine's trees, holding only the failed stamp).
  const failedDir = path.join(logDir, key);
  const logFile = `${failedDir}.log`;
  const done = async (): Promise<DockerBuildResult | null> => {
    await recallFailure(failedDir, logFile, req.recipe.key);
    const found = await req.docker
      .getImage(tag)
      .inspect()
      .catch(() => null);
    const seconds = Number(found?.Config.Labels?.[BUILD_LABELS.seconds]);
    if (found && found.Config.Labels?.[BUILD_LABELS.key] === key && Number.isFinite(seconds)) {
      return { image: tag, cached: true, seconds: 0, builtSeconds: seconds, logFile };
    }
    return null;
  };
  const hit = await done();
  if (hit) return hit;
  await mkdir(logDir, { recursive: true });
  return withLock(`${failedDir}.lock`, req.signal, async () => (await done()) ?? build(req, tag, key, failedDir, logFile));
}

/** Builds the image (under the key's lock); a refused build is remembered. */
async function build(req: DockerBuildRequest, tag: string, key: string, failedDir: string, logFile: string): Promise<DockerBuildResult> {
  const base = await req.docker.getImage(req.baseId).inspect();
  const t0 = performance.now();
  const ctx = await mkdtemp(path.join(tmpdir(), 'isobench-docker-build-'));
  let log = '';
  let partial = '';
  const onText = (text: string): void => {
    log += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) req.onLine?.(stripVTControlCharacters(l));
  };
  try {
    await writeFile(path.join(ctx, 'agent.patch'), patchFileBytes(req.patch));
    await writeFile(path.join(ctx, 'apply.sh'), APPLY_WRAPPER);
    await writeFile(path.join(ctx, 'Dockerfile'), dockerfile(req, key, base.Config.WorkingDir || '/'));
    let failed: BuildEvent | null;
    try {
      failed = await dockerBuild(req.docker, ctx, ['Dockerfile', 'agent.patch', 'apply.sh'], { t: tag }, req.signal, onText);
    } catch (err) {
      if (req.signal.aborted) throw new IsobenchError('E_CANCELLED', 'image build cancelled');
      throw new IsobenchError('E_ENGINE', `docker build of ${tag} failed: ${errorMessage(err)}`);
    }
    // The classic builder colours a step's stderr (ESC[91m): the log and the evidence are plain text.
    const text = redactSecrets(stripVTControlCharacters(log));
    if (failed && refusedByStep(failed)) {
      const stamp = { commit: req.commit, recipeKey: req.recipe.key, seconds: (performance.now() - t0) / 1000, builtAt: new Date().toISOString(), source: req.baseId, base: req.baseImage, patchSha256: patchSha256(req.patch) };
      await rememberFailure(failedDir, logFile, stamp, failureOf(failed, text), text);
    }
    await writeFile(logFile, text);
    if (failed) throw new BuildFailedError(failureOf(failed, text), text, logFile, false);
    // The time it took goes on the image itself: a later run reads it from the tag it reuses.
    const builtSeconds = Number(((performance.now() - t0) / 1000).toFixed(3));
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${tag}\nLABEL ${BUILD_LABELS.seconds}="${builtSeconds}" ${BUILD_LABELS.builtAt}="${new Date().toISOString()}"\n`);
    const relabel = await dockerBuild(req.docker, ctx, ['Dockerfile'], { t: tag }, req.signal, () => undefined);
    if (relabel) throw new IsobenchError('E_ENGINE', `docker build could not label ${tag}: ${relabel.error ?? ''}`);
    return { image: tag, cached: false, seconds: (performance.now() - t0) / 1000, builtSeconds, logFile };
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/** A variant image of the build cache, as `isobench builds` lists it. */
export interface CachedBuildImage {
  image: string;
  id: string;
  base: string | null;
  patchSha256: string | null;
  seconds: number | null;
  builtAt: string | null;
  bytes: number;
}

/** Every tagged variant image on the daemon. */
export async function listBuildImages(docker: Docker): Promise<CachedBuildImage[]> {
  const images = await docker.listImages({ filters: { label: [`${BUILD_LABELS.marker}=1`], reference: [`${BUILD_REPOSITORY}:*`] } });
  return images
    .flatMap((i) =>
      (i.RepoTags ?? [])
        .filter((t) => t.startsWith(`${BUILD_REPOSITORY}:`))
        .map((t) => {
          const seconds = Number(i.Labels?.[BUILD_LABELS.seconds]);
          return { image: t, id: i.Id, base: i.Labels?.[BUILD_LABELS.base] ?? null, patchSha256: i.Labels?.[BUILD_LABELS.patch] ?? null, seconds: Number.isFinite(seconds) ? seconds : null, builtAt: i.Labels?.[BUILD_LABELS.builtAt] ?? null, bytes: i.Size };
        }),
    )
    .sort((a, b) => a.image.localeCompare(b.image));
}

/** Removes a variant image (its tag; Docker keeps layers other images share); false when a container still uses it. */
export async function removeBuildImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).remove();
    return true;
  } catch {
    return false;
  }
}

/**
 * What builds left behind: containers of a build whose isobench process is gone (never measurement containers,
 * which carry a run label), and untagged images of failed or cancelled builds whose builder is gone (with `mine`,
 * this process's too; with `all`, every such untagged image). Returns what was removed.
 */
export async function cleanupBuildLeftovers(docker: Docker, opts: { all?: boolean; mine?: boolean } = {}): Promise<{ containers: string[]; images: string[] }> {
  const me = `${hostname()}:${process.pid}`;
  const gone = (owner: string | undefined): boolean => opts.all === true || ownerGone(owner) || (opts.mine === true && owner === me);
  const label = [`${BUILD_LABELS.marker}=1`];
  const containers: string[] = [];
  for (const c of await docker.listContainers({ all: true, filters: { label } })) {
    if (c.Labels['isobench.run'] !== undefined || !gone(c.Labels[BUILD_LABELS.owner])) continue;
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    containers.push(c.Names[0]?.replace(/^\//, '') ?? c.Id);
  }
  const images: string[] = [];
  for (const i of await docker.listImages({ filters: { label, dangling: ['true'] } })) {
    if (!gone(i.Labels?.[BUILD_LABELS.owner])) continue;
    if (await removeBuildImage(docker, i.Id)) images.push(i.Id);
  }
  return { containers, images };
}
