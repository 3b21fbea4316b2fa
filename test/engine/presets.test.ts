import { describe, expect, it } from 'vitest';
import { parseEngineConfig, PRESETS, serverArgsFor, translateServerArgs } from '../../src/engine/index.js';
import { withMaxModelLen } from '../../src/run/index.js';

describe('engine presets: the perf command\'s vLLM server flags on other servers', () => {
  it('passes every flag to vLLM as given', () => {
    const args = ['--tensor-parallel-size', '2', '--gpu-memory-utilization', '0.9', '--enable-prefix-caching'];
    expect(translateServerArgs('vllm', args)).toEqual({ args, refused: [], ignored: [] });
  });

  it('maps max model length, parallelism and prefix caching to SGLang\'s flags', () => {
    const t = translateServerArgs('sglang', ['--max-model-len', '8192', '--tensor-parallel-size', '4', '--no-enable-prefix-caching', '--max-num-seqs', '64', '--disable-log-requests']);
    expect(t).toEqual({
      args: ['--context-length', '8192', '--tp-size', '4', '--disable-radix-cache', '--max-running-requests', '64'],
      refused: [],
      ignored: ['--disable-log-requests (logging only)'],
    });
    // The radix cache is SGLang's default: asking for prefix caching adds nothing.
    expect(translateServerArgs('sglang', ['--enable-prefix-caching']).args).toEqual([]);
  });

  it('maps the context to llama-server\'s -c, which all its -np slots share', () => {
    expect(translateServerArgs('llama.cpp', ['--max-model-len', '2048']).args).toEqual(['-c', '2048']);
    expect(translateServerArgs('llama.cpp', ['--max-num-seqs', '4', '--max-model-len', '1024']).args).toEqual(['-np', '4', '-c', '4096']);
    expect(translateServerArgs('llama.cpp', ['--max-model-len', '1024', '--max-num-seqs', '4']).args).toEqual(['-c', '4096', '-np', '4']);
    // Without a length each slot keeps llama-server's default context.
    expect(translateServerArgs('llama.cpp', ['--max-num-seqs', '2']).args).toEqual(['-np', '2', '-c', '8192']);
    expect(translateServerArgs('llama.cpp', ['--tensor-parallel-size', '1', '--enable-prefix-caching', '--dtype', 'auto', '--seed', '3', '--served-model-name', 'tiny']).args).toEqual([
      '--seed',
      '3',
      '--alias',
      'tiny',
    ]);
  });

  it('refuses, naming each, the flags llama-server has no equivalent of (the OOM fallback\'s --max-model-len is translated too)', () => {
    const t = translateServerArgs('llama.cpp', withMaxModelLen(['--gpu-memory-utilization', '0.9', '-tp', '2', '--no-enable-prefix-caching', '--trust-remote-code'], 2048));
    expect(t.args).toEqual(['-c', '2048']);
    expect(t.ignored).toEqual(['--trust-remote-code (llama-server runs no model code)']);
    expect(t.refused).toHaveLength(3);
    expect(t.refused[0]).toBe('--gpu-memory-utilization 0.9: llama-server has no equivalent flag');
    expect(t.refused[1]).toMatch(/^--tensor-parallel-size 2: llama-server splits a model across GPUs/);
    expect(t.refused[2]).toMatch(/^--no-enable-prefix-caching: llama-server has no flag/);
    expect(() => serverArgsFor('llama.cpp', ['--enforce-eager'])).toThrow(/llama-server cannot run with these server flags: --enforce-eager: llama-server has no equivalent flag/);
  });

  it('fills the server command and llama.cpp\'s tree in the build cache from the preset; a config\'s own command wins', () => {
    const c = parseEngineConfig({ kind: 'process', runId: 'r', preset: 'llama.cpp' });
    expect(c.kind === 'process' && c.serverTemplate).toBe(PRESETS['llama.cpp'].processServerTemplate);
    expect(c.kind === 'process' && c.sourceDir).toMatch(/isobench\/llama\.cpp\/\{commit\}$/);
    const d = parseEngineConfig({ kind: 'docker', runId: 'r', preset: 'sglang', serverTemplate: 'x {port}' });
    expect(d.kind === 'docker' && d.serverTemplate).toBe('x {port}');
    expect(parseEngineConfig({ kind: 'process', runId: 'r' })).toMatchObject({ preset: 'vllm', serverTemplate: PRESETS.vllm.processServerTemplate });
    expect(() => parseEngineConfig({ kind: 'process', runId: 'r', preset: 'tgi' })).toThrow(/preset: one of vllm, sglang, llama.cpp/);
  });
});
