/**
 * The simulated vLLM server and standalone-script simulators. Other folders import only this file.
 * See docs/sim.md for the profile keys, endpoints, tokenizer, exact mode and failure injection.
 */
export {
  SimProfileSchema,
  defaultSimProfile,
  loadSimProfile,
  readSimProfileFile,
  parseSimProfile,
  applySimEffects,
  SimEffectsSchema,
  type SimEffects,
  servedModelName,
  kvCapacity,
  type SimProfile,
  type SimProfileInput,
} from './profile.js';
export { SIM_KNOBS, parseSimServeArgs, applyServerArgs, type SimServeArgs } from './args.js';
export { startSimServer, startupFailureLines, type SimServer, type SimServerOptions, type SimRecord, type SimExit } from './server.js';
export { SimTokenizer } from './tokenizer.js';
export { runSimScript, simulateOffline, type SimScriptKind, type SimScriptResult } from './scripts.js';
