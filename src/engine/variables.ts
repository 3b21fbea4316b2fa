import type { VariantSpec } from './types.js';
import type { PerVariant } from './config.js';
import { expandString } from './template.js';

/** The path variables of a variant: `{commit}` is the commit it runs (the parent for baseline and agents). */
export function variantVariables(spec: VariantSpec, repo = ''): Record<string, string> {
  return {
    commit: spec.engineCommit,
    parent: spec.task.parent,
    parent12: spec.task.parent.slice(0, 12),
    kind: spec.kind,
    agent: spec.agent?.name ?? '',
    variant: spec.id,
    repo,
  };
}

/** Resolves a per-variant setting: agent name, then commit, then kind, then default; undefined when none applies. */
export function resolvePerVariant(setting: PerVariant | undefined, spec: VariantSpec, vars: Readonly<Record<string, string>>): string | undefined {
  if (setting === undefined) return undefined;
  if (typeof setting === 'string') return expandString(setting, vars);
  const picked =
    (spec.agent ? setting.agents?.[spec.agent.name] : undefined) ?? setting.commits?.[spec.engineCommit] ?? setting[spec.kind] ?? setting.default;
  return picked === undefined ? undefined : expandString(picked, vars);
}

