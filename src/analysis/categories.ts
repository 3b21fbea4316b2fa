import type { FailureCode } from '../core/index.js';

/** Which of baseline / human / agent have a value for a row's primary metric. */
export interface Presence {
  baseline: boolean;
  human: boolean;
  agent: boolean;
  /** False when both values exist but cannot be compared (e.g. req/s against tok/s). */
  comparable?: boolean;
}

/** 3-way completeness of one (task, agent) row, as the original analyses' tables counted them. */
export type CompletenessCategory =
  | 'valid_3way'
  | 'human_agent_only'
  | 'baseline_agent_only'
  | 'agent_failure'
  | 'baseline_only'
  | 'agent_only'
  | 'no_metrics';

/** Display order and labels of the completeness categories. */
export const COMPLETENESS_LABELS: Readonly<Record<CompletenessCategory, string>> = {
  valid_3way: 'Valid 3-way (B+H+A)',
  human_agent_only: 'H+A only (no baseline)',
  baseline_agent_only: 'B+A only (no human)',
  agent_failure: 'Agent failure (human measured, agent not)',
  baseline_only: 'Baseline only',
  agent_only: 'Agent only',
  no_metrics: 'No metrics',
};

/** The completeness category of a row from which variants were measured. */
export function completenessCategory(p: Presence): CompletenessCategory {
  if (p.agent) {
    if (p.baseline && p.human) return 'valid_3way';
    if (p.human) return 'human_agent_only';
    if (p.baseline) return 'baseline_agent_only';
    return 'agent_only';
  }
  if (p.human) return 'agent_failure';
  return p.baseline ? 'baseline_only' : 'no_metrics';
}

/** Status of an agent on one task, for the per-agent comparison table. */
export type AgentStatus =
  | 'valid'
  | 'patch_failure'
  | 'crash'
  | 'agent_failed'
  | 'missing_agent_metrics'
  | 'missing_human_metrics'
  | 'not_comparable';

export const AGENT_STATUS_LABELS: Readonly<Record<AgentStatus, string>> = {
  valid: 'Valid for comparison',
  patch_failure: 'Patch failure',
  crash: 'Server crash',
  agent_failed: 'Other agent failure',
  missing_agent_metrics: 'Missing agent metrics',
  missing_human_metrics: 'Missing human metrics',
  not_comparable: 'Not comparable (units or workloads differ)',
};

const PATCH_CODES: ReadonlySet<string> = new Set<FailureCode>(['patch_empty', 'patch_apply_failed', 'patch_needs_build']);
const CRASH_CODES: ReadonlySet<string> = new Set<FailureCode>(['server_crashed', 'server_start_timeout', 'server_oom']);

/** What is known about an agent's attempt on one task. */
export interface AgentAttempt {
  /** v5 `has_agent_patch`: false means the agent produced no usable patch; null when unknown. */
  hasAgentPatch: boolean | null;
  /** The agent variant's failure code, when one was recorded. */
  agentFailure: string | null;
  human: boolean;
  agent: boolean;
  /** False when both values exist but cannot be compared (e.g. req/s against tok/s). */
  comparable?: boolean;
}

/**
 * The agent's status on one task. Patch problems come first (nothing was measured because of the patch), then
 * crashes, then whether both sides of the agent-vs-human comparison have the primary metric.
 */
export function agentStatus(a: AgentAttempt): AgentStatus {
  if (a.hasAgentPatch === false || (a.agentFailure !== null && PATCH_CODES.has(a.agentFailure))) return 'patch_failure';
  if (a.agentFailure !== null && CRASH_CODES.has(a.agentFailure)) return 'crash';
  if (!a.agent) return a.agentFailure !== null ? 'agent_failed' : 'missing_agent_metrics';
  if (!a.human) return 'missing_human_metrics';
  return a.comparable === false ? 'not_comparable' : 'valid';
}

/** One failure occurrence for the breakdown. */
export interface FailureItem {
  code: string;
  /** Where it happened, e.g. `6ce01f30 baseline`. */
  where: string;
  evidence: string;
}

/** One failure code with its count and a few examples. */
export interface FailureGroup {
  code: string;
  count: number;
  examples: FailureItem[];
}

/** Groups failures by code, most frequent first (code name breaks ties), keeping up to `maxExamples` per code. */
export function failureBreakdown(items: readonly FailureItem[], maxExamples = 3): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const item of items) {
    let g = groups.get(item.code);
    if (!g) {
      g = { code: item.code, count: 0, examples: [] };
      groups.set(item.code, g);
    }
    g.count++;
    if (g.examples.length < maxExamples) g.examples.push(item);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

/** Counts of `keys` in first-seen order. */
export function countBy<K extends string>(keys: Iterable<K>): Map<K, number> {
  const out = new Map<K, number>();
  for (const k of keys) out.set(k, (out.get(k) ?? 0) + 1);
  return out;
}
