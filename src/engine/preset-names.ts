/** The servers the process and docker engines know (presets.ts); a module of its own so the CLI loads it cheaply. */
export const PRESET_NAMES = ['vllm', 'sglang', 'llama.cpp'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
