import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { buildAtCommit, defaultCacheRoot, llamaCppServerRecipe, type BuildResult } from '../../src/engine/index.js';
import { repoRoot } from './helpers.js';

/** The corpus's llama.cpp: a git bundle of ggml-org/llama.cpp and the tiny-model script (its README). */
export const LLAMA_CORPUS = path.resolve(repoRoot, '../shared/corpus/llama.cpp');
export const LLAMA_BUNDLE = path.join(LLAMA_CORPUS, 'llama.cpp.bundle');

/** What a llama.cpp build needs here; the missing pieces, named (empty when everything is there). */
export function llamaCppMissing(): string[] {
  const missing: string[] = [];
  if (!existsSync(LLAMA_BUNDLE)) missing.push(`the corpus bundle ${LLAMA_BUNDLE}`);
  for (const tool of ['cmake', 'c++', 'git', 'tar']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
  if (pythonWithNumpy() === null) missing.push('a python3 with numpy (Debian: python3-numpy)');
  return missing;
}

/** `python3` when it imports numpy, else Debian's /usr/bin/python3 (python3-numpy), else null. */
export function pythonWithNumpy(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

/** llama-server built at `commit` in the build cache (built once per machine; later runs reuse it). */
export function buildLlamaServer(commit: string): Promise<BuildResult> {
  const jobs = Number(process.env.ISOBENCH_BUILD_JOBS ?? 2);
  return buildAtCommit({ source: LLAMA_BUNDLE, commit, recipe: llamaCppServerRecipe(), jobs: Number.isInteger(jobs) && jobs > 0 ? jobs : 2 });
}

/** The README's tiny model: 4 layers, hidden 512, f16, llama-spm vocabulary (45.6 M parameters, 92 MB). */
const TINY_ARGS = ['--layers', '4', '--hidden', '512', '--heads', '8', '--ffn', '1408', '--ctx', '4096', '--dtype', 'f16'];

/**
 * The tiny random-weight GGUF made by the corpus's tools/make_tiny_model.py with the vocabulary of `tree` (a built
 * llama.cpp tree: its gguf-py and models/ggml-vocab-llama-spm.gguf), kept in the build cache beside the builds.
 */
export function tinyModel(tree: string): string {
  const script = path.join(LLAMA_CORPUS, 'tools', 'make_tiny_model.py');
  const vocab = path.join(tree, 'models', 'ggml-vocab-llama-spm.gguf');
  const key = createHash('sha256').update(readFileSync(script)).update(readFileSync(vocab)).update(TINY_ARGS.join(' ')).digest('hex').slice(0, 12);
  const dir = path.join(defaultCacheRoot(), 'llama.cpp', 'models');
  const out = path.join(dir, `tiny-L4-H512-f16-${key}.gguf`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const python = pythonWithNumpy();
  if (python === null) throw new Error('no python3 with numpy for tools/make_tiny_model.py (Debian: apt-get install python3-numpy)');
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(python, [script, '--vocab', vocab, '--out', tmp, ...TINY_ARGS], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: [path.join(tree, 'gguf-py'), path.join(LLAMA_CORPUS, 'tools', 'pystub')].join(path.delimiter) },
  });
  if (r.status !== 0) throw new Error(`make_tiny_model.py failed: ${r.stderr || r.stdout}`);
  renameSync(tmp, out);
  return out;
}
