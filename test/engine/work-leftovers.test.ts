import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupLeftovers, createEngine, type VariantSpec } from '../../src/engine/index.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const state = mkdtempSync(path.join(tmpdir(), 'isobench-work-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

const commit = 'c'.repeat(40);
const parent = 'd'.repeat(40);
const patch = 'diff --git a/vllm/a.py b/vllm/a.py\n--- a/vllm/a.py\n+++ b/vllm/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n';
const config = (runId: string) => ({
  kind: 'process' as const,
  runId,
  registryDir: path.join(state, 'registry'),
  workDir: path.join(state, 'work'),
  sourceDir: path.join(state, 'src/{commit}'),
  serverTemplate: `${process.execPath} -e 0 {port}`,
});
const spec: VariantSpec = {
  id: `${commit}:agent:a:m:0`,
  task: { commit, parent, repo: 'vllm-project/vllm', files_changed: [], models: ['m'] },
  kind: 'agent',
  engineCommit: parent,
  agent: { name: 'a', model: 'm', patchText: patch, patchBytes: Buffer.from(patch), patchSha256: '0' },
};

describe('patched source copies a killed runner left behind', () => {
  it('are removed by the next run, as leftover processes are; a live run keeps its copy', async () => {
    mkdirSync(path.join(state, 'src', parent, 'vllm'), { recursive: true });
    writeFileSync(path.join(state, 'src', parent, 'vllm/a.py'), 'x = 1\n');
    // A runner that prepares its agent variant (the patched copy) and is then killed with -9.
    const script = path.join(state, 'runner.mts');
    writeFileSync(
      script,
      [
        `import { createEngine } from ${JSON.stringify(path.join(repoRoot, 'src/engine/index.ts'))};`,
        `const e = createEngine(${JSON.stringify(config('killed-run'))});`,
        `const spec = ${JSON.stringify({ ...spec, agent: { ...spec.agent, patchBytes: undefined } })};`,
        'spec.agent.patchBytes = Buffer.from(spec.agent.patchText);',
        'const r = await e.prepare(spec, new AbortController().signal);',
        "console.log(r.status === 'ready' ? (r.variant.detail as { source: string }).source : JSON.stringify(r));",
        'setInterval(() => undefined, 1000);',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const killedCopy = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the runner exited (${code}) before preparing`)));
    });
    expect(existsSync(path.join(killedCopy, 'vllm/a.py'))).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // A live run of this process has its own copy.
    const live = createEngine(config('live-run'));
    const r = await live.prepare(spec, new AbortController().signal);
    const liveCopy = r.status === 'ready' ? (r.variant.detail as { source: string }).source : '';
    expect(existsSync(liveCopy)).toBe(true);

    const report = await cleanupLeftovers(undefined, { registryDir: path.join(state, 'registry'), workDir: path.join(state, 'work') });
    expect(existsSync(path.join(state, 'work', 'killed-run'))).toBe(false);
    expect(report.workDirs).toEqual([path.join(state, 'work', 'killed-run')]);
    expect(existsSync(liveCopy)).toBe(true);
    await live.cleanup();
    expect(existsSync(path.join(state, 'work', 'live-run'))).toBe(false);
  }, 60_000);
});
