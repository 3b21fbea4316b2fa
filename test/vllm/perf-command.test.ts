import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePerfCommand, splitShellWords, type ParsedPerfCommand } from '../../src/vllm/index.js';
import { corpusRoot } from './corpus.js';

function ok(cmd: string): ParsedPerfCommand {
  const r = parsePerfCommand(cmd);
  if (r.status !== 'ok') throw new Error(`expected ok, got ${r.message}`);
  return r;
}

describe('splitShellWords', () => {
  it('handles single, double quotes, escapes and continuations', () => {
    expect(splitShellWords(`a 'b c' "d \\"e\\"" f\\ g h\\\ni`)).toEqual({ status: 'ok', words: ['a', 'b c', 'd "e"', 'f g', 'hi'], rest: undefined });
  });
  it('reports an unterminated quote instead of guessing', () => {
    const r = splitShellWords(`python x.py --model 'abc`);
    expect(r.status).toBe('error');
    if (r.status === 'error') expect(r.message).toMatch(/unterminated single quote/);
    expect(splitShellWords('a "b').status).toBe('error');
    expect(splitShellWords('a \\').status).toBe('error');
  });
  it('stops at shell operators and returns the rest', () => {
    expect(splitShellWords('a b 2>&1 | tee x')).toEqual({ status: 'ok', words: ['a', 'b'], rest: '2>&1 | tee x' });
    expect(splitShellWords('a "b|c" && d')).toEqual({ status: 'ok', words: ['a', 'b|c'], rest: '&& d' });
  });
});

describe('parsePerfCommand', () => {
  it('splits a serving command into env, server and client arguments', () => {
    const r = ok('VLLM_USE_V1=1 VLLM_ATTENTION_BACKEND=FLASHMLA python benchmarks/benchmark_serving.py --model deepseek-ai/DeepSeek-R1 --tensor-parallel-size 8 --num-prompts=100 --request-rate inf');
    expect(r.env).toEqual({ VLLM_USE_V1: '1', VLLM_ATTENTION_BACKEND: 'FLASHMLA' });
    expect(r.script).toBe('benchmark_serving');
    expect(r.mode).toBe('serving');
    expect(r.model).toBe('deepseek-ai/DeepSeek-R1');
    expect(r.serverArgs).toEqual(['--tensor-parallel-size', '8']);
    expect(r.server.tensorParallelSize).toBe(8);
    expect(r.server.gpus).toBe(8);
    expect(r.clientArgs).toEqual(['--num-prompts', '100', '--request-rate', 'inf']);
    expect(r.client).toMatchObject({ numPrompts: 100, requestRate: 'inf' });
  });

  it('fixes --input-len/--output-len given to the serving script and says so', () => {
    const r = ok('python benchmarks/benchmark_serving.py --model M --input-len 1000 --output-len 50 --tensor-parallel-size 4 --quantization fp8');
    expect(r.client).toMatchObject({ randomInputLen: 1000, randomOutputLen: 50, datasetName: 'random' });
    expect(r.serverArgs).toEqual(['--tensor-parallel-size', '4', '--quantization', 'fp8']);
    expect(r.fixes).toHaveLength(3);
    expect(r.fixes[0]).toMatch(/--input-len → --random-input-len/);
  });

  it('removes usage-text brackets and lists the fix', () => {
    const r = ok('python benchmarks/benchmark_serving.py --model M [--enable-prefix-caching] [--num-prompts 10]');
    expect(r.server.enablePrefixCaching).toBe(true);
    expect(r.client.numPrompts).toBe(10);
    expect(r.fixes.filter((f) => f.includes('brackets'))).toHaveLength(3);
  });

  it('keeps a bracketed value such as [ngram] intact', () => {
    const r = ok("python benchmarks/benchmark_latency.py --model M --speculative-model '[ngram]' --num-speculative-tokens 5 --input-len 550");
    expect(r.mode).toBe('latency');
    expect(r.server.speculativeModel).toBe('[ngram]');
    expect(r.serverArgs).toEqual(['--speculative-model', '[ngram]', '--num-speculative-tokens', '5']);
    expect(r.clientArgs).toEqual(['--input-len', '550']);
  });

  it('reads vllm bench forms, --flag=value, short aliases and optional booleans', () => {
    const t = ok('vllm bench throughput --model Qwen/Qwen3-30B-A3B --load-format=dummy -tp 2 --input-len 1000 --output-len 100 --enable-chunked-prefill False');
    expect(t.mode).toBe('throughput');
    expect(t.script).toBe('vllm_bench_throughput');
    expect(t.server).toMatchObject({ loadFormat: 'dummy', tensorParallelSize: 2, enableChunkedPrefill: false, gpus: 2 });
    expect(t.client).toMatchObject({ inputLen: 1000, outputLen: 100 });
    const s = ok('vllm bench serve --model m --random-input-len 10 --ignore-eos');
    expect(s.mode).toBe('serving');
    expect(s.client.ignoreEos).toBe(true);
  });

  it('reads server commands: python -m vllm.entrypoints.openai.api_server and vllm serve', () => {
    const a = ok('python3 -m vllm.entrypoints.openai.api_server --model m --port 8001 --max-model-len 4096');
    expect(a.script).toBe('api_server');
    expect(a.serverArgs).toEqual(['--port', '8001', '--max-model-len', '4096']);
    const v = ok('vllm serve meta-llama/Llama-3.1-8B-Instruct --enforce-eager');
    expect(v.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(v.server.enforceEager).toBe(true);
  });

  it('reads --no-X as X = false for boolean flags', () => {
    const r = ok('vllm bench latency --model m --no-enable-chunked-prefill --no-enable-prefix-caching --no-enforce-eager');
    expect(r.server).toMatchObject({ enableChunkedPrefill: false, enablePrefixCaching: false, enforceEager: false });
    expect(r.serverArgs).toEqual(['--no-enable-chunked-prefill', '--no-enable-prefix-caching', '--no-enforce-eager']);
    expect(r.unknownArgs).toEqual([]);
  });

  it('expands unique argparse abbreviations', () => {
    const r = ok('python3 benchmarks/benchmark_serving.py --model m --dataset-name random --random-input 6144 --random-output 1024 --port 8000');
    expect(r.client).toMatchObject({ randomInputLen: 6144, randomOutputLen: 1024, port: 8000 });
    expect(r.fixes).toHaveLength(2);
  });

  it('never drops an unknown flag silently', () => {
    const r = ok('python benchmarks/benchmark_serving.py --model m --batch-size 2 --frobnicate');
    expect(r.unknownArgs).toEqual(['--batch-size', '2', '--frobnicate']);
    expect(r.warnings.filter((w) => w.startsWith('unknown flag'))).toHaveLength(2);
  });

  it('marks placeholders and local model paths as invalid', () => {
    const r = ok('python benchmarks/benchmark_latency.py --batch-size BS --input-len INPUT_LEN --model MODEL');
    expect(r.invalid).toHaveLength(3);
    expect(ok('python3 benchmarks/benchmark_latency.py --model "/data/users/x/llama"').invalid[0]).toMatch(/local path/);
  });

  it('classifies unknown scripts as mode unknown with the reason', () => {
    const r = ok('python benchmark_guided.py --model m');
    expect(r.mode).toBe('unknown');
    expect(r.modeReason).toMatch(/benchmark_guided\.py is not one of/);
  });

  it('returns an error value for bad quoting and empty commands', () => {
    expect(parsePerfCommand("python benchmarks/benchmark_serving.py --model 'x")).toMatchObject({ status: 'error' });
    expect(parsePerfCommand('   ')).toMatchObject({ status: 'error' });
    expect(parsePerfCommand('A=1 B=2')).toMatchObject({ status: 'error' });
  });

  it('parses every perf command of the ISO-Bench mapping, with the modes pinned', () => {
    const mapping = JSON.parse(readFileSync(path.join(corpusRoot, 'data/mappings/benchmark_mode_mapping.json'), 'utf8')) as Record<string, { perf_command: string | null }>;
    const modes: Record<string, number> = {};
    for (const { perf_command } of Object.values(mapping)) {
      if (perf_command === null) continue;
      const r = parsePerfCommand(perf_command);
      expect(r.status).toBe('ok');
      if (r.status === 'ok') modes[r.mode] = (modes[r.mode] ?? 0) + 1;
    }
    expect(modes).toEqual({ serving: 72, latency: 14, throughput: 4, prefix_caching: 1, unknown: 2 });
  });
});
