import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, listBuilds, type EngineConfig, type PrepareProgress, type VariantSpec } from '../../src/engine/index.js';
import { BUILD_LABELS } from '../../src/engine/docker-labels.js';
import { cleanupBuildLeftovers, listBuildImages } from '../../src/engine/docker-build.js';
import { planRun, runBenchmarks } from '../../src/run/index.js';
import { openStore } from '../../src/store/index.js';
import type { Task } from '../../src/task/index.js';
import { memAgent, repoRoot, settings, task } from '../run/helpers.js';
import { ENGINE_SOURCE, ENGINE_SOURCE_DIR, ensureCompiledEngineImage, testDockerEngineConfig, testDockerHost } from './docker-images.js';

/**
 * The docker engine's build path against the real dockerd (scripts/ci-services.sh): agent variants built as images
 * FROM a small local "engine" image whose C source is compiled inside it by gcc (the host's toolchain copied into
 * the image: no registry is reachable), measured against the baseline; a second run reuses the image; a patch that
 * does not compile is build_failed with gcc's error line, one that does not apply patch_apply_failed; a cancelled
 * build leaves no container.
 */
const host = testDockerHost();
const t: Task = task('b', { parent: 'c'.repeat(40) });
const state = mkdtempSync(path.join(tmpdir(), 'isobench-docker-build-'));
const cacheDir = path.join(state, 'cache');
let image: string | undefined;

const patch = (line: string) =>
  [`diff --git a/${ENGINE_SOURCE} b/${ENGINE_SOURCE}`, `--- a/${ENGINE_SOURCE}`, `+++ b/${ENGINE_SOURCE}`, '@@ -1,5 +1,5 @@', ' #include <stdio.h>', ' ', '-static const int decode_ms = 2;', `+${line}`, ' ', ' int main(void) {', ''].join('\n');
const slower = patch('static const int decode_ms = 200;');

function config(runId: string, steps = ['cc -O2 -o {tree}/engine {tree}/engine.c']): EngineConfig {
  return {
    ...(testDockerEngineConfig(host ?? '', runId, state) as Extract<EngineConfig, { kind: 'docker' }>),
    images: { baseline: image ?? '', human: image ?? '' },
    serverTemplate: '/bin/sh /app/serve.sh {model} {port} {server_args}',
    build: { sourceDir: ENGINE_SOURCE_DIR, steps, cacheDir },
  };
}

function agentSpec(text: string, id = 'agent'): VariantSpec {
  return { id, task: t, kind: 'agent', engineCommit: t.parent, agent: { name: 'a', model: 'm', patchText: text, patchBytes: Buffer.from(text), patchSha256: '0' } };
}

const docker = () => new Docker({ socketPath: (host ?? '').replace('unix://', '') });

/** Counts the docker builds a prepare started: each prints its first step (`Step 1/N : FROM ...`) once. */
function buildCounter(): { onProgress: (p: PrepareProgress) => void; builds: () => number } {
  let n = 0;
  return { onProgress: (p) => void (/^Step 1\/\d+ : FROM /.test(p.line) && n++), builds: () => n };
}

const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/isobench.js'), 'builds', '--cache-dir', cacheDir, '--docker-host', host ?? '', ...args], { encoding: 'utf8' });

describe.skipIf(host === undefined)('docker engine: agent variants built as images (real daemon, gcc inside a local image)', () => {
  beforeAll(async () => {
    image = await ensureCompiledEngineImage(host ?? '', t.commit, t.parent);
  }, 600_000);
  afterAll(async () => {
    // The variant images this file built (by their base): not left for the next test run to find cached.
    for (const b of await listBuildImages(docker()).catch(() => [])) if (b.base === image) await docker().getImage(b.image).remove({ force: true }).catch(() => undefined);
    rmSync(state, { recursive: true, force: true });
  });

  it('builds the patched engine in an image, measures it apart from the baseline, and a second run reuses the image', async (ctx) => {
    if (image === undefined) ctx.skip('no gcc/dpkg on this host to make a compiler image from');
    const runs: { tpot: Record<string, number>; build: unknown }[] = [];
    for (const n of [1, 2]) {
      const runId = `run-dbuild-${process.pid}-${n}`;
      const engine = createEngine(config(runId));
      const store = await openStore(path.join(state, `run${n}.sqlite`));
      const s = settings({ trials: 2, warmups: 0, variants: ['baseline', 'agent'], oomFallbackMaxModelLen: 0, timeoutStartupS: 60 });
      try {
        const summary = await runBenchmarks({ plans: planRun([t], [memAgent('slower', slower)], s), engine, store, settings: s, config: {}, runId });
        expect(summary.status).toBe('finished');
        const trials = await store.listTrials();
        expect(trials.map((x) => [x.status, x.failure?.code ?? null])).toEqual(Array.from({ length: 4 }, () => ['ok', null]));
        const variants = await store.listVariants();
        const agent = variants.find((v) => v.kind === 'agent');
        const tpot = Object.fromEntries(['baseline', 'agent'].map((k) => {
          const ids = variants.filter((v) => v.kind === k).map((v) => v.id);
          const values = trials.filter((x) => ids.includes(x.variantId)).map((x) => x.metrics.tpot_mean ?? NaN);
          return [k, Math.min(...values)];
        }));
        runs.push({ tpot, build: agent?.build });
        expect(variants.find((v) => v.kind === 'baseline')?.build).toBeUndefined();
      } finally {
        await engine.cleanup();
        await store.close();
      }
      expect(await docker().listContainers({ all: true, filters: { label: [`isobench.run=${runId}`] } })).toEqual([]);
    }
    process.stdout.write(`docker build: ${JSON.stringify(runs)}\n`);
    const [first, second] = runs;
    // The compiled program sets the sim's decode time: 2 ms in the baseline image, 200 ms in the built agent image.
    for (const r of runs) expect(r.tpot.agent).toBeGreaterThan((r.tpot.baseline ?? 0) * 5);
    expect(first?.build).toMatchObject({ cached: false });
    expect(second?.build).toMatchObject({ cached: true, seconds: (first?.build as { seconds: number }).seconds, where: (first?.build as { where: string }).where });
    const built = (await listBuildImages(docker())).filter((b) => b.base === image);
    expect(built).toHaveLength(1);
    expect(built[0]?.image).toBe((first?.build as { where: string }).where);
    const labels = (await docker().getImage(built[0]?.image ?? '').inspect()).Config.Labels ?? {};
    expect(labels[BUILD_LABELS.marker]).toBe('1');
    expect(Number(labels[BUILD_LABELS.seconds])).toBeGreaterThan(0);

    // `isobench builds` lists the image by its labels and prunes it.
    const listed = cli('--json');
    expect(listed.status, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { docker: { images: { image: string }[] } }).docker.images.map((i) => i.image)).toContain(built[0]?.image);
    expect(cli().stdout).toContain(`docker  ${built[0]?.image ?? ''}  ${image ?? ''} + patch `);
    const pruned = cli('--prune', '--older-than', '100000', '--json');
    expect(JSON.parse(pruned.stdout)).toMatchObject({ imagesRemoved: 0 });
    expect(JSON.parse(cli('--prune', '--all', '--json').stdout).imagesRemoved).toBeGreaterThanOrEqual(1);
    expect((await listBuildImages(docker())).filter((b) => b.base === image)).toEqual([]);
  }, 600_000);

  it('a patch that does not compile is build_failed with the compiler line and the whole log; one that does not apply is patch_apply_failed', async (ctx) => {
    if (image === undefined) ctx.skip('no gcc/dpkg on this host to make a compiler image from');
    const engine = createEngine(config(`run-dbuild-fail-${process.pid}`));
    const brokenPatch = patch('static const int decode_ms = 2 +;');
    const counter = buildCounter();
    try {
      // Two prepares of the same key at once: one builds, the other waits for its lock and gets its remembered failure.
      const both = await Promise.all(['agent', 'agent2'].map((id) => engine.prepare(agentSpec(brokenPatch, id), new AbortController().signal, counter.onProgress)));
      expect(counter.builds()).toBe(1);
      const [broken, other] = both;
      expect(broken?.status).toBe('failed');
      if (broken?.status !== 'failed') return;
      expect(broken.failure.code).toBe('build_failed');
      // The classic builder colours a step's stderr (ESC[91m ... ESC[0m): neither the evidence nor the log keeps that.
      expect(broken.failure.evidence).toMatch(/^\/src\/engine\/engine\.c:3:\d+: error: expected expression before ';' token$/);
      expect(broken.log).not.toContain('\x1b');
      expect(broken.log).toContain('isobench: patch applied to /src/engine');
      expect(broken.log).toContain('RUN ["cc","-O2"');
      expect(other).toEqual(broken);

      // Another run (another engine, the same cache folder): the remembered failure at once, no docker build started.
      const again = createEngine(config(`run-dbuild-fail-again-${process.pid}`));
      try {
        const t0 = performance.now();
        expect(await again.prepare(agentSpec(brokenPatch), new AbortController().signal, counter.onProgress)).toEqual(broken);
        process.stdout.write(`remembered build_failed: prepare took ${(performance.now() - t0).toFixed(0)} ms\n`);
      } finally {
        await again.cleanup();
      }
      expect(counter.builds()).toBe(1);
      // `isobench builds` lists it (without a daemon too: it is in the cache folder) and prunes it with --failed.
      const remembered = (await listBuilds(cacheDir)).filter((b) => b.recipe === 'docker');
      expect(remembered).toMatchObject([{ status: 'failed', commit: t.parent, base: image, failure: broken.failure }]);
      const listed = spawnSync(process.execPath, [path.join(repoRoot, 'bin/isobench.js'), 'builds', '--cache-dir', cacheDir], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: '' } });
      expect(listed.stdout).toContain(`docker  ${t.parent.slice(0, 12)} (image ${image ?? ''}) + patch `);
      process.stdout.write(`isobench builds:\n${listed.stdout}`);
      expect(listed.stdout).toContain(`failed`);
      expect(listed.stdout).toContain(broken.failure.evidence);
      expect(JSON.parse(cli('--prune', '--failed', '--json').stdout)).toMatchObject({ removed: 1 });
      expect((await listBuilds(cacheDir)).filter((b) => b.recipe === 'docker')).toEqual([]);

      const stale = await engine.prepare(agentSpec(patch('static const int decode_ms = 7;').replace('-static const int decode_ms = 2;', '-static const int decode_ms = 3;')), new AbortController().signal);
      expect(stale.status === 'failed' && stale.failure.code).toBe('patch_apply_failed');
      expect(stale.status === 'failed' && stale.failure.evidence).toMatch(/FAILED|failed|does not apply/i);
      // The failed builds' untagged layers carry the build labels ...
      expect((await docker().listImages({ filters: { label: [`${BUILD_LABELS.owner}=${hostname()}:${process.pid}`], dangling: ['true'] } })).length).toBeGreaterThan(0);
    } finally {
      await engine.cleanup();
    }
    // ... and the engine's clean-up removes them (a crashed run's: cleanupLeftovers, once their builder is gone).
    expect(await docker().listImages({ filters: { label: [`${BUILD_LABELS.owner}=${hostname()}:${process.pid}`], dangling: ['true'] } })).toEqual([]);
    expect((await cleanupBuildLeftovers(docker())).images).toEqual([]);
  }, 600_000);

  it('two prepares of the same key at once build one image: the second waits and takes it from the cache', async (ctx) => {
    if (image === undefined) ctx.skip('no gcc/dpkg on this host to make a compiler image from');
    const engine = createEngine(config(`run-dbuild-twice-${process.pid}`));
    const counter = buildCounter();
    try {
      const both = await Promise.all(['agent', 'agent2'].map((id) => engine.prepare(agentSpec(patch('static const int decode_ms = 5;'), id), new AbortController().signal, counter.onProgress)));
      expect(counter.builds()).toBe(1);
      const builds = both.map((r) => (r.status === 'ready' ? r.variant.build : r.failure));
      expect(builds.map((b) => b && 'cached' in b && b.cached).sort()).toEqual([false, true]);
      expect(new Set(builds.map((b) => b && 'where' in b && b.where)).size).toBe(1);
    } finally {
      await engine.cleanup();
      for (const b of await listBuildImages(docker())) if (b.base === image) await docker().getImage(b.image).remove({ force: true });
    }
  }, 300_000);

  it('a cancelled build stops: no build container is left, nothing is tagged', async (ctx) => {
    if (image === undefined) ctx.skip('no gcc/dpkg on this host to make a compiler image from');
    // The patch adds the slow step's script (the image has no `sleep`: node waits instead).
    const slowStep = ['diff --git a/slow.sh b/slow.sh', 'new file mode 100644', '--- /dev/null', '+++ b/slow.sh', '@@ -0,0 +1,2 @@', '+echo started', "+exec node -e 'setTimeout(() => {}, 300000)'", ''].join('\n');
    const engine = createEngine(config(`run-dbuild-cancel-${process.pid}`, ['/bin/sh {tree}/slow.sh', 'cc -O2 -o {tree}/engine {tree}/engine.c']));
    const abort = new AbortController();
    const t0 = Date.now();
    let started!: () => void;
    const inStep = new Promise<void>((resolve) => (started = resolve));
    const result = engine.prepare(agentSpec(patch('static const int decode_ms = 3;') + slowStep), abort.signal, (p) => {
      if (p.line.includes('started')) started();
    });
    result.catch(() => undefined);
    await inStep;
    const buildContainers = async () => (await docker().listContainers({ all: true, filters: { label: [`${BUILD_LABELS.marker}=1`], ancestor: [image ?? ''] } })).filter((c) => c.Labels['isobench.run'] === undefined);
    // The slow step runs in a build container now (so the check below can see one that is left).
    expect((await buildContainers()).length).toBe(1);
    abort.abort();
    await expect(result).rejects.toThrow(/cancel/);
    expect(Date.now() - t0).toBeLessThan(250_000);
    await engine.cleanup();
    let left: Docker.ContainerInfo[] = [];
    for (let i = 0; i < 50; i++) {
      left = await buildContainers();
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(left).toEqual([]);
    // Nothing of the cancelled build is tagged (test 1 pruned its own image).
    expect((await listBuildImages(docker())).filter((b) => b.base === image)).toEqual([]);
  }, 300_000);
});
