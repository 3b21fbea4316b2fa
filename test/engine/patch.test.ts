import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPatchToTree, filterPatch, inspectPatch, parsePatch } from '../../src/engine/index.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const corpus = path.resolve(repoRoot, '../shared/corpus/iso-bench');
const corpusPatch = (JSON.parse(readFileSync(path.join(corpus, 'data/vllm_dataset_with_test.jsonl'), 'utf8').split('\n')[0]!) as { patch: string }).patch;

const pyPatch = `diff --git a/vllm/engine/a.py b/vllm/engine/a.py
index 1111111..2222222 100644
--- a/vllm/engine/a.py
+++ b/vllm/engine/a.py
@@ -1,3 +1,3 @@
 def f():
-    return 1
+    return 2
 # end
diff --git a/tests/test_a.py b/tests/test_a.py
new file mode 100644
--- /dev/null
+++ b/tests/test_a.py
@@ -0,0 +1 @@
+assert True
`;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'isobench-patch-test-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'vllm/engine'), { recursive: true });
  writeFileSync(path.join(dir, 'vllm/engine/a.py'), 'def f():\n    return 1\n# end\n');
  return dir;
}

describe('parsePatch', () => {
  it('lists the files of the corpus patch without a/ b/ prefixes', () => {
    const files = parsePatch(corpusPatch).map((f) => f.path);
    expect(files).toContain('vllm/_custom_ops.py');
    expect(files).toContain('vllm/model_executor/layers/quantization/fp8.py');
    expect(files.every((f) => !f.startsWith('a/') && !f.startsWith('b/'))).toBe(true);
  });

  it('reads new and deleted files and a removed line that looks like a header', () => {
    const files = parsePatch(`${pyPatch}diff --git a/vllm/old.py b/vllm/old.py
deleted file mode 100644
--- a/vllm/old.py
+++ /dev/null
@@ -1,2 +0,0 @@
--- not a header
-x = 1
`);
    expect(files.map((f) => f.path)).toEqual(['vllm/engine/a.py', 'tests/test_a.py', 'vllm/old.py']);
    expect(files[2]!.removed).toEqual(['-- not a header', 'x = 1']);
    expect(files[1]!.oldPath).toBeNull();
  });
});

describe('inspectPatch', () => {
  it('is patch_empty for empty or whitespace-only text', () => {
    for (const text of ['', '  \n\t\n']) {
      const r = inspectPatch(text);
      expect(r.status === 'failed' && r.failure.code).toBe('patch_empty');
    }
  });

  it('is patch_apply_failed with the first line as evidence when the text is not a diff', () => {
    const r = inspectPatch('I changed the scheduler to be faster.\n');
    expect(r.status).toBe('failed');
    if (r.status === 'failed') {
      expect(r.failure.code).toBe('patch_apply_failed');
      expect(r.failure.evidence).toContain('I changed the scheduler');
    }
  });

  it('is patch_needs_build for CUDA/C++ sources and build files, naming them', () => {
    const cu = `diff --git a/csrc/attention/kernel.cu b/csrc/attention/kernel.cu
--- a/csrc/attention/kernel.cu
+++ b/csrc/attention/kernel.cu
@@ -1 +1 @@
-int x = 1;
+int x = 2;
`;
    const r = inspectPatch(pyPatch + cu);
    expect(r.status).toBe('failed');
    if (r.status === 'failed') {
      expect(r.failure.code).toBe('patch_needs_build');
      expect(r.failure.evidence).toContain('csrc/attention/kernel.cu');
    }
    expect(r.filesChanged).toEqual(['vllm/engine/a.py', 'tests/test_a.py', 'csrc/attention/kernel.cu']);
    const cmake = cu.replaceAll('csrc/attention/kernel.cu', 'CMakeLists.txt');
    expect(inspectPatch(cmake).status).toBe('failed');
  });

  it('tells a pyproject build-system change from a dependency change', () => {
    const pyproject = (section: string, line: string) => `diff --git a/pyproject.toml b/pyproject.toml
--- a/pyproject.toml
+++ b/pyproject.toml
@@ -1,3 +1,3 @@
 ${section}
-${line}1"
+${line}2"
 x = 1
`;
    const build = inspectPatch(pyproject('[build-system]', 'requires = ["torch==2.'));
    expect(build.status === 'failed' && build.failure.code).toBe('patch_needs_build');
    expect(inspectPatch(pyproject('[project]', 'version = "0.')).status).toBe('ok');
  });

  it('accepts a Python-only patch and lists its files', () => {
    expect(inspectPatch(pyPatch)).toEqual({ status: 'ok', filesChanged: ['vllm/engine/a.py', 'tests/test_a.py'] });
  });
});

describe('filterPatch', () => {
  it('keeps only the package files of a git diff', () => {
    const r = filterPatch(pyPatch, (p) => p.startsWith('vllm/'));
    expect(r.kept).toEqual(['vllm/engine/a.py']);
    expect(r.dropped).toEqual(['tests/test_a.py']);
    expect(r.text).not.toContain('tests/test_a.py');
    expect(parsePatch(r.text).map((f) => f.path)).toEqual(['vllm/engine/a.py']);
  });
});

describe('applyPatchToTree', () => {
  const onlyPy = filterPatch(pyPatch, (p) => p.startsWith('vllm/')).text;

  it('checks and applies a patch that fits the tree', async () => {
    const dir = tree();
    expect((await applyPatchToTree(dir, onlyPy, 'check')).status).toBe('ok');
    expect(readFileSync(path.join(dir, 'vllm/engine/a.py'), 'utf8')).toContain('return 1');
    expect((await applyPatchToTree(dir, onlyPy, 'apply')).status).toBe('ok');
    expect(readFileSync(path.join(dir, 'vllm/engine/a.py'), 'utf8')).toContain('return 2');
  });

  it('is patch_apply_failed with git apply output as evidence when the context differs', async () => {
    const dir = tree();
    writeFileSync(path.join(dir, 'vllm/engine/a.py'), 'def f():\n    return 7\n# end\n');
    const r = await applyPatchToTree(dir, onlyPy, 'check');
    expect(r.status).toBe('failed');
    if (r.status === 'failed') {
      expect(r.failure.code).toBe('patch_apply_failed');
      expect(r.failure.evidence).toMatch(/vllm\/engine\/a\.py/);
      expect(r.log).toContain('patch does not apply');
    }
  });

  it('does not pass a patch silently when the tree sits inside another git repository', async () => {
    const outer = mkdtempSync(path.join(tmpdir(), 'isobench-patch-outer-'));
    dirs.push(outer);
    execFileSync('git', ['init', '-q', outer]);
    const inner = path.join(outer, 'site-packages');
    mkdirSync(inner);
    const r = await applyPatchToTree(inner, onlyPy, 'check');
    expect(r.status).toBe('failed');
  });
});
