import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.js';
import { loadAgent, planVariants } from '../../src/run/index.js';
import { openStore } from '../../src/store/index.js';
import { task, tempDir } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// Agent patches are bytes: read, hashed, stored and applied exactly as the agent wrote them, whatever their encoding.
describe('agent patch bytes are kept exactly', () => {
  it('a 65,536-byte binary patch is stored with the same bytes and the sha256 of those bytes', async () => {
    const dir = tempDir();
    const bytes = randomBytes(65_536);
    writeFileSync(path.join(dir, 'blob.patch'), bytes);
    const agent = loadAgent({ name: 'a', model: 'm', patchPath: path.join(dir, 'blob.patch') });
    const t = task('a');
    const patch = agent.patchFor(t.commit);
    expect(patch?.sha256).toBe(sha(bytes));
    const variant = planVariants(t, [agent], ['agent'])[0]!;
    expect(variant.spec.agent?.patchSha256).toBe(sha(bytes));
    const store = await openStore(path.join(dir, 's.sqlite'));
    try {
      await store.upsertVariant(variant.record);
      const [stored] = await store.listVariants();
      expect(stored?.patchBytes?.length).toBe(65_536);
      expect(sha(stored!.patchBytes!)).toBe(stored?.patchSha256);
      expect(Buffer.from(stored!.patchBytes!).equals(bytes)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('a Latin-1 patch that `git apply --check` accepts is applied byte for byte by the process engine', async () => {
    const dir = tempDir();
    const t = task('b');
    const src = path.join(dir, 'src', t.parent);
    mkdirSync(path.join(src, 'vllm'), { recursive: true });
    const before = Buffer.from('name = "caf\xe9"\n', 'latin1');
    const after = Buffer.from('name = "na\xefve \xa9"\n', 'latin1');
    writeFileSync(path.join(src, 'vllm/a.py'), before);
    const patch = Buffer.concat([
      Buffer.from('diff --git a/vllm/a.py b/vllm/a.py\n--- a/vllm/a.py\n+++ b/vllm/a.py\n@@ -1 +1 @@\n-', 'latin1'),
      before,
      Buffer.from('+', 'latin1'),
      after,
    ]);
    const file = path.join(dir, 'latin1.patch');
    writeFileSync(file, patch);
    // The patch is valid as it is: git itself accepts it.
    execFileSync('git', ['apply', '--check', file], { cwd: src, env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(src) } });

    const agent = loadAgent({ name: 'a', model: 'm', patchPath: file });
    const variant = planVariants(t, [agent], ['agent'])[0]!;
    expect(variant.spec.agent?.patchSha256).toBe(sha(patch));
    const engine = createEngine({
      kind: 'process',
      runId: 'patch-bytes',
      registryDir: path.join(dir, 'registry'),
      workDir: path.join(dir, 'work'),
      sourceDir: path.join(dir, 'src/{commit}'),
      serverTemplate: `${process.execPath} -e 0 {port}`,
    });
    try {
      const r = await engine.prepare(variant.spec, new AbortController().signal);
      expect(r.status === 'failed' ? r.failure : null).toBeNull();
      const copy = r.status === 'ready' ? (r.variant.detail as { source: string }).source : '';
      expect(readFileSync(path.join(copy, 'vllm/a.py')).equals(after)).toBe(true);
      expect(readFileSync(path.join(src, 'vllm/a.py')).equals(before)).toBe(true);
    } finally {
      await engine.cleanup();
    }
  });
});
