import { describe, expect, it } from 'vitest';
import { recipeFor } from '../../src/engine/build-recipes.js';
import { parsePatch } from '../../src/engine/index.js';

/** The build commands each preset runs in a variant's tree (vLLM and SGLang cannot be built here: no CUDA, no PyPI). */
const settings = { repository: '/repo', env: {} };
const py = parsePatch(['diff --git a/vllm/x.py b/vllm/x.py', '--- a/vllm/x.py', '+++ b/vllm/x.py', '@@ -1 +1 @@', '-a = 1', '+a = 2', ''].join('\n'));
const cu = parsePatch(['diff --git a/csrc/k.cu b/csrc/k.cu', '--- a/csrc/k.cu', '+++ b/csrc/k.cu', '@@ -1 +1 @@', '-a', '+b', ''].join('\n'));
const steps = (r: ReturnType<typeof recipeFor>) => r.steps({ tree: '/c/t', jobs: 2, ccache: false });

describe('build recipes per preset', () => {
  it('vLLM: an editable install with the commit\'s precompiled kernels unless a compiled file changes', () => {
    const plain = recipeFor('vllm', settings, null);
    expect(steps(plain)).toEqual([
      ['python3', '-m', 'venv', '/c/t/.venv'],
      ['/c/t/.venv/bin/python', '-m', 'pip', 'install', '-e', '/c/t'],
    ]);
    expect(plain.env).toEqual({ VLLM_USE_PRECOMPILED: '1' });
    expect(plain.outputs).toEqual(['.venv/bin/vllm']);
    expect(recipeFor('vllm', settings, py).env).toEqual({ VLLM_USE_PRECOMPILED: '1' });
    const full = recipeFor('vllm', settings, cu);
    expect(full.env).toEqual({ MAX_JOBS: '{jobs}' });
    expect(full.key).not.toBe(plain.key);
  });

  it('SGLang: sgl-kernel is compiled only when the patch touches a compiled file', () => {
    expect(steps(recipeFor('sglang', settings, py)).map((s) => s.join(' '))).toEqual(['python3 -m venv /c/t/.venv', '/c/t/.venv/bin/python -m pip install -e /c/t/python']);
    const full = recipeFor('sglang', settings, cu);
    expect(steps(full).map((s) => s.join(' '))).toEqual([
      'python3 -m venv /c/t/.venv',
      '/c/t/.venv/bin/python -m pip install -v /c/t/sgl-kernel',
      '/c/t/.venv/bin/python -m pip install -e /c/t/python',
    ]);
    expect(full.env).toEqual({ MAX_JOBS: '{jobs}' });
  });

  it('llama.cpp: CMake configure and the llama-server target; build.steps templates replace any preset\'s steps', () => {
    const r = recipeFor('llama.cpp', settings, cu);
    expect(steps(r).map((s) => s.slice(0, 2))).toEqual([
      ['cmake', '-S'],
      ['cmake', '--build'],
    ]);
    expect(steps(r)[1]?.slice(-4)).toEqual(['--target', 'llama-server', '-j', '2']);
    const own = recipeFor('vllm', { ...settings, steps: ['make -C {tree} -j{jobs}'] }, null);
    expect(steps(own)).toEqual([['make', '-C', '/c/t', '-j2']]);
    expect(own.key).not.toBe(recipeFor('vllm', { ...settings, steps: ['make -C {tree}'] }, null).key);
  });
});
