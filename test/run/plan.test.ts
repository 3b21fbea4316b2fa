import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgent, parseAgentArg, planRun, type AgentSource, type RunSettings } from '../../src/run/index.js';
import { TaskSchema, type Task } from '../../src/task/index.js';

const settings: RunSettings = {
  trials: 2,
  warmups: 1,
  variants: ['baseline', 'human', 'agent'],
  only: [],
  timeoutStartupS: 10,
  timeoutTrialS: 10,
  gpuCount: null,
  oomFallbackMaxModelLen: 2048,
  engineSettingsKey: 'k',
  datasetDir: null,
  missingDataset: 'refuse',
};

const serving = 'python benchmarks/benchmark_serving.py --model m/x --dataset-name random --random-input-len 16 --random-output-len 4 --num-prompts 4';

function task(commit: string, perf?: string): Task {
  return TaskSchema.parse({ commit, parent: 'f'.repeat(40), ...(perf === undefined ? {} : { perf_command: perf }) });
}

function agent(name: string, text: string): AgentSource {
  return { name, model: 'm', patchPath: 'mem', patchFor: () => ({ text, sha256: `${name}`.padEnd(64, '0'), source: 'mem' }) };
}

describe('planRun', () => {
  it('interleaves B H A1 A2 per trial index with stable ids and keys', () => {
    const t = task('a'.repeat(40), serving);
    const [plan] = planRun([t], [agent('one', 'p1'), agent('two', 'p2')], settings);
    expect(plan?.variants.map((v) => v.label)).toEqual(['baseline', 'human', 'one', 'two']);
    expect(plan?.trials.map((x) => `${x.variantId.split(':')[1] ?? ''}${x.variantId.split(':')[2] ?? ''}@${x.trialIndex}`)).toEqual([
      'baseline@1', 'human@1', 'agentone@1', 'agenttwo@1', 'baseline@2', 'human@2', 'agentone@2', 'agenttwo@2',
    ]);
    expect(plan?.trials[0]?.key).toBe(`${'a'.repeat(40)}:baseline#${plan?.configKey ?? ''}#1`);
    expect(plan?.variants[2]?.record.id).toBe(`${'a'.repeat(40)}:agent:one:m:one000000000`);
    expect(plan?.variants[1]?.spec.engineCommit).toBe('a'.repeat(40));
    expect(plan?.variants[0]?.spec.engineCommit).toBe('f'.repeat(40));
    expect(plan?.preFailure).toBeNull();
    expect(plan?.mode).toBe('serving');
  });

  it('gives the same config key for the same inputs and another one when the workload changes', () => {
    const a = planRun([task('a'.repeat(40), serving)], [], settings)[0];
    const b = planRun([task('a'.repeat(40), serving)], [], settings)[0];
    const c = planRun([task('a'.repeat(40), serving.replace('--num-prompts 4', '--num-prompts 5'))], [], settings)[0];
    expect(a?.configKey).toBe(b?.configKey);
    expect(a?.configKey).not.toBe(c?.configKey);
  });

  it('records a task without perf command as task_invalid and an unknown script as unsupported_mode', () => {
    const plans = planRun([task('b'.repeat(40)), task('c'.repeat(40), 'python train.py --epochs 3')], [], settings);
    expect(plans[0]?.preFailure?.code).toBe('task_invalid');
    expect(plans[1]?.preFailure?.code).toBe('unsupported_mode');
    expect(plans[0]?.trials).toHaveLength(4);
  });

  it('checks the GPU count against the tensor parallel size when it is known', () => {
    const t = task('d'.repeat(40), `${serving} --tensor-parallel-size 4`);
    expect(planRun([t], [], { ...settings, gpuCount: 2 })[0]?.preFailure?.code).toBe('gpus_insufficient');
    expect(planRun([t], [], { ...settings, gpuCount: null })[0]?.preFailure).toBeNull();
  });

  it('selects tasks by --only prefixes and variants by --variants', () => {
    const plans = planRun([task('a'.repeat(40), serving), task('b'.repeat(40), serving)], [agent('one', 'p')], { ...settings, only: ['bbbb'], variants: ['human', 'agent'] });
    expect(plans.map((p) => p.task.commit)).toEqual(['b'.repeat(40)]);
    expect(plans[0]?.variants.map((v) => v.label)).toEqual(['human', 'one']);
  });
});

describe('--agent', () => {
  it('parses name:model=path and rejects malformed values with the option named', () => {
    expect(parseAgentArg('claude-code:claude-sonnet-4:latest=patches/')).toEqual({ name: 'claude-code', model: 'claude-sonnet-4:latest', patchPath: 'patches/' });
    expect(() => parseAgentArg('nomodel=x')).toThrow(/--agent/);
    expect(() => parseAgentArg('human:m=x')).toThrow(/variant name/);
  });

  it('finds a task patch in a directory by full or short commit, longest prefix first', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'isobench-agent-'));
    const commit = '0123456789abcdef0123456789abcdef01234567';
    writeFileSync(path.join(dir, '0123456.patch'), 'short');
    writeFileSync(path.join(dir, '0123456789ab.diff'), 'longer');
    mkdirSync(path.join(dir, 'fedcba9876'));
    writeFileSync(path.join(dir, 'fedcba9876', 'model_patch.diff'), 'nested');
    const a = loadAgent({ name: 'x', model: 'm', patchPath: dir });
    expect(a.patchFor(commit)?.text).toBe('longer');
    expect(a.patchFor(`fedcba9876${'0'.repeat(30)}`)?.text).toBe('nested');
    expect(a.patchFor('9'.repeat(40))).toBeNull();
    expect(() => loadAgent({ name: 'x', model: 'm', patchPath: path.join(dir, 'missing') })).toThrow(/does not exist/);
  });
});
