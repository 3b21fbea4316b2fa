// `npm run build` (and `prepare`, so `npm ci` builds): compiles src/ to dist/ with tsc and records the stamp of the
// sources it compiled (bin/source-stamp.js). The stamp is taken before compiling, so an edit made during the build
// makes dist/ stale, never falsely fresh. The new tree is compiled aside and swapped in, so files of deleted
// sources do not linger in dist/.
// `--soft` (what `prepare` passes, so that `npm install` in a tree that does not compile still installs): a failed
// build is reported and exits 0; dist/ stays stale and bin/isobench.js runs the sources. `npm run build` and
// `prepack` (npm pack, publish) fail on any error.
import { execFileSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceStamp, STAMP_FILE } from '../bin/source-stamp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = sourceStamp(root);
const tmp = path.join(root, `dist.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', tmp], { stdio: 'inherit' });
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
