import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentPatch, loadAgent, parseAgentArg, planRun, roundOrders, type AgentSource, type RunSettings } from '../../src/run/index.js';
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
  return { name, model: 'm', patchPath: 'mem', patchFor: () => ({ ...agentPatch(text, 'mem'), sha256: `${name}`.padEnd(64, '0') }) };
}

describe('planRun', () => {
  it('runs every variant once per round, in a seeded order, with stable ids and keys', () => {
    const t = task('a'.repeat(40), serving);
    const [plan] = planRun([t], [agent('one', 'p1'), agent('two', 'p2')], settings);
    expect(plan?.variants.map((v) => v.label)).toEqual(['baseline', 'human', 'one', 'two']);
    const ids = plan?.variants.map((v) => v.record.id) ?? [];
    for (const round of [1, 2]) {
      const inRound = plan?.trials.filter((x) => x.trialIndex === round) ?? [];
      expect(inRound.map((x) => x.variantId).sort()).toEqual([...ids].sort());
      expect(inRound.map((x) => x.position)).toEqual([1, 2, 3, 4]);
    }
    // Rounds run one after the other.
    expect(plan?.trials.map((x) => x.trialIndex)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    const baseline1 = plan?.trials.find((x) => x.variantId === ids[0] && x.trialIndex === 1);
    expect(baseline1?.key).toBe(`${'a'.repeat(40)}:baseline#${plan?.configKey ?? ''}#1`);
    expect(new Set(plan?.trials.map((x) => x.orderSeed)).size).toBe(1);
    expect(plan?.variants[2]?.record.id).toBe(`${'a'.repeat(40)}:agent:one:m:one000000000`);
    expect(plan?.variants[1]?.spec.engineCommit).toBe('a'.repeat(40));
    expect(plan?.variants[0]?.spec.engineCommit).toBe('f'.repeat(40));
    expect(plan?.preFailure).toBeNull();
    expect(plan?.mode).toBe('serving');
  });

  it('the same order seed gives the same order; another seed or another task another one', () => {
    const order = (seed: number, commit = 'a'.repeat(40)) => planRun([task(commit, serving)], [agent('one', 'p1')], { ...settings, trials: 6, orderSeed: seed })[0]?.trials.map((x) => x.variantId.split(':').slice(1).join(':'));
    expect(order(5)).toEqual(order(5));
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => JSON.stringify(order(s)));
    expect(new Set(seeds).size).toBeGreaterThan(1);
    expect(order(5, 'b'.repeat(40))).not.toEqual(order(5));
  });

  it('is balanced: over each block of k rounds every variant runs once in every position', () => {
    for (const k of [2, 3, 4]) {
      for (const seed of [1, 99, 12345]) {
        const orders = roundOrders(k, 3 * k, seed);
        for (let block = 0; block < 3; block++) {
          const rounds = orders.slice(block * k, block * k + k);
          for (let pos = 0; pos < k; pos++) expect(new Set(rounds.map((o) => o[pos])).size).toBe(k);
        }
        for (const o of orders) expect([...o].sort()).toEqual(Array.from({ length: k }, (_, i) => i));
        // The baseline (here variant 0) opens round 1, so its probe is the reference; the blocks stay balanced.
        const withFirst = roundOrders(k, 3 * k, seed, 0);
        expect(withFirst[0]?.[0]).toBe(0);
        for (let pos = 0; pos < k; pos++) expect(new Set(withFirst.slice(0, k).map((o) => o[pos])).size).toBe(k);
      }
    }
  });

  it('derives the primary metric from the perf command; the task and --primary-metric override it', () => {
    const cmd = (out: number, inp = 64) => `python benchmarks/benchmark_serving.py --model m/x --dataset-name random --random-input-len ${inp} --random-output-len ${out} --num-prompts 4`;
    const primary = (t: Task, s: RunSettings = settings) => planRun([t], [], s)[0]?.primary.metric;
    expect(primary(task('a'.repeat(40), cmd(1)))).toBe('ttft_mean');
    expect(primary(task('a'.repeat(40), cmd(64)))).toBe('tpot_mean');
    expect(primary(task('a'.repeat(40), cmd(16, 1024)))).toBe('ttft_mean');
    expect(primary(task('a'.repeat(40), 'python benchmarks/benchmark_throughput.py --model m/x --input-len 32 --output-len 8'))).toBe('throughput');
    expect(primary(task('a'.repeat(40), 'python benchmarks/benchmark_latency.py --model m/x --input-len 32 --output-len 8'))).toBe('latency_avg');
    const own = TaskSchema.parse({ commit: 'a'.repeat(40), parent: 'f'.repeat(40), perf_command: cmd(64), primary_metric: 'itl_p99' });
    expect(planRun([own], [], settings)[0]?.primary).toEqual({ metric: 'itl_p99', why: "the task's primary_metric" });
    expect(primary(own, { ...settings, primaryMetrics: { serving: 'ttft_p99' } })).toBe('ttft_p99');
    expect(() => TaskSchema.parse({ commit: 'a'.repeat(40), parent: 'f'.repeat(40), primary_metric: 'duration' })).toThrow(/better direction/);
  });

  it('gives the same config key for the same inputs and another one when the workload changes', () => {
    const a = planRun([task('a'.repeat(40), serving)], [], settings)[0];
    const b = planRun([task('a'.repeat(40), serving)], [], settings)[0];
    const c = planRun([task('a'.repeat(40), serving.replace('--num-prompts 4', '--num-prompts 5'))], [], settings)[0];
    expect(a?.configKey).toBe(b?.configKey);
    expect(a?.configKey).not.toBe(c?.configKey);
  });

  it('puts everything that changes what is measured in the config key, and nothing that does not', () => {
    const sharegpt = `${serving} --dataset-name sharegpt --dataset-path /nonexistent/ShareGPT_V3_unfiltered_cleaned_split.json`;
    const key = (over: Partial<typeof settings>, command = serving) => planRun([task('a'.repeat(40), command)], [], { ...settings, ...over })[0]?.configKey;
    const base = key({});
    // Measured differently: warm-ups, engine settings, OOM fallback.
    for (const over of [{ warmups: settings.warmups + 1 }, { engineSettingsKey: 'other' }, { oomFallbackMaxModelLen: 4096 }]) {
      expect(key(over), JSON.stringify(over)).not.toBe(base);
    }
    // Random prompts standing in for a missing dataset file are another workload than the refused task's; a task
    // that needs no substitution keeps its key.
    expect(key({ missingDataset: 'random' }, sharegpt)).not.toBe(key({ missingDataset: 'refuse' }, sharegpt));
    expect(key({ missingDataset: 'random' })).toBe(base);
    // The same measurement: more trials (resume, extension), other timeouts, another order seed, another --only.
    for (const over of [{ trials: settings.trials + 3 }, { timeoutTrialS: 1 }, { timeoutStartupS: 1 }, { orderSeed: 7 }, { only: ['a'] }]) {
      expect(key(over), JSON.stringify(over)).toBe(base);
    }
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

  it('refuses at plan time, naming each, the server flags the preset\'s server does not have; vLLM\'s standalone scripts run only on vLLM', () => {
    const t = task('c'.repeat(40), `vllm serve m/x --gpu-memory-utilization 0.9 --max-model-len 1024 && ${serving}`);
    const [refused] = planRun([t], [], { ...settings, serverPreset: 'llama.cpp' });
    expect(refused?.preFailure).toEqual({
      code: 'task_invalid',
      evidence: 'server flag(s) refused for llama-server (preset llama.cpp), not passed: --gpu-memory-utilization 0.9: llama-server has no equivalent flag',
      source: 'perf_command',
    });
    // SGLang has an equivalent of each; vLLM takes them as they are.
    expect(planRun([t], [], { ...settings, serverPreset: 'sglang' })[0]?.preFailure).toBeNull();
    expect(planRun([t], [], { ...settings, serverPreset: 'vllm' })[0]?.preFailure).toBeNull();
    const latency = task('d'.repeat(40), 'python benchmarks/benchmark_latency.py --model m/x --input-len 8 --output-len 8');
    expect(planRun([latency], [], { ...settings, serverPreset: 'llama.cpp' })[0]?.preFailure).toMatchObject({ code: 'unsupported_mode', evidence: expect.stringMatching(/^the perf command runs vLLM's latency script, which does not run on llama-server/) });
  });

  it('keys trials by the tokenizer when one is named: the task\'s own, else run --tokenizer, else the perf command\'s', () => {
    const plain = task('a'.repeat(40), serving);
    const key = (t: Task, s: RunSettings) => planRun([t], [], s)[0]?.configKey;
    const viaRun = key(plain, { ...settings, tokenizer: '/tok/a.json' });
    expect(viaRun).not.toBe(key(plain, settings));
    const own = TaskSchema.parse({ ...plain, tokenizer: '/tok/a.json' });
    expect(key(own, { ...settings, tokenizer: '/tok/b.json' })).toBe(viaRun);
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
