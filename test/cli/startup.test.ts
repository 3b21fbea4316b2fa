import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { distIsFresh, sourceStamp, STAMP_FILE } from '../../bin/source-stamp.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'isobench-startup-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * The npm packages our own modules (src/ or dist/) import while `isobench <args>` runs in a child process, recorded
 * by a module resolve hook. Works whether bin/isobench.js runs dist/ or falls back to the sources through tsx.
 */
function packagesLoaded(args: string[]): string[] {
  const log = path.join(tmp, `resolved-${Math.random().toString(36).slice(2)}.txt`);
  const hooks = path.join(tmp, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  const ours = ctx.parentURL !== undefined && !ctx.parentURL.includes('/node_modules/') && /\\/(src|dist)\\//.test(ctx.parentURL);
  if (ours && r.url.includes('/node_modules/')) appendFileSync(${JSON.stringify(log)}, spec + '\\n');
  return r;
}
`,
  );
  const register = path.join(tmp, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  execFileSync(process.execPath, ['--import', pathToFileURL(register).href, path.join(repoRoot, 'bin/isobench.js'), ...args], { cwd: repoRoot, stdio: 'ignore' });
  const specs = (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').filter(Boolean);
  return [...new Set(specs.map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)))].sort();
}

describe('start-up: heavy modules load only in the commands that use them', () => {
  // zod is not among them: options are read by the tables of src/cli/options.ts; zod loads with the stages that
  // validate files (task catalogs, engine configs, sim profiles).
  const light = ['@commander-js/extra-typings', 'picocolors'];

  // The bundle inlines these (nothing is loaded from node_modules); the sources import them.
  const beyondLight = (args: string[]) => packagesLoaded(args).filter((p) => !light.includes(p));

  it('isobench --help loads only commander and picocolors', () => {
    expect(beyondLight(['--help'])).toEqual([]);
  });

  it('isobench parse FILE loads only commander and picocolors', () => {
    const file = path.join(tmp, 'serve.log');
    writeFileSync(file, '============ Serving Benchmark Result ============\nMean TTFT (ms): 10.5\n');
    expect(beyondLight(['parse', file])).toEqual([]);
  });
});

describe('bin/isobench.js runs dist/ only when it was built from the sources as they are', () => {
  function tree(): string {
    const root = mkdtempSync(path.join(tmp, 'tree-'));
    mkdirSync(path.join(root, 'src/cli'), { recursive: true });
    writeFileSync(path.join(root, 'src/cli/main.ts'), 'export {};\n');
    writeFileSync(path.join(root, 'tsconfig.json'), '{}\n');
    mkdirSync(path.join(root, 'dist/bundle'), { recursive: true });
    writeFileSync(path.join(root, 'dist/bundle/main.js'), 'export {};\n');
    writeFileSync(path.join(root, STAMP_FILE), sourceStamp(root));
    return root;
  }

  it('is fresh right after the build', () => {
    expect(distIsFresh(tree())).toBe(true);
  });

  it('is stale after an edit, even one that keeps the size, a new file, a deleted file or a tsconfig change', () => {
    const edited = tree();
    appendFileSync(path.join(edited, 'src/cli/main.ts'), '// more\n');
    expect(distIsFresh(edited)).toBe(false);

    const sameSize = tree();
    const file = path.join(sameSize, 'src/cli/main.ts');
    writeFileSync(file, 'export {}?\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(distIsFresh(sameSize)).toBe(false);

    const added = tree();
    writeFileSync(path.join(added, 'src/cli/new.ts'), 'export {};\n');
    expect(distIsFresh(added)).toBe(false);

    const removed = tree();
    rmSync(path.join(removed, 'src/cli/main.ts'));
    expect(distIsFresh(removed)).toBe(false);

    const config = tree();
    writeFileSync(path.join(config, 'tsconfig.build.json'), '{}\n');
    expect(distIsFresh(config)).toBe(false);
  });

  it('is stale without a stamp or without dist/, and fresh in an installed package (dist/ without src/)', () => {
    const noStamp = tree();
    rmSync(path.join(noStamp, STAMP_FILE));
    expect(distIsFresh(noStamp)).toBe(false);

    const noDist = tree();
    rmSync(path.join(noDist, 'dist'), { recursive: true });
    expect(distIsFresh(noDist)).toBe(false);

    const installed = tree();
    rmSync(path.join(installed, 'src'), { recursive: true });
    rmSync(path.join(installed, STAMP_FILE));
    expect(distIsFresh(installed)).toBe(true);
  });
});
