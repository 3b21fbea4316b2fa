// `npm run build` (and `prepare`, so `npm ci` builds): compiles src/ to dist/ with tsc (the library entries and
// their .d.ts), bundles the CLI with esbuild into dist/bundle/ (what bin/isobench.js runs: commander, zod and
// picocolors inlined, every other package external, each lazily imported stage a chunk of its own, so a start reads
// a few files instead of hundreds), and records the stamp of the sources it compiled (bin/source-stamp.js). The stamp is taken before compiling, so an edit made during the build
// makes dist/ stale, never falsely fresh. The new tree is compiled aside and swapped in, so files of deleted
// sources do not linger in dist/.
// `--soft` (what `prepare` passes, so that `npm install` in a tree that does not compile still installs): a failed
// build is reported and exits 0; dist/ stays stale and bin/isobench.js runs the sources. `npm run build` and
// `prepack` (npm pack, publish) fail on any error.
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceStamp, STAMP_FILE } from '../bin/source-stamp.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Packages inlined into the bundle: the ones every start loads (the rest stay in node_modules, loaded on use). */
const INLINE = new Set(['@commander-js/extra-typings', 'commander', 'picocolors', 'zod']);

/**
 * The CLI as ESM chunks in `outdir`. The chunks sit two levels below the package root like src/<stage>/ files, so
 * paths a module derives from its own URL (the package root, a require() from here) resolve the same.
 */
async function bundleCli(outdir) {
  const { build } = await import('esbuild');
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  await build({
    entryPoints: { main: path.join(root, 'src/cli/main.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    chunkNames: 'chunk-[hash]',
    external: Object.keys(pkg.dependencies ?? {}).filter((d) => !INLINE.has(d)),
    // commander is CommonJS: its require() of node built-ins needs a real require in an ES module.
    banner: { js: "import { createRequire as __isobenchCreateRequire } from 'node:module'; const require = __isobenchCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
}
const stamp = sourceStamp(root);
const tmp = path.join(root, `dist.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', tmp], { stdio: 'inherit' });
  await bundleCli(path.join(tmp, 'bundle'));
  writeFileSync(path.join(tmp, path.basename(STAMP_FILE)), stamp);
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  renameSync(tmp, path.join(root, 'dist'));
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.argv.includes('--soft')) {
    process.stderr.write('bin/isobench.js runs the TypeScript sources through tsx until `npm run build` succeeds\n');
  } else process.exit(1);
}
