import { describe, expect, it } from 'vitest';
import { FAILURE_CODES } from '../../src/core/index.js';
import { classifyFailure, failureMeaning, FAILURE_SIGNATURES } from '../../src/vllm/index.js';
import { failedRuns } from './corpus.js';

describe('classifyFailure', () => {
  it('prefers the root cause over its consequences (OOM that kills the engine core is server_oom)', () => {
    const server = [
      'INFO 01-09 23:24:01 [core.py:58] Initializing a V1 LLM engine',
      'ERROR 01-09 23:24:08 [core.py:386] EngineCore hit an exception: Traceback (most recent call last):',
      '[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 896.00 MiB.',
      'RuntimeError: Engine core initialization failed. See root cause above.',
    ].join('\n');
    expect(classifyFailure({ server, error: 'Server crashed during startup' })).toEqual({
      code: 'server_oom', evidence: '[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 896.00 MiB.', line: 3, source: 'server',
    });
  });

  it('takes the message line of a traceback, not the echoed source line', () => {
    const server = '  File "rotary.py", line 9\n    raise ValueError(f"Unknown RoPE scaling type {scaling_type}")\nValueError: Unknown RoPE scaling type llama3\n';
    expect(classifyFailure({ server })).toMatchObject({ code: 'model_unsupported', evidence: 'ValueError: Unknown RoPE scaling type llama3', line: 3 });
  });

  it('knows the codes of DESIGN.md by their signatures', () => {
    const cases: [string, string][] = [
      ["OSError: You are trying to access a gated repo.", 'model_unavailable'],
      ["ModuleNotFoundError: No module named 'pandas'", 'dependency_error'],
      ["ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use", 'port_bind_bug'],
      ['vLLM 0.6.3 has known port binding bug (issue #8791) - serving benchmarks not supported', 'port_bind_bug'],
      ['ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization`', 'server_oom'],
      ['benchmark_serving.py: error: unrecognized arguments: --enable-prefix-caching', 'bench_failed'],
      ['Benchmark timed out after 600s', 'bench_timeout'],
      ['docker: Error response from daemon: manifest for x/y:z not found: manifest unknown', 'image_missing'],
      ['Baseline install failed: No wheel available and no ancestor wheel found for 36fb68f94792', 'wheel_not_found'],
      ['Baseline benchmark produced no metrics', 'no_metrics'],
      ['ValueError: Initial test run failed - Please make sure benchmark arguments are correctly specified.', 'requests_failed'],
      ['Requires tensor-parallel-size 8 (8 GPUs), only 1 H100 available', 'gpus_insufficient'],
    ];
    for (const [line, code] of cases) expect(classifyFailure({ bench: `noise\n${line}\nmore noise` })).toMatchObject({ code, line: 2, source: 'bench' });
  });

  it('falls back to internal_error with the last error-looking line, or says nothing was recorded', () => {
    expect(classifyFailure({ server: 'starting\nSomething failed here\nfinal words' })).toMatchObject({ code: 'internal_error', evidence: 'Something failed here', line: 2 });
    expect(classifyFailure({ server: 'all quiet\nstill quiet' })).toMatchObject({ code: 'internal_error', evidence: 'still quiet' });
    expect(classifyFailure({})).toEqual({ code: 'internal_error', evidence: 'no log and no error message were recorded' });
  });

  it('redacts secrets from evidence', () => {
    const f = classifyFailure({ server: 'ImportError: failed with HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz0123 set' });
    expect(f.code).toBe('dependency_error');
    expect(f.evidence).not.toContain('hf_abcdefghijklmnopqrstuvwxyz0123');
  });

  it('reads a 100 MB log and binary garbage without hanging', () => {
    const line = 'INFO 01-12 06:20:58 metrics.py:345] Avg prompt throughput: 1234.5 tokens/s, Running: 3 reqs, Pending: 0 reqs\n';
    const big = `${line.repeat(Math.ceil(100e6 / line.length))}torch.OutOfMemoryError: CUDA out of memory.\n`;
    expect(classifyFailure({ server: big })).toMatchObject({ code: 'server_oom' });
    const binary = String.fromCharCode(...Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));
    expect(classifyFailure({ server: binary })).toEqual({ code: 'internal_error', evidence: 'the server log looks binary, not text', source: 'server' });
  });

  it('explains a failure by its signature, or says none matched', () => {
    expect(failureMeaning(classifyFailure({ server: 'CUDA out of memory' }))).toMatch(/GPU memory/);
    expect(failureMeaning(classifyFailure({ error: '[Errno 32] Broken pipe' }))).toMatch(/harness/);
    expect(failureMeaning(classifyFailure({ server: 'Something failed' }))).toBe('no known failure signature matched');
  });

  it('only uses codes of the taxonomy', () => {
    for (const s of FAILURE_SIGNATURES) expect(FAILURE_CODES).toContain(s.code);
  });
});

describe('classifyFailure on every failed run of the corpus', () => {
  it('gives each one a code with evidence; the distribution is pinned (docs/parsers.md shows it)', () => {
    const runs = failedRuns();
    const dist: Record<string, number> = {};
    for (const run of runs) {
      const f = classifyFailure(run.input);
      expect(f.evidence.length).toBeGreaterThan(0);
      dist[f.code] = (dist[f.code] ?? 0) + 1;
    }
    expect(runs.length).toBe(606);
    expect(dist).toEqual({
      wheel_not_found: 132, internal_error: 130, no_metrics: 88, dependency_error: 68, port_bind_bug: 41, bench_failed: 28,
      server_crashed: 25, task_invalid: 24, bench_timeout: 14, model_unavailable: 13, build_failed: 8, image_missing: 8,
      model_unsupported: 8, cancelled: 6, patch_needs_build: 5, server_oom: 4, gpus_insufficient: 2, requests_failed: 2,
    });
  });
});
