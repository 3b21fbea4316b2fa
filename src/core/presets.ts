/** The servers the process and docker engines know (src/engine/presets.ts); here so that every stage, the CLI first, can name them. */
export const PRESET_NAMES = ['vllm', 'sglang', 'llama.cpp'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
