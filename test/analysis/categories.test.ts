import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import {
  agentStatus,
  analysisMode,
  choosePrimaryMetric,
  completenessCategory,
  failureBreakdown,
  parsePrimaryMetricSpec,
} from '../../src/analysis/index.js';

describe('primary metrics', () => {
  it('defaults per mode, the most measured candidate first', () => {
    const has = (present: Record<string, number>) => (m: string) => present[m] ?? 0;
    expect(choosePrimaryMetric('serving', has({ ttft_mean: 3, throughput: 3 }))).toBe('ttft_mean');
    expect(choosePrimaryMetric('serving', has({ ttft_mean: 1, throughput: 2 }))).toBe('throughput');
    expect(choosePrimaryMetric('latency', has({ throughput: 3 }))).toBe('latency_avg');
    expect(choosePrimaryMetric('standalone', has({ latency_avg: 3 }))).toBe('latency_avg');
    expect(choosePrimaryMetric('standalone', has({ latency_avg: 3, throughput: 3 }))).toBe('throughput');
    expect(choosePrimaryMetric('prefix_caching', has({}))).toBe('throughput');
    expect(choosePrimaryMetric('serving', has({ throughput: 3 }), { serving: 'tpot_p99' })).toBe('tpot_p99');
  });

  it('parses --primary-metric and rejects bad entries with a usage error', () => {
    expect(parsePrimaryMetricSpec('serving=tpot_mean, latency=latency_p99')).toEqual({ serving: 'tpot_mean', latency: 'latency_p99' });
    for (const bad of ['serving', 'serve=ttft_mean', 'serving=duration', 'serving=nope', 'a=b=c']) {
      expect(() => parsePrimaryMetricSpec(bad)).toThrow(IsobenchError);
    }
  });

  it('maps mode labels', () => {
    expect(analysisMode('standalone')).toBe('standalone');
    expect(analysisMode(null)).toBe('unknown');
    expect(analysisMode('weird')).toBe('unknown');
  });
});

describe('categories', () => {
  it('3-way completeness', () => {
    const p = (baseline: boolean, human: boolean, agent: boolean) => completenessCategory({ baseline, human, agent });
    expect(p(true, true, true)).toBe('valid_3way');
    expect(p(false, true, true)).toBe('human_agent_only');
    expect(p(true, false, true)).toBe('baseline_agent_only');
    expect(p(false, false, true)).toBe('agent_only');
    expect(p(true, true, false)).toBe('agent_failure');
    expect(p(false, true, false)).toBe('agent_failure');
    expect(p(true, false, false)).toBe('baseline_only');
    expect(p(false, false, false)).toBe('no_metrics');
  });

  it('agent status: patch problems, then crashes, then what was measured', () => {
    const a = { hasAgentPatch: true, agentFailure: null, human: true, agent: true };
    expect(agentStatus(a)).toBe('valid');
    expect(agentStatus({ ...a, hasAgentPatch: false })).toBe('patch_failure');
    expect(agentStatus({ ...a, agentFailure: 'patch_apply_failed', agent: false })).toBe('patch_failure');
    expect(agentStatus({ ...a, agentFailure: 'server_crashed', agent: false })).toBe('crash');
    expect(agentStatus({ ...a, agentFailure: 'bench_timeout', agent: false })).toBe('agent_failed');
    expect(agentStatus({ ...a, agent: false })).toBe('missing_agent_metrics');
    expect(agentStatus({ ...a, human: false })).toBe('missing_human_metrics');
    expect(agentStatus({ ...a, comparable: false })).toBe('not_comparable');
  });

  it('failure breakdown by code, most frequent first, with examples', () => {
    const items = ['a', 'b', 'b', 'c', 'b', 'a'].map((code, i) => ({ code, where: `t${i}`, evidence: `e${i}` }));
    const g = failureBreakdown(items, 2);
    expect(g.map((x) => [x.code, x.count])).toEqual([['b', 3], ['a', 2], ['c', 1]]);
    expect(g[0]?.examples.map((e) => e.where)).toEqual(['t1', 't2']);
  });
});
