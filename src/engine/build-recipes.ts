import path from 'node:path';
import { IsobenchError } from '../core/index.js';
import { isCompiledSource, type PatchFile } from './patch.js';
import type { PresetName } from './presets.js';
import { llamaCppServerRecipe, recipeKey, type BuildRecipe } from './source-build.js';
import { expandArgv } from './template.js';

/**
 * How each preset's engine is built from its source tree (a variant's commit, with an agent's patch applied), and
 * the engine config's own `build.steps` templates. A recipe's steps run in the tree, niced, with the build cache's
 * ccache; what the steps make decides which server program the variant runs.
 */

/** Variables of `build.steps` templates: the tree being built and the number of parallel jobs. */
export const BUILD_TEMPLATE_VARS = ['tree', 'jobs'] as const;

export interface BuildSettings {
  /** The engine's git repository (or bundle). */
  repository: string;
  /** Command templates replacing the preset's steps (`{tree}`, `{jobs}`); no shell is involved. */
  steps?: string[] | undefined;
  /** Environment of every step, on top of the recipe's. */
  env: Record<string, string>;
}

/** The folder of a preset's built tree that the server template's `{venv}` means (Python engines), else null. */
export function builtVenv(preset: PresetName, tree: string): string | null {
  return preset === 'llama.cpp' ? null : path.join(tree, '.venv');
}

/** True when the patch changes only files that need no compiler (Python engines then reuse precompiled kernels). */
function pythonOnly(files: readonly PatchFile[] | null): boolean {
  return files === null || !files.some(isCompiledSource);
}

function templated(name: string, templates: readonly string[], env: Record<string, string>, outputs: readonly string[]): BuildRecipe {
  return {
    name,
    outputs,
    env,
    key: recipeKey({ templates, env, outputs }),
    steps: ({ tree, jobs }) => templates.map((t) => expandArgv(t, { tree, jobs: String(jobs) }, {})),
  };
}

/**
 * The recipe of a variant's tree. `files` are the agent patch's files (null without a patch): vLLM installs with
 * `VLLM_USE_PRECOMPILED=1` (the commit's published kernels) when no compiled file changes, and compiles everything
 * otherwise; SGLang rebuilds sgl-kernel only when the patch touches a compiled file; llama.cpp always compiles
 * (ccache makes the unchanged objects free).
 */
export function recipeFor(preset: PresetName, settings: BuildSettings, files: readonly PatchFile[] | null, where: 'host' | 'image' = 'host'): BuildRecipe {
  // Inside an image (the docker engine) the image's own python installs the tree: no venv of its own.
  const inImage = where === 'image';
  const venvPython = inImage ? 'python3' : '{tree}/.venv/bin/python';
  const mkVenv = inImage ? [] : ['python3 -m venv {tree}/.venv'];
  if (settings.steps !== undefined) {
    if (settings.steps.length === 0) throw new IsobenchError('E_USAGE', 'build.steps is empty', { hint: 'give at least one command, or leave build.steps out for the preset\'s' });
    return templated(preset, settings.steps, settings.env, []);
  }
  if (preset === 'llama.cpp') {
    const r = llamaCppServerRecipe();
    return Object.keys(settings.env).length === 0 ? r : { ...r, env: settings.env, key: recipeKey({ base: r.key, env: settings.env }) };
  }
  if (preset === 'vllm') {
    const env = pythonOnly(files) ? { VLLM_USE_PRECOMPILED: '1', ...settings.env } : { MAX_JOBS: '{jobs}', ...settings.env };
    return templated('vllm', [...mkVenv, `${venvPython} -m pip install -e {tree}`], env, inImage ? [] : ['.venv/bin/vllm']);
  }
  const steps = pythonOnly(files)
    ? [...mkVenv, `${venvPython} -m pip install -e {tree}/python`]
    : [...mkVenv, `${venvPython} -m pip install -v {tree}/sgl-kernel`, `${venvPython} -m pip install -e {tree}/python`];
  return templated('sglang', steps, pythonOnly(files) ? settings.env : { MAX_JOBS: '{jobs}', ...settings.env }, inImage ? [] : ['.venv/bin/python']);
}
