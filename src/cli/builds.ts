import type { Command } from '@commander-js/extra-typings';
import { z } from 'zod';
import { checkNumber, parseOptions } from './options.js';

/**
 * `isobench builds`: the build cache (`$ISOBENCH_CACHE_DIR`, else ~/.cache/isobench; src/engine/source-build.ts),
 * listed, or pruned with `--prune` and what to remove. ccache's own folder is left to `ccache -C` / `ccache -M`.
 */
const BuildsOptionsSchema = z.object({
  cacheDir: z.string().min(1).optional(),
  prune: z.boolean().default(false),
  failed: z.boolean().default(false),
  olderThan: z
    .string()
    .transform((v, ctx) => {
      const r = checkNumber('--older-than', v, { gt: 0, example: '7' });
      if (typeof r === 'number') return r;
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    })
    .optional(),
  all: z.boolean().default(false),
  json: z.boolean().default(false),
});

function size(bytes: number | null): string {
  if (bytes === null) return '?';
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GiB` : `${(bytes / (1 << 20)).toFixed(0)} MiB`;
}

async function buildsCommand(raw: unknown): Promise<void> {
  const opts = parseOptions(BuildsOptionsSchema, raw);
  const { usageError } = await import('../core/index.js');
  const { defaultCacheRoot, listBuilds, removeBuild } = await import('../engine/index.js');
  const root = opts.cacheDir ?? defaultCacheRoot();
  const builds = await listBuilds(root);
  if (!opts.prune) {
    if (opts.failed || opts.olderThan !== undefined || opts.all) throw usageError('--prune', 'is needed with --failed, --older-than or --all', 'add --prune to remove, or leave them out to list');
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ root, builds })}\n`);
      return;
    }
    process.stdout.write(`build cache ${root}: ${builds.length} tree(s), ${size(builds.reduce((a, b) => a + (b.bytes ?? 0), 0))}\n`);
    for (const b of builds) {
      const what = b.status === 'built' ? `built in ${(b.seconds ?? 0).toFixed(1)} s` : b.status === 'failed' ? `${b.failure?.code ?? 'failed'}: ${b.failure?.evidence ?? ''}` : 'incomplete';
      process.stdout.write(`${b.recipe}  ${b.commit.slice(0, 12)}${b.patchSha256 ? ` + patch ${b.patchSha256.slice(0, 12)}` : ''}  ${b.status}  ${size(b.bytes)}  ${b.builtAt ?? ''}  ${what}${b.locked ? '  (building now)' : ''}\n`);
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
  const msg = { root, removed, skippedBuildingNow: kept, left: builds.length - removed };
  process.stdout.write(opts.json ? `${JSON.stringify(msg)}\n` : `removed ${removed} tree(s) from ${root}${kept > 0 ? ` (${kept} being built now, left)` : ''}; ${msg.left} left\n`);
}

/** `isobench builds`. */
export function register(program: Command): void {
  program
    .command('builds')
    .description('List the build cache of variants built from source, or prune it')
    .option('--cache-dir <dir>', 'the build cache (default: $ISOBENCH_CACHE_DIR, else ~/.cache/isobench)')
    .option('--prune', 'remove trees: those chosen by --failed, --older-than or --all (a tree being built is left)')
    .option('--failed', 'with --prune: failed and incomplete builds')
    .option('--older-than <days>', 'with --prune: builds finished more than this many days ago')
    .option('--all', 'with --prune: every tree')
    .option('--json', 'print JSON')
    .action(async (raw) => {
      await buildsCommand(raw);
    });
}
