import type { Command } from '@commander-js/extra-typings';
import { addOptionsAction, opt, type OptionTable, type OptionsOf } from './options.js';

/**
 * `isobench builds`: the build cache (`$ISOBENCH_CACHE_DIR`, else ~/.cache/isobench; src/engine/source-build.ts),
 * listed, or pruned with `--prune` and what to remove. ccache's own folder is left to `ccache -C` / `ccache -M`.
 * With a Docker daemon (`--docker-host`, else $DOCKER_HOST when set) the docker engine's variant images
 * (`isobench-build:<key>`, found by their labels) are listed and pruned alongside; its failed builds are remembered in
 * the cache folder (recipe `docker`) and listed and pruned as the failed trees are, daemon or not.
 */

const BUILDS_OPTIONS = {
  cacheDir: opt.text('--cache-dir <dir>', 'the build cache (default: $ISOBENCH_CACHE_DIR, else ~/.cache/isobench)'),
  dockerHost: opt.text('--docker-host <url>', "also the docker engine's variant images on this daemon (default: $DOCKER_HOST when set)"),
  prune: opt.bool('--prune', 'remove trees: those chosen by --failed, --older-than or --all (a tree being built is left)'),
  failed: opt.bool('--failed', 'with --prune: failed and incomplete builds (docker: untagged layers of failed builds)'),
  olderThan: opt.num('--older-than <days>', 'with --prune: builds finished more than this many days ago', { gt: 0, example: '7' }),
  all: opt.bool('--all', 'with --prune: every tree'),
  json: opt.bool('--json', 'print JSON'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { builds: BUILDS_OPTIONS };

function size(bytes: number | null): string {
  if (bytes === null) return '?';
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GiB` : `${(bytes / (1 << 20)).toFixed(0)} MiB`;
}

async function buildsCommand(opts: OptionsOf<typeof BUILDS_OPTIONS>): Promise<void> {
  const { usageError } = await import('../core/index.js');
  const { defaultCacheRoot, listBuilds, removeBuild } = await import('../engine/index.js');
  const root = opts.cacheDir ?? defaultCacheRoot();
  const builds = await listBuilds(root);
  const docker = await dockerImages(opts.dockerHost);
  if (!opts.prune) {
    if (opts.failed || opts.olderThan !== undefined || opts.all) throw usageError('--prune', 'is needed with --failed, --older-than or --all', 'add --prune to remove, or leave them out to list');
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ root, builds, ...(docker ? { docker: { host: docker.host, images: docker.images } } : {}) })}\n`);
      return;
    }
    process.stdout.write(`build cache ${root}: ${builds.length} build(s), ${size(builds.reduce((a, b) => a + (b.bytes ?? 0), 0))}\n`);
    for (const b of builds) {
      const what = b.status === 'built' ? `built in ${(b.seconds ?? 0).toFixed(1)} s` : b.status === 'failed' ? `${b.failure?.code ?? 'failed'}: ${b.failure?.evidence ?? ''}` : 'incomplete';
      process.stdout.write(`${b.recipe}  ${b.commit.slice(0, 12)}${b.base !== null ? ` (image ${b.base})` : ''}${b.patchSha256 ? ` + patch ${b.patchSha256.slice(0, 12)}` : ''}  ${b.status}  ${size(b.bytes)}  ${b.builtAt ?? ''}  ${what}${b.locked ? '  (building now)' : ''}\n`);
    }
    if (docker) {
      process.stdout.write(`docker images on ${docker.host}: ${docker.images.length}\n`);
      for (const i of docker.images) {
        process.stdout.write(`docker  ${i.image}  ${i.base ?? '?'}${i.patchSha256 ? ` + patch ${i.patchSha256.slice(0, 12)}` : ''}  built  ${size(i.bytes)}  ${i.builtAt ?? ''}  built in ${(i.seconds ?? 0).toFixed(1)} s\n`);
      }
    }
    return;
  }
  if (!opts.failed && opts.olderThan === undefined && !opts.all) throw usageError('--prune', 'needs what to remove: --failed, --older-than <days> or --all', 'e.g. isobench builds --prune --older-than 14');
  const cutoff = opts.olderThan === undefined ? null : Date.now() - opts.olderThan * 86_400_000;
  const chosen = builds.filter((b) => opts.all || (opts.failed && b.status !== 'built') || (cutoff !== null && (b.builtAt === null || Date.parse(b.builtAt) < cutoff)));
  let removed = 0;
  let kept = 0;
  for (const b of chosen) {
    if (await removeBuild(b)) removed++;
    else kept++;
  }
  let imagesRemoved = 0;
  if (docker) {
    const { removeBuildImage, cleanupBuildLeftovers } = await import('../engine/docker-build.js');
    // Untagged layers of failed or cancelled builds whose builder is gone go with --failed and --all.
    if (opts.failed || opts.all) imagesRemoved += (await cleanupBuildLeftovers(docker.client)).images.length;
    for (const i of docker.images.filter((x) => opts.all || (cutoff !== null && (x.builtAt === null || Date.parse(x.builtAt) < cutoff)))) {
      if (await removeBuildImage(docker.client, i.image)) imagesRemoved++;
    }
  }
  const msg = { root, removed, skippedBuildingNow: kept, left: builds.length - removed, ...(docker ? { imagesRemoved } : {}) };
  process.stdout.write(opts.json ? `${JSON.stringify(msg)}\n` : `removed ${removed} build(s) from ${root}${kept > 0 ? ` (${kept} being built now, left)` : ''}; ${msg.left} left${docker ? `; ${imagesRemoved} image(s) from ${docker.host}` : ''}\n`);
}

/** The docker engine's variant images on the daemon of `--docker-host`, else $DOCKER_HOST; undefined without either. */
async function dockerImages(given: string | undefined) {
  const host = given ?? (process.env.DOCKER_HOST === '' ? undefined : process.env.DOCKER_HOST);
  if (host === undefined) return undefined;
  const [{ dockerClient }, { listBuildImages }, { IsobenchError, errorMessage }] = await Promise.all([import('../engine/docker-client.js'), import('../engine/docker-build.js'), import('../core/index.js')]);
  const client = dockerClient(host);
  try {
    return { host, client, images: await listBuildImages(client) };
  } catch (err) {
    // Asked for: an error. Only $DOCKER_HOST set: the tree cache is still listed, with a note.
    if (given === undefined) {
      process.stderr.write(`note: the docker engine's variant images are not listed: ${host} did not answer (${errorMessage(err)})\n`);
      return undefined;
    }
    throw new IsobenchError('E_ENGINE', `cannot list the variant images on ${host}: ${errorMessage(err)}`, { hint: 'start dockerd, or drop --docker-host to see the tree cache only' });
  }
}

/** `isobench builds`. */
export function register(program: Command): void {
  const cmd = program
    .command('builds')
    .description('List the build cache of variants built from source, or prune it');
  addOptionsAction(cmd, BUILDS_OPTIONS, buildsCommand);
}
