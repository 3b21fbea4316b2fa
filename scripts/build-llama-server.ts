/**
 * Builds llama-server at commits of a llama.cpp repository or bundle into the build cache
 * (`$ISOBENCH_CACHE_DIR`, else ~/.cache/isobench; see src/engine/source-build.ts) and prints each binary's path.
 *   npx tsx scripts/build-llama-server.ts <repo|bundle> <commit>... [--jobs N]
 */
import { buildAtCommit, llamaCppServerRecipe } from '../src/engine/source-build.js';

const args = process.argv.slice(2);
const j = args.indexOf('--jobs');
const jobs = j >= 0 ? Number(args.splice(j, 2)[1]) : 1;
const [source, ...commits] = args;
if (source === undefined || commits.length === 0 || !Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write('usage: npx tsx scripts/build-llama-server.ts <repo|bundle> <commit>... [--jobs N]\n');
  process.exit(2);
}
for (const commit of commits) {
  const r = await buildAtCommit({ source, commit, recipe: llamaCppServerRecipe(), jobs });
  process.stdout.write(`${r.commit} ${r.cached ? 'cached' : `built in ${r.seconds.toFixed(0)} s`} ${r.outputs['build/bin/llama-server'] ?? ''}\n`);
}
