import { createHash } from 'node:crypto';

/** The three roles of a variant: the parent commit, the commit a person wrote, an agent's patch on the parent. */
export const VARIANT_KINDS = ['baseline', 'human', 'agent'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

/** sha256 (hex) of a patch's bytes (text is hashed as UTF-8); the variant id uses its first 12 characters. */
export function patchSha256(patch: string | Uint8Array): string {
  return createHash('sha256').update(patch).digest('hex');
}

/**
 * The stable id of a variant, the same across runs so that trials of re-runs land on the same variant:
 * `${commit}:baseline`, `${commit}:human`, `${commit}:agent:${name}:${model}:${patchSha256.slice(0, 12)}`.
 */
export function variantId(commit: string, kind: VariantKind, agent?: { name: string; model: string; patchSha256: string }): string {
  if (kind !== 'agent') return `${commit}:${kind}`;
  if (!agent) throw new Error('an agent variant needs its agent');
  return `${commit}:agent:${agent.name}:${agent.model}:${agent.patchSha256.slice(0, 12)}`;
}

/** The id of the A/A copy of a task's baseline (`run --aa`): the same engine commit, measured as a variant of its own. */
export function aaVariantId(commit: string): string {
  return `${variantId(commit, 'baseline')}:aa`;
}

/** Whether a variant id is an A/A baseline copy (kind `baseline`, never the reference of a comparison). */
export function isAaVariant(id: string): boolean {
  return id.endsWith(':baseline:aa');
}
