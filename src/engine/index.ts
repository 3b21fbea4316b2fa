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
export { gpuCount } from './variables.js';
export { freePort } from './process.js';
export { LABELS } from './docker-labels.js';
export { simEffectsFor } from './sim.js';
export { APPLY_WRAPPER, PATCH_MOUNT } from './docker.js';
