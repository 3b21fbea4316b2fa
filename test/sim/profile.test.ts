import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { SimTokenizer, applyServerArgs, applySimEffects, defaultSimProfile, loadSimProfile, parseSimProfile, parseSimServeArgs } from '../../src/sim/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'isobench-sim-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('sim profile', () => {
  it('loads YAML and JSON files, filling defaults', async () => {
    const y = await loadSimProfile(file('a.yaml', 'max_num_seqs: 8\ndecode_base_ms: 3.5\nserved_model_name: [x]\n'));
    expect(y).toMatchObject({ max_num_seqs: 8, decode_base_ms: 3.5, served_model_name: ['x'], max_model_len: defaultSimProfile.max_model_len });
    const j = await loadSimProfile(file('b.json', '{"exact": true, "exact_interval_ms": 2}'));
    expect([j.exact, j.exact_interval_ms, j.exact_first_ms]).toEqual([true, 2, 20]);
  });

  it('rejects bad files with errors naming the file and the key', async () => {
    await expect(loadSimProfile(path.join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read sim profile/);
    await expect(loadSimProfile(file('c.json', '{oops'))).rejects.toThrow(/not valid JSON/);
    await expect(loadSimProfile(file('d.yaml', '- 1\n- 2\n'))).rejects.toThrow(/must be a mapping/);
    const err = await loadSimProfile(file('e.yaml', 'max_num_seqs: -1\nbogus_knob: 3\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IsobenchError);
    expect((err as IsobenchError).code).toBe('E_INPUT');
    expect((err as Error).message).toMatch(/e\.yaml/);
    expect((err as Error).message).toMatch(/max_num_seqs/);
    expect((err as Error).message).toMatch(/bogus_knob/);
    expect(() => parseSimProfile({ eos_min_tokens: 50, eos_max_tokens: 10 }, 'flags', true)).toThrow(/--eos-min-tokens/);
  });

  it('applies variant effects as multipliers and failures', () => {
    const p = applySimEffects(defaultSimProfile, { prefill_speed: 2, decode_step: 0.5, standalone_time: 0.8, crash_at_start: 'boom', oom_above_max_model_len: 100, wrong_output: true });
    expect(p.prefill_tokens_per_s).toBe(defaultSimProfile.prefill_tokens_per_s * 2);
    expect(p.decode_base_ms).toBe(defaultSimProfile.decode_base_ms * 0.5);
    expect(p.decode_per_seq_ms).toBe(defaultSimProfile.decode_per_seq_ms * 0.5);
    expect(p.standalone_time).toBeCloseTo(0.8);
    expect([p.crash_at_start, p.oom_above_max_model_len, p.wrong_output]).toEqual(['boom', 100, true]);
    expect(applySimEffects(defaultSimProfile, {})).toEqual(defaultSimProfile);
  });
});

describe('sim serve arguments', () => {
  it('maps vLLM server flags, knobs, the positional model and shorthands', () => {
    const a = parseSimServeArgs([
      'serve', 'meta-llama/Llama-3-8B', '--port', '0', '--host=127.0.0.1', '-tp', '2', '--max-model-len', '32k', '--served-model-name', 'a', 'b',
      '--enable-prefix-caching', '--gpu-memory-utilization', '0.8', '--dtype', 'bfloat16', '--trust-remote-code', '--no-exact', '--decode-base-ms=4', '--profile', 'p.yaml',
    ]);
    expect(a.warnings).toEqual([]);
    expect(a).toMatchObject({ port: 0, host: '127.0.0.1', profileFile: 'p.yaml' });
    expect(a.overrides).toEqual({
      model: 'meta-llama/Llama-3-8B', tensor_parallel_size: 2, max_model_len: 32000, served_model_name: ['a', 'b'], enable_prefix_caching: true,
      gpu_memory_utilization: 0.8, exact: false, decode_base_ms: 4,
    });
  });

  it('applies server arguments over a profile (as the sim engine does)', () => {
    const { profile, warnings } = applyServerArgs({ ...defaultSimProfile, decode_base_ms: 3 }, ['--max-model-len', '4096', '-tp', '2', '--mystery']);
    expect([profile.max_model_len, profile.tensor_parallel_size, profile.decode_base_ms]).toEqual([4096, 2, 3]);
    expect(warnings).toEqual(['WARNING: isobench sim ignores unknown flag --mystery']);
    expect(() => applyServerArgs(defaultSimProfile, ['--max-num-seqs', '0'])).toThrow(/--max-num-seqs/);
  });

  it('warns about unknown flags and rejects bad values naming the flag', () => {
    const a = parseSimServeArgs(['--model', 'm', '--frobnicate', '3', '--max-num-seqs', '4']);
    expect(a.warnings).toEqual(['WARNING: isobench sim ignores unknown flag --frobnicate 3']);
    expect(a.overrides).toEqual({ model: 'm', max_num_seqs: 4 });
    expect(() => parseSimServeArgs(['--max-num-seqs', 'many'])).toThrow(/--max-num-seqs: expected a number/);
    expect(() => parseSimServeArgs(['--max-num-seqs', '2.5'])).toThrow(/whole number/);
    expect(() => parseSimServeArgs(['--port'])).toThrow(/--port: expects a value/);
    expect(() => parseSimServeArgs(['--exact=maybe'])).toThrow(/true or false/);
  });
});

describe('sim tokenizer', () => {
  it('round-trips every id list and counts arbitrary text', () => {
    const tok = new SimTokenizer(32000);
    const ids = [0, 1, 89, 90, 8189, 8190, 31999, 12345, 12345];
    expect(tok.encode(tok.decode(ids))).toEqual(ids);
    expect(tok.encode('Hello, world!  How are you?').length).toBeGreaterThan(0);
    expect(tok.encode('')).toEqual([]);
    expect(new Set(tok.texts).size).toBe(32000);
  });
});
