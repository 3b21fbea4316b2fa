export type * from './types.js';
export { createEngine, cleanupLeftovers, type LeftoversReport } from './create.js';
export {
  parseEngineConfig,
  EngineConfigSchema,
  type EngineConfig,
  type ResolvedEngineConfig,
  type SimEngineConfig,
  type ProcessEngineConfig,
  type DockerEngineConfig,
} from './config.js';
export { parsePatch, inspectPatch, isCompiledSource, applyPatchToTree, filterPatch, applyFailure, APPLY_COMMANDS, type PatchFile, type PatchInspection, type PatchApplyCheck } from './patch.js';
export { freePort } from './process.js';
export { LABELS } from './docker-labels.js';
export { simEffectsFor } from './sim.js';
export { APPLY_WRAPPER, PATCH_MOUNT } from './docker.js';
export { PRESET_NAMES, PRESETS, translateServerArgs, serverArgsFor, presetNamed, type PresetName, type EnginePreset, type ServerArgsTranslation } from './presets.js';
export { buildAtCommit, defaultCacheRoot, llamaCppServerRecipe, LLAMA_CPP_CMAKE_FLAGS, BuildFailedError, firstErrorLine, resolveCommit, listBuilds, removeBuild, type CachedBuild, type BuildRecipe, type BuildRequest, type BuildResult } from './source-build.js';
export { recipeFor, BUILD_TEMPLATE_VARS, type BuildSettings } from './build-recipes.js';
