import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDatasetRows } from '../../src/dataset/index.js';
import { openStore } from '../../src/store/index.js';
import { repoRoot, tempDir, TINY_SERVING } from './helpers.js';

/**
 * `isobench run` (the bin, spawned) on the process engine with every variant built from a small real repository by
 * the host's C compiler: build time stored per variant (store, status, dataset, the run's summary) apart from the
 * measurements, reused from the build cache by the next run; and Ctrl-C in the middle of a build.
 */
const hasCc = spawnSync('sh', ['-c', 'command -v cc']).status === 0;
const bin = path.join(repoRoot, 'bin/isobench.js');

interface Fixture {
  dir: string;
  cache: string;
  parent: string;
  commit: string;
  engine: string;
  tasks: string;
}

/** A repository with a parent and a commit changing `engine.c`, a catalog of that task, and a process engine config building it. */
function fixture(steps: string[]): Fixture {
  const dir = tempDir('isobench-build-run-');
  const repo = path.join(dir, 'repo');
  mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  writeFileSync(path.join(repo, 'engine.c'), 'int main(void) { return 0; }\n');
  // A build that is slow for the commit only: a background `sleep` the cancel must not leave behind (its pid noted).
  writeFileSync(path.join(repo, 'build.sh'), `cd "$(dirname "$0")"\nif grep -q slow engine.c; then sleep 300 & echo $! > ${JSON.stringify(path.join(dir, 'sleep.pid'))}; echo building slowly; wait; fi\ncc -O0 -o engine engine.c\n`);
  git('add', '.');
  git('commit', '-qm', 'parent');
  const parent = git('rev-parse', 'HEAD');
  writeFileSync(path.join(repo, 'engine.c'), '/* slow */\nint main(void) { return 0; }\n');
  git('commit', '-qam', 'commit');
  const commit = git('rev-parse', 'HEAD');
  const tasks = path.join(dir, 'tasks.json');
  writeFileSync(tasks, JSON.stringify({ version: 1, tasks: [{ commit, parent, perf_command: TINY_SERVING }] }));
  const cache = path.join(dir, 'cache');
  const engine = path.join(dir, 'engine.json');
  writeFileSync(
    engine,
    JSON.stringify({
      serverTemplate: `${process.execPath} ${bin} sim serve --model {model} --port {port} --decode-base-ms 2 {server_args}`,
      registryDir: path.join(dir, 'registry'),
      workDir: path.join(dir, 'work'),
      stopGraceMs: 2000,
      build: { repository: repo, steps, nice: 0, cacheDir: cache },
    }),
  );
  return { dir, cache, parent, commit, engine, tasks };
}

/** True while `pid` exists and is not a zombie (a killed child whose parent has not reaped it yet). */
function running(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function runArgs(f: Fixture, store: string, variants: string, extra: string[] = []): string[] {
  return [bin, 'run', '--tasks', f.tasks, '--engine', 'process', '--engine-config', f.engine, '--store', store, '--trials', '1', '--warmups', '0', '--variants', variants, '--timeout-startup', '90', '--oom-fallback-max-model-len', '0', ...extra];
}

/** Runs the bin to the end: exit code, stdout, stderr. */
function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!hasCc)('isobench run with variants built from source (process engine, host cc)', () => {
  it('stores each build time apart from the measurements; a second run takes every build from the cache', async () => {
    const f = fixture(['cc -O0 -o {tree}/engine {tree}/engine.c']);
    const store1 = path.join(f.dir, 'one.sqlite');
    const first = await runBin(runArgs(f, store1, 'baseline,human'));
    expect(first.code, first.stderr).toBe(0);
    process.stdout.write(first.stdout.slice(first.stdout.indexOf('builds from source')));
    expect(first.stdout).toContain('builds from source (2 built, 0 from the cache)');
    expect(first.stdout).toMatch(/run wall time \S+: \S+ building, \S+ preparing, measuring and the rest/);
    expect(first.stderr).toMatch(/ \(\d+\.\ds building from source\): 2 ok/);

    const store = await openStore(store1);
    let builtSeconds: number[];
    try {
      const variants = await store.listVariants();
      expect(variants.map((v) => v.build?.cached)).toEqual([false, false]);
      builtSeconds = variants.map((v) => v.build?.seconds ?? -1);
      expect(builtSeconds.every((s) => s > 0)).toBe(true);
      expect(variants.map((v) => v.build?.where).sort()).toEqual([path.join(f.cache, 'vllm', f.commit), path.join(f.cache, 'vllm', f.parent)].sort());
      const [row] = await buildDatasetRows(store);
      expect(row?.baseline_build_s).toBe(variants.find((v) => v.kind === 'baseline')?.build?.seconds);
      expect(row?.human_build_cached).toBe(false);
      expect(row?.agent_build_s).toBeNull();
      // The build is not in any measured metric: the trial's duration is its own.
      const trials = await store.listTrials();
      expect(trials).toHaveLength(2);
    } finally {
      await store.close();
    }
    const status = spawnSync(process.execPath, [bin, 'status', '--store', store1], { encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/variant\s+ok\s+failed\s+build/);
    expect(status.stdout).toMatch(/baseline\s+1\s+0\s+\d+\.\d s/);

    // Another store, same cache: nothing is compiled again, and the stored build time is the one it took.
    const store2 = path.join(f.dir, 'two.sqlite');
    const second = await runBin(runArgs(f, store2, 'baseline,human'));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('builds from source (0 built, 2 from the cache)');
    const again = await openStore(store2);
    try {
      const variants = await again.listVariants();
      expect(variants.map((v) => v.build?.cached)).toEqual([true, true]);
      expect(variants.map((v) => v.build?.seconds)).toEqual(builtSeconds);
      const [row] = await buildDatasetRows(again);
      expect(row?.baseline_build_cached).toBe(true);
    } finally {
      await again.close();
    }
  }, 300_000);

  it('Ctrl-C while a variant builds: exit 130, no build process or tree left, what was measured before stays stored', async () => {
    const f = fixture(['sh {tree}/build.sh']);
    const storePath = path.join(f.dir, 'store.sqlite');
    // Run 1 measures the baseline (its build is quick).
    const first = await runBin(runArgs(f, storePath, 'baseline'));
    expect(first.code, first.stderr).toBe(0);
    // Run 2 adds the human variant, whose build is slow: SIGINT once it is building.
    const child = spawn(process.execPath, runArgs(f, storePath, 'baseline,human', ['--json-events']), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (/"type":"variant_build".*building slowly/.test(line)) resolve();
      });
      void exited.then((code) => reject(new Error(`run exited (${String(code)}) before building: ${stderr}`)));
    });
    const sleeper = Number(readFileSync(path.join(f.dir, 'sleep.pid'), 'utf8'));
    expect(running(sleeper)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    // The build's process group is gone (the background sleep with it: at most a zombie until its new parent reaps
    // it), the half-built tree too.
    expect(running(sleeper)).toBe(false);
    expect(existsSync(path.join(f.cache, 'vllm', f.commit))).toBe(false);
    expect(existsSync(path.join(f.cache, 'vllm', f.parent))).toBe(true);
    // The engine's run folders are gone.
    expect(existsSync(path.join(f.dir, 'work')) ? readdirSync(path.join(f.dir, 'work')) : []).toEqual([]);
    const store = await openStore(storePath);
    try {
      expect((await store.listRuns()).map((r) => r.status).sort()).toEqual(['cancelled', 'finished']);
      const trials = await store.listTrials();
      expect(trials.map((t) => [t.variantId.split(':').pop(), t.status])).toEqual([['baseline', 'ok']]);
    } finally {
      await store.close();
    }
  }, 300_000);
});
