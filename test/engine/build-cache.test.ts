import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BuildFailedError, buildAtCommit, listBuilds, type BuildRecipe } from '../../src/engine/index.js';

/**
 * The build cache on a small real repository and a real C compiler: patch bytes in the key, build_failed with the
 * compiler's line (kept, so it is not compiled again), `isobench builds` listing and pruning, and a cancelled build
 * leaving no process behind.
 */
const repoRoot = path.resolve(import.meta.dirname, '../..');
const hasCc = spawnSync('sh', ['-c', 'command -v cc']).status === 0;
const dir = mkdtempSync(path.join(tmpdir(), 'isobench-cache-'));
const cache = path.join(dir, 'cache');
const repo = path.join(dir, 'repo');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
mkdirSync(repo);
git('init', '-q');
writeFileSync(path.join(repo, 'x.c'), 'int f(void) {\n  return 1;\n}\n');
git('add', '.');
git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one');
const commit = git('rev-parse', 'HEAD');

const recipe: BuildRecipe = { name: 'tiny', outputs: ['x.o'], key: 'k1', steps: ({ tree }) => [['cc', '-c', path.join(tree, 'x.c'), '-o', path.join(tree, 'x.o')]] };
const patch = (line: string) => Buffer.from(['diff --git a/x.c b/x.c', '--- a/x.c', '+++ b/x.c', '@@ -1,3 +1,3 @@', ' int f(void) {', '-  return 1;', `+${line}`, ' }', ''].join('\n'));
const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/isobench.js'), 'builds', '--cache-dir', cache, ...args], { encoding: 'utf8' });

describe.skipIf(!hasCc)('build cache', () => {
  it('keys trees by commit and exact patch bytes; a patch that does not compile is build_failed with the compiler line, kept', async () => {
    const base = await buildAtCommit({ source: repo, commit, recipe, cacheRoot: cache, nice: 0 });
    expect(base.cached).toBe(false);
    expect((await buildAtCommit({ source: repo, commit: 'HEAD', recipe, cacheRoot: cache, nice: 0 })).cached).toBe(true);
    const p = await buildAtCommit({ source: repo, commit, recipe, cacheRoot: cache, nice: 0, patch: patch('  return 2;') });
    expect(p.tree).not.toBe(base.tree);
    expect(readFileSync(path.join(p.tree, 'x.c'), 'utf8')).toContain('return 2;');
    // One more byte (a trailing space) is another build.
    const q = await buildAtCommit({ source: repo, commit, recipe, cacheRoot: cache, nice: 0, patch: patch('  return 2; ') });
    expect(q.tree).not.toBe(p.tree);

    const bad = patch('  return 2 +;');
    const err = await buildAtCommit({ source: repo, commit, recipe, cacheRoot: cache, nice: 0, patch: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    const f = err as BuildFailedError;
    expect(f.failure.code).toBe('build_failed');
    expect(f.failure.evidence).toMatch(/x\.c:2:\d+: error: /);
    expect(f.log).toContain('$ cc -c');
    expect(f.cached).toBe(false);
    const again = (await buildAtCommit({ source: repo, commit, recipe, cacheRoot: cache, nice: 0, patch: bad }).catch((e: unknown) => e)) as BuildFailedError;
    expect(again.cached).toBe(true);
    expect(again.failure).toEqual(f.failure);

    // A patch that does not apply is patch_apply_failed (never forced), and kept too.
    const stale = Buffer.from(['diff --git a/x.c b/x.c', '--- a/x.c', '+++ b/x.c', '@@ -1,3 +1,3 @@', ' int f(void) {', '-  return 7;', '+  return 8;', ' }', ''].join('\n'));
    const na = (await buildAtCommit({ source: repo, commit, recipe, cacheRoot: cache, nice: 0, patch: stale }).catch((e: unknown) => e)) as BuildFailedError;
    expect(na.failure.code).toBe('patch_apply_failed');
  });

  it('isobench builds lists the trees and prunes failed ones, then all', async () => {
    const listed = await listBuilds(cache);
    expect(listed.map((b) => b.status).sort()).toEqual(['built', 'built', 'built', 'failed', 'failed']);
    const out = cli();
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain(`tiny  ${commit.slice(0, 12)}  built`);
    expect(out.stdout).toMatch(/failed .*build_failed: .*x\.c:2:\d+: error/);
    expect(cli('--failed').status).toBe(2);
    expect(cli('--prune').status).toBe(2);
    const pruned = cli('--prune', '--failed', '--json');
    expect(JSON.parse(pruned.stdout)).toMatchObject({ removed: 2, left: 3 });
    expect((await listBuilds(cache)).every((b) => b.status === 'built')).toBe(true);
    expect(JSON.parse(cli('--prune', '--all', '--json').stdout)).toMatchObject({ removed: 3, left: 0 });
    expect(existsSync(path.join(cache, 'tiny', commit))).toBe(false);
  });

  it('a cancelled build stops its whole process group and is not kept', async () => {
    const marker = path.join(dir, `sleeper-${process.pid}`);
    const slow: BuildRecipe = { name: 'tiny', outputs: [], key: 'slow', steps: () => [['sh', '-c', `sleep 300 & echo started; wait; echo ${marker}`]] };
    const abort = new AbortController();
    const build = buildAtCommit({ source: repo, commit, recipe: slow, cacheRoot: cache, nice: 0, signal: abort.signal, onLine: (l) => l === 'started' && abort.abort() });
    const err = await build.catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('E_CANCELLED');
    // The background `sleep 300` of the step's shell is gone with its group.
    const ps = spawnSync('sh', ['-c', 'ps -eo args | grep -c "^sleep 300$" || true'], { encoding: 'utf8' });
    expect(ps.stdout.trim()).toBe('0');
    // No half-built tree is left (nor its log): the next run builds it from the start.
    expect((await listBuilds(cache)).find((b) => b.tree.endsWith(commit))).toBeUndefined();
    expect(existsSync(path.join(cache, 'tiny', `${commit}.log`))).toBe(false);
  });
});
