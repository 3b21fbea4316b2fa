import { describe, expect, it } from 'vitest';
import { encodePayload, gpuNeedOf, gpuTypeOfConfig, gpuTypeOfName, identifiersFor, jobKeyOf, readPayload, taskIdentifier } from '../../src/queue/index.js';
import { agentPatch, planRun } from '../../src/run/index.js';
import { memAgent, pyPatch, settings, task } from '../run/helpers.js';

describe('queue jobs', () => {
  it('a payload survives JSON with the plan intact, Infinity included (an unlimited request rate)', () => {
    const [plan] = planRun([task('2')], [], settings({ variants: ['baseline'] }));
    expect(plan).toBeDefined();
    if (!plan) return;
    const payload = { v: 1 as const, runId: 'r1', plan, settings: settings() };
    const back = readPayload(JSON.parse(encodePayload(payload)));
    expect(back).toEqual(payload);
    expect(back?.plan.workload?.requestRate).toBe(Infinity);
    // Plain JSON would have turned it into null.
    expect((JSON.parse(JSON.stringify(plan)) as typeof plan).workload?.requestRate).toBe(null);
  });

  it('agent patches keep their exact bytes through the payload (not valid UTF-8 included)', () => {
    const bytes = Buffer.concat([Buffer.from(pyPatch('5')), Buffer.from([0xff, 0xfe, 0x00, 0xe9])]);
    const agent = { ...memAgent('a1', ''), patchFor: () => agentPatch(bytes, 'mem') };
    const [plan] = planRun([task('2')], [agent], settings());
    const payload = { v: 1 as const, runId: 'r1', plan: plan!, settings: settings() };
    const back = readPayload(JSON.parse(encodePayload(payload)));
    const spec = back?.plan.variants.find((v) => v.record.kind === 'agent')?.spec.agent;
    expect(Buffer.from(spec?.patchBytes ?? []).equals(bytes)).toBe(true);
    expect(back).toEqual(payload);
  });

  it('refuses a payload of another version', () => {
    expect(readPayload({ v: 2, runId: 'r', plan: {}, settings: {} })).toBe(null);
    expect(readPayload('x')).toBe(null);
  });

  it('job keys are stable for the same plan and differ with the trial slots', () => {
    const a = planRun([task('3')], [], settings())[0]!;
    const b = planRun([task('3')], [], settings())[0]!;
    const c = planRun([task('3')], [], settings({ trials: 3 }))[0]!;
    expect(jobKeyOf(a)).toBe(jobKeyOf(b));
    expect(jobKeyOf(a)).not.toBe(jobKeyOf(c));
    expect(jobKeyOf(a).startsWith('333333333333:')).toBe(true);
  });

  it('the job key does not depend on the per-run trial order (--order-seed): a second run --queue finds the queued job', () => {
    const agents = [memAgent('a1', pyPatch('5')), memAgent('a2', pyPatch('6'))];
    const orders = [1, 2, 3, 4, 5].map((orderSeed) => planRun([task('3')], agents, settings({ orderSeed, trials: 3 }))[0]!);
    expect(new Set(orders.map((p) => p.trials.map((t) => t.key).join())).size).toBeGreaterThan(1);
    expect(new Set(orders.map(jobKeyOf)).size).toBe(1);
  });

  it('GPU needs come from gpu_config and the perf command; sim jobs name no type', () => {
    const tp2 = task('4', { gpu_config: 'H100:1', perf_command: `${task('4').perf_command ?? ''} --tensor-parallel-size 2` });
    const [plan] = planRun([tp2], [], settings());
    expect(gpuNeedOf(plan!, 'docker')).toEqual({ type: 'H100', count: 2 });
    expect(gpuNeedOf(plan!, 'sim')).toEqual({ type: null, count: 2 });
    expect(gpuTypeOfConfig('h100:2')).toBe('H100');
    expect(gpuTypeOfConfig('2xA100')).toBe('A100');
    expect(gpuTypeOfConfig(undefined)).toBe(null);
    expect(gpuTypeOfName('NVIDIA H100 80GB HBM3')).toBe('H100');
    expect(gpuTypeOfName('Tesla V100-SXM2-16GB')).toBe('V100');
    expect(gpuTypeOfName('NVIDIA A100-SXM4-80GB')).toBe('A100');
  });

  it('a worker serves the identifiers of every count up to its GPUs, of its type and of any type', () => {
    const ids = identifiersFor('docker', 'k', 2, 'H100');
    expect(ids).toContain(taskIdentifier('docker', 'k', { type: 'H100', count: 2 }));
    expect(ids).toContain(taskIdentifier('docker', 'k', { type: null, count: 1 }));
    expect(ids).not.toContain(taskIdentifier('docker', 'k', { type: 'H100', count: 3 }));
    expect(ids).not.toContain(taskIdentifier('docker', 'k', { type: 'A100', count: 1 }));
    expect(ids).not.toContain(taskIdentifier('docker', 'other', { type: null, count: 1 }));
  });
});
