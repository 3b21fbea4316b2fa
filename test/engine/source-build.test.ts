import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { patchSha256 } from '../../src/core/index.js';
import { createEngine, defaultCacheRoot, type Engine, type PrepareResult, type VariantSpec } from '../../src/engine/index.js';
import type { Task } from '../../src/task/index.js';
import { LLAMA_BUNDLE as BUNDLE, llamaCppMissing } from '../run/llama-cpp.js';

/**
 * The process engine building llama.cpp variants from the corpus's bundle (`build.repository`): baseline at the
 * parent, human at the commit, agents at the parent with their patch applied by `git apply`, all into the build
 * cache outside the checkout (ccache shared), so a second prepare starts no compiler.
 *
 * 3a04c6e "ggml : more perfo with llamafile tinyblas on x86_64" and its parent 98d9e7f (see docs/engines.md).
 */
const PARENT = '98d9e7fab36d0838db2203f3251d9db35ce134fb';
const COMMIT = '3a04c6e9071f1c3143d32d2c6b5341f6cead96ec';

const missing = llamaCppMissing();
// In CI a machine without the tools fails loudly (scripts/ci-services.sh install provides them); elsewhere skip.
const skip = missing.length > 0 && process.env.CI !== 'true';

const state = mkdtempSync(path.join(tmpdir(), 'isobench-build-'));
const engines: Engine[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.cleanup()));
  rmSync(state, { recursive: true, force: true });
});

const task: Task = { commit: COMMIT, parent: PARENT, repo: 'ggml-org/llama.cpp', files_changed: [], models: ['m'] };

function spec(kind: VariantSpec['kind'], patch?: { name: string; text: string }): VariantSpec {
  return {
    id: `${COMMIT.slice(0, 8)}:${kind}${patch ? `:${patch.name}` : ''}`,
    task,
    kind,
    engineCommit: kind === 'human' ? COMMIT : PARENT,
    ...(patch ? { agent: { name: patch.name, model: 'x', patchText: patch.text, patchBytes: Buffer.from(patch.text), patchSha256: patchSha256(patch.text) } } : {}),
  };
}

function engine(runId: string, withBuild = true): Engine {
  const e = createEngine({
    kind: 'process',
    preset: 'llama.cpp',
    runId,
    registryDir: path.join(state, 'registry'),
    workDir: path.join(state, 'work'),
    stopGraceMs: 500,
    ...(withBuild ? { build: { repository: BUNDLE, jobs: Number(process.env.ISOBENCH_BUILD_JOBS ?? 2) } } : {}),
  });
  engines.push(e);
  return e;
}

const mirror = (): string => path.join(defaultCacheRoot(), 'llama.cpp', 'repo.git');
function git(...args: string[]): string {
  const r = spawnSync('git', ['--git-dir', mirror(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

/** A patch adding one line that is not C after the first line of ggml/src/ggml-alloc.c (a file llama-server compiles). */
function brokenPatch(tree: string): string {
  const lines = readFileSync(path.join(tree, 'ggml/src/ggml-alloc.c'), 'utf8').split('\n').slice(0, 3);
  return ['diff --git a/ggml/src/ggml-alloc.c b/ggml/src/ggml-alloc.c', '--- a/ggml/src/ggml-alloc.c', '+++ b/ggml/src/ggml-alloc.c', '@@ -1,3 +1,4 @@', ` ${lines[0] ?? ''}`, '+int isobench_broken = ;', ` ${lines[1] ?? ''}`, ` ${lines[2] ?? ''}`, ''].join('\n');
}

function readyBuild(r: PrepareResult): NonNullable<Extract<PrepareResult, { status: 'ready' }>['variant']['build']> {
  if (r.status !== 'ready') throw new Error(`not ready: ${JSON.stringify(r.status === 'failed' ? r.failure : r)}`);
  if (!r.variant.build) throw new Error('no build recorded');
  return r.variant.build;
}

describe.skipIf(skip)('process engine: variants built from the llama.cpp repository into the build cache', () => {
  const signal = new AbortController().signal;
  let humanPatch = '';
  let broken = '';

  it('builds baseline, human, the human C/C++ diff as an agent patch, and refuses a patch that does not compile with the compiler line', async () => {
    if (missing.length > 0) throw new Error(`cannot build llama.cpp here: missing ${missing.join(', ')}`);
    const e = engine('build-1');
    const baseline = readyBuild(await e.prepare(spec('baseline'), signal));
    const human = readyBuild(await e.prepare(spec('human'), signal));
    expect(baseline.where).toBe(path.join(defaultCacheRoot(), 'llama.cpp', PARENT));
    expect(human.where).toBe(path.join(defaultCacheRoot(), 'llama.cpp', COMMIT));

    humanPatch = git('diff', '--binary', PARENT, COMMIT, '--', '*.c', '*.cpp', '*.h');
    expect(humanPatch).toContain('sgemm.cpp');
    const lines: string[] = [];
    const agent = await e.prepare(spec('agent', { name: 'same-as-human', text: humanPatch }), signal, (p) => lines.push(p.line));
    const built = readyBuild(agent);
    process.stdout.write(`build of the agent patch: ${built.cached ? 'cached' : `${built.seconds.toFixed(1)} s`} (${built.where})\n`);
    expect(built.where).toBe(path.join(defaultCacheRoot(), 'llama.cpp', `${PARENT}-patch-${patchSha256(humanPatch).slice(0, 16)}`));
    expect(existsSync(path.join(built.where, 'build/bin/llama-server'))).toBe(true);
    // The patched tree's sources are the commit's.
    for (const f of ['ggml/src/ggml-cpu/llamafile/sgemm.cpp', 'ggml/src/ggml-cpu/ggml-cpu.c']) {
      expect(readFileSync(path.join(built.where, f), 'utf8')).toBe(readFileSync(path.join(human.where, f), 'utf8'));
    }
    if (!built.cached) expect(lines.some((l) => /sgemm/.test(l))).toBe(true);

    broken = brokenPatch(baseline.where);
    const bad = await e.prepare(spec('agent', { name: 'broken', text: broken }), signal);
    expect(bad.status).toBe('failed');
    if (bad.status !== 'failed') return;
    expect(bad.failure.code).toBe('build_failed');
    expect(bad.failure.evidence).toMatch(/ggml-alloc\.c:2:\d+: error: expected expression/);
    // The whole log is the failure's log: the configure step and the compiler's command are in it.
    expect(bad.log).toContain('$ nice -n 10 cmake -S');
    expect(bad.log).toContain('isobench_broken');
  }, 1_800_000);

  it('a second run reuses every build, the failed one included: no compiler starts', async () => {
    const e = engine('build-2');
    const logs: Record<string, number> = {};
    const results = [];
    for (const s of [spec('baseline'), spec('human'), spec('agent', { name: 'same-as-human', text: humanPatch })]) {
      const lines: string[] = [];
      const b = readyBuild(await e.prepare(s, signal, (p) => lines.push(p.line)));
      logs[b.logFile] = statSync(b.logFile).mtimeMs;
      results.push(b);
      expect(lines).toEqual([]);
    }
    expect(results.map((r) => [r.cached, r.seconds])).toEqual([
      [true, 0],
      [true, 0],
      [true, 0],
    ]);
    const bad = await e.prepare(spec('agent', { name: 'broken', text: broken }), signal, () => {
      throw new Error('a build step ran');
    });
    expect(bad.status === 'failed' && bad.failure.code).toBe('build_failed');
    for (const [file, mtime] of Object.entries(logs)) expect(statSync(file).mtimeMs).toBe(mtime);
  }, 600_000);

  it('a task that names its repository (source_repo) is built from it without a build setting', async () => {
    const e = engine('build-3', false);
    const s = spec('agent', { name: 'same-as-human', text: humanPatch });
    const r = await e.prepare({ ...s, task: { ...task, source_repo: BUNDLE } }, signal);
    expect(readyBuild(r).where).toBe(path.join(defaultCacheRoot(), 'llama.cpp', `${PARENT}-patch-${patchSha256(humanPatch).slice(0, 16)}`));
    // Without either, an agent patch touching C/C++ is still refused as needing a build.
    const refused = await e.prepare(s, signal);
    expect(refused.status === 'failed' && refused.failure.code).toBe('patch_needs_build');
  });
});
