import { IsobenchError } from '../core/index.js';

/** Image templates of the original pipeline's Docker Hub images (ISO-Bench); `{commit}` is the full hash. */
export const defaultImages = {
  human: 'anonymous/vllm-bench:{commit}',
  baseline: 'anonymous/vllm-baseline:baseline-{parent12}',
} as const;

/** Values an image template can use. */
export interface ImageVars {
  commit?: string;
  parent?: string;
}

/**
 * Fills `{commit}`, `{commit8}`, `{commit12}`, `{parent}`, `{parent8}`, `{parent12}` in an image template.
 * An unknown or unfillable placeholder is an error, because a wrong image name wastes a pull.
 */
export function imageName(template: string, vars: ImageVars): string {
  return template.replace(/\{(commit|parent)(\d*)\}/g, (_, name: 'commit' | 'parent', len: string) => {
    const value = vars[name];
    if (value === undefined) throw new IsobenchError('E_INPUT', `image template ${template} needs {${name}${len}} but no ${name} was given`);
    return len ? value.slice(0, Number(len)) : value;
  }).replace(/\{[^}]*\}/g, (m) => {
    throw new IsobenchError('E_INPUT', `image template ${template} has an unknown placeholder ${m} (known: {commit}, {commitN}, {parent}, {parentN})`);
  });
}
