import type { TaskInput } from '../task/index.js';

/**
 * The built-in catalog of `isobench demo`: three tasks on the sim engine whose perf commands look like real vLLM
 * ones with small workloads, and two agents with built-in patches. The sim effects make the story:
 * task 1 the human clearly wins; task 2 an agent beats the human; task 3 one agent's patch touches compiled sources
 * (patch_needs_build), the other's output is wrong (correctness_mismatch), and the human variant runs out of KV-cache
 * memory at the default context length, so every variant of the task runs with the OOM fallback's --max-model-len.
 */
export const DEMO_TASKS: readonly TaskInput[] = [
  {
    commit: '8aa1485fcff7be3e42300c0615ee0f3f3cbce9a8',
    parent: '2f4b7cbe2bd3c5c0f5b9d6bd6d1e38e0b5b0f3a1',
    subject: '[Perf] Fuse the rotary embedding into the attention prefill kernel',
    pr_url: 'https://github.com/vllm-project/vllm/pull/0000',
    files_changed: ['vllm/attention/backends/flash_attn.py', 'vllm/model_executor/layers/rotary_embedding.py'],
    perf_command:
      'python benchmarks/benchmark_serving.py --model meta-llama/Llama-3.1-8B-Instruct --dataset-name random --random-input-len 1024 --random-output-len 16 --num-prompts 24 --max-concurrency 8 --seed 42',
    models: ['meta-llama/Llama-3.1-8B-Instruct'],
    gpu_config: 'H100:1',
    notes: 'demo: the human clearly wins',
    sim: {
      human: { prefill_speed: 3, decode_step: 0.6 },
      'agent-a': { prefill_speed: 1.05 },
      'agent-b': { prefill_speed: 0.97 },
    },
  },
  {
    commit: 'c3f1b2e4d5a6978812ab34cd56ef7890a1b2c3d4',
    parent: '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d',
    subject: '[Scheduler] Avoid recomputing block tables for running sequences',
    pr_url: 'https://github.com/vllm-project/vllm/pull/0001',
    files_changed: ['vllm/core/scheduler.py'],
    perf_command:
      'VLLM_USE_V1=1 vllm bench serve --model Qwen/Qwen2.5-7B-Instruct --dataset-name random --random-input-len 1024 --random-output-len 16 --num-prompts 24 --max-concurrency 8 --seed 7',
    models: ['Qwen/Qwen2.5-7B-Instruct'],
    gpu_config: 'H100:1',
    notes: 'demo: an agent beats the human',
    sim: {
      human: { prefill_speed: 1.3 },
      'agent-a': { prefill_speed: 2.5, decode_step: 0.8 },
      'agent-b': { prefill_speed: 1.02 },
    },
  },
  {
    commit: '5d2e9a7b1c4f6e8a0b3d5c7e9f1a2b4c6d8e0f13',
    parent: 'e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4',
    subject: '[Kernel] Larger KV-cache blocks for long-context prefill',
    pr_url: 'https://github.com/vllm-project/vllm/pull/0002',
    files_changed: ['vllm/worker/cache_engine.py', 'csrc/attention/paged_attention_v2.cu'],
    perf_command:
      'python benchmarks/benchmark_serving.py --model mistralai/Mistral-7B-Instruct-v0.3 --dataset-name random --random-input-len 1024 --random-output-len 16 --num-prompts 24 --max-concurrency 8 --seed 3',
    models: ['mistralai/Mistral-7B-Instruct-v0.3'],
    gpu_config: 'H100:1',
    notes: 'demo: a patch that needs a build, a wrong output, and an out-of-memory fallback',
    sim: {
      human: { prefill_speed: 1.15, oom_above_max_model_len: 4096 },
      'agent-b': { wrong_output: true, decode_step: 0.8 },
    },
  },
];

/** The demo's two agents: name, model, and one patch per task commit. */
export const DEMO_AGENTS: readonly { name: string; model: string; patches: Readonly<Record<string, string>> }[] = [
  {
    name: 'agent-a',
    model: 'demo-model-1',
    patches: {
      '8aa1485fcff7be3e42300c0615ee0f3f3cbce9a8': patch('vllm/model_executor/layers/rotary_embedding.py', 'cos_sin = self.cos_sin_cache[positions]', 'cos_sin = self.cos_sin_cache.index_select(0, positions)'),
      c3f1b2e4d5a6978812ab34cd56ef7890a1b2c3d4: patch('vllm/core/scheduler.py', 'block_tables = self._compute_block_tables(seq_group)', 'block_tables = self._block_table_cache.get(seq_group.request_id) or self._compute_block_tables(seq_group)'),
      '5d2e9a7b1c4f6e8a0b3d5c7e9f1a2b4c6d8e0f13': patch('csrc/attention/paged_attention_v2.cu', 'constexpr int BLOCK_SIZE = 16;', 'constexpr int BLOCK_SIZE = 32;'),
    },
  },
  {
    name: 'agent-b',
    model: 'demo-model-2',
    patches: {
      '8aa1485fcff7be3e42300c0615ee0f3f3cbce9a8': patch('vllm/attention/backends/flash_attn.py', 'out = flash_attn_varlen_func(q, k, v)', 'out = flash_attn_varlen_func(q.contiguous(), k, v)'),
      c3f1b2e4d5a6978812ab34cd56ef7890a1b2c3d4: patch('vllm/core/scheduler.py', 'for seq_group in self.running:', 'for seq_group in list(self.running):'),
      '5d2e9a7b1c4f6e8a0b3d5c7e9f1a2b4c6d8e0f13': patch('vllm/worker/cache_engine.py', 'num_blocks = self.num_gpu_blocks', 'num_blocks = self.num_gpu_blocks * 2'),
    },
  },
];

function patch(file: string, before: string, after: string): string {
  return [`diff --git a/${file} b/${file}`, `--- a/${file}`, `+++ b/${file}`, '@@ -10,3 +10,3 @@', ' ', `-    ${before}`, `+    ${after}`, ' ', ''].join('\n');
}
