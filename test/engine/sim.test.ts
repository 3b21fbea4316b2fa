import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, type PreparedVariant, type VariantSpec } from '../../src/engine/index.js';
import type { Task } from '../../src/task/index.js';

const task: Task = {
  commit: 'c'.repeat(40),
  parent: 'd'.repeat(40),
  repo: 'vllm-project/vllm',
  files_changed: [],
  models: ['m'],
  sim: {
    human: { decode_step: 0.5 },
    good_agent: { prefill_speed: 2 },
    crashy: { crash_at_start: 'ImportError: cannot import name fused_moe_kernel' },
    baseline: { oom_above_max_model_len: 4096 },
  },
};

const pyPatch = 'diff --git a/vllm/a.py b/vllm/a.py\n--- a/vllm/a.py\n+++ b/vllm/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n';

function spec(kind: VariantSpec['kind'], agent?: string, patchText = pyPatch): VariantSpec {
  return {
    id: `sim-${kind}-${agent ?? ''}`,
    task,
    kind,
    engineCommit: kind === 'human' ? task.commit : task.parent,
    ...(agent === undefined ? {} : { agent: { name: agent, model: 'x', patchText, patchBytes: Buffer.from(patchText), patchSha256: '0' } }),
  };
}

const engine: Engine = createEngine({ kind: 'sim', runId: 'sim-test', profile: { decode_base_ms: 10, max_model_len: 2048 } });
afterAll(() => engine.cleanup());
const never = new AbortController().signal;

async function ready(s: VariantSpec): Promise<PreparedVariant> {
  const r = await engine.prepare(s, never);
  if (r.status !== 'ready') throw new Error(JSON.stringify(r));
  return r.variant;
}

describe('sim engine', () => {
  it('applies the task effects of each variant to the base profile', async () => {
    const human = await ready(spec('human'));
    const agent = await ready(spec('agent', 'good_agent'));
    const base = await ready(spec('agent', 'unknown_agent'));
    const profile = (v: PreparedVariant) => (v.detail as { profile: Record<string, number> }).profile as Record<string, number> & { decode_base_ms: number; prefill_tokens_per_s: number };
    expect(profile(human).decode_base_ms).toBe(5);
    expect(profile(agent).prefill_tokens_per_s).toBe(2 * profile(base).prefill_tokens_per_s);
    expect(human.environment).toBe('sim profile (decode_step=0.5)');
  });

  it('inspects agent patches statically', async () => {
    const r = await engine.prepare(spec('agent', 'good_agent', '\n'), never);
    expect(r.status === 'failed' && r.failure.code).toBe('patch_empty');
  });

  it('serves with the model and server arguments of the perf command, then stops', async () => {
    const v = await ready(spec('human'));
    const h = await engine.startServer(v, { model: 'meta-llama/Llama-3.1-8B', serverArgs: ['--max-model-len', '1024', '--some-new-flag', 'x'], env: {}, port: 0 }, never);
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = await fetch(`${h.baseUrl}/health`).then((r) => r.ok, () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 20));
    }
    expect(ok).toBe(true);
    const models = (await (await fetch(`${h.baseUrl}/v1/models`)).json()) as { data: { id: string; max_model_len?: number }[] };
    expect(models.data[0]?.id).toBe('meta-llama/Llama-3.1-8B');
    expect(h.log()).toContain('max_seq_len=1024');
    expect(h.log()).toContain('--some-new-flag');
    await h.stop();
    await h.stop();
    expect((await h.exited).code).toBe(0);
  });

  it('makes an injected crash visible in the log and in exited', async () => {
    const v = await ready(spec('agent', 'crashy'));
    const h = await engine.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, never);
    expect((await h.exited).code).toBe(1);
    expect(h.log()).toContain('ImportError: cannot import name fused_moe_kernel');
  });

  it('runs out of KV cache above the injected max_model_len, and starts below it', async () => {
    const v = await ready(spec('baseline'));
    const oom = await engine.startServer(v, { model: 'm', serverArgs: ['--max-model-len', '8192'], env: {}, port: 0 }, never);
    expect((await oom.exited).code).toBe(1);
    expect(oom.log()).toMatch(/KV cache/i);
    const fits = await engine.startServer(v, { model: 'm', serverArgs: ['--max-model-len', '2048'], env: {}, port: 0 }, never);
    await fits.stop();
    expect((await fits.exited).code).toBe(0);
  });

  it('reports bad server arguments as a server that exited with the reason in its log', async () => {
    const v = await ready(spec('baseline'));
    const h = await engine.startServer(v, { model: 'm', serverArgs: ['--max-model-len', 'lots'], env: {}, port: 0 }, never);
    expect((await h.exited).code).toBe(2);
    expect(h.log()).toContain('--max-model-len');
  });

  it('runs the standalone script simulators, with the variant effects', async () => {
    const human = await ready(spec('human'));
    const base = await ready(spec('agent', 'unknown_agent'));
    const argv = ['python', 'benchmarks/benchmark_latency.py', '--model', 'm', '--input-len', '32', '--output-len', '64', '--batch-size', '1', '--num-iters-warmup', '1', '--num-iters', '3'];
    const a = await engine.exec(human, { argv, env: {}, timeoutMs: 30_000 }, never);
    const b = await engine.exec(base, { argv, env: {}, timeoutMs: 30_000 }, never);
    expect(a.exitCode).toBe(0);
    const latency = (out: string) => Number(/Avg latency: ([\d.]+) seconds/.exec(out)?.[1]);
    expect(latency(a.output)).toBeLessThan(latency(b.output));
    const unknown = await engine.exec(human, { argv: ['python', 'train.py'], env: {}, timeoutMs: 1000 }, never);
    expect(unknown.exitCode).toBe(127);
  });
});
