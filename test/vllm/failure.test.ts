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

  // Excerpts of real logs (the corpus file they come from is named; other lines of the log left out).
  it("an engine's Python traceback is server_crashed with the exception line, not the traceback header", () => {
    // results/separate_agent/*_human_result.json raw_output (a kept tail that starts inside the traceback).
    const server = [
      '[rank0]:   File "/opt/vllm_baseline/vllm/model_executor/models/llama.py", line 435, in load_weights',
      '[rank0]:     param = params_dict[name]',
      "[rank0]: KeyError: 'model.layers.18.mlp.down_proj.input_scale'",
      'SERVER_CRASHED',
    ].join('\n');
    expect(classifyFailure({ server, error: 'Server crashed during startup' })).toEqual({
      code: 'server_crashed', evidence: "KeyError: 'model.layers.18.mlp.down_proj.input_scale'", line: 3, source: 'server',
    });
    // exports/schema_v2_results.json: an in-process engine of benchmark_latency.py; the wrapper's summary loses.
    const latency = [
      '`torch_dtype` is deprecated! Use `dtype` instead!',
      'Traceback (most recent call last):',
      '  File "/opt/vllm-commit/benchmarks/benchmark_latency.py", line 284, in <module>',
      '    main(args)',
      '  File "/usr/local/lib/python3.11/site-packages/vllm/config.py", line 1247, in maybe_create_spec_config',
      '    raise ValueError(f"{ngram_prompt_lookup_max=} must be > 0")',
      'ValueError: ngram_prompt_lookup_max=None must be > 0',
    ].join('\n');
    expect(classifyFailure({ server: latency, error: 'Baseline benchmark produced no metrics' })).toMatchObject({ code: 'server_crashed', evidence: 'ValueError: ngram_prompt_lookup_max=None must be > 0', line: 7 });
  });

  it("a traceback whose innermost frame is the benchmark script is the client's failure (bench_failed)", () => {
    // exports/schema_v2_results.json: benchmark_serving.py with --dataset-name sharegpt and no --dataset-path.
    const bench = [
      'Traceback (most recent call last):',
      '  File "/opt/vllm-commit/benchmarks/benchmark_serving.py", line 821, in main',
      '    input_requests = sample_sharegpt_requests(',
      '                     ^^^^^^^^^^^^^^^^^^^^^^^^^',
      '  File "/opt/vllm-commit/benchmarks/benchmark_serving.py", line 97, in sample_sharegpt_requests',
      "    with open(dataset_path, encoding='utf-8') as f:",
      '         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
      'TypeError: expected str, bytes or os.PathLike object, not NoneType',
    ].join('\n');
    expect(classifyFailure({ bench })).toMatchObject({ code: 'bench_failed', evidence: 'TypeError: expected str, bytes or os.PathLike object, not NoneType', line: 8 });
  });

  it('names infrastructure faults: a docker pull that fills the disk, a failed pull, docker usage errors', () => {
    // results/separate_agent/aea94362_human_result.json raw_output.
    const pull = ['118edadc7038: Retrying in 1 second', '10c0420b9bc1: Download complete', 'docker: write /ephemeral/docker/tmp/GetImageBlob2197646190: no space left on device', '', "Run 'docker run --help' for more information"].join('\n');
    expect(classifyFailure({ server: pull, error: 'No metrics in output' })).toMatchObject({ code: 'disk_full', evidence: 'docker: write /ephemeral/docker/tmp/GetImageBlob2197646190: no space left on device', line: 3 });
    const cases: [string, string][] = [
      ['docker: failed to register layer: Error processing tar file(exit status 1): write /usr/lib/libcuda.so: no space left on device', 'disk_full'],
      ['docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout.', 'image_pull_failed'],
      ['toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading', 'image_pull_failed'],
      ['docker: invalid reference format: repository name must be lowercase.', 'docker_error'],
      ['unknown flag: --gpu', 'docker_error'],
      ['docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].', 'docker_error'],
      ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 'docker_error'],
      ['[Errno 32] Broken pipe', 'infra_error'],
      ["Lookup failed for Function 'run_3way_benchmark_1gpu' from the 'omniperf-benchmark' app", 'infra_error'],
      ["ValueError: Model architectures ['Qwen3ForCausalLM'] failed to be inspected. Please check the logs for more details.", 'model_unsupported'],
      ['DEPRECATED: This script has been moved to the vLLM CLI.', 'bench_failed'],
      ["vllm: error: argument subparser: invalid choice: 'bench' (choose from 'serve', 'complete', 'chat')", 'bench_failed'],
      ["python: can't open file '/opt/vllm-benchmarks/benchmark_guided.py': [Errno 2] No such file or directory", 'bench_failed'],
      ["name 'port' is not defined", 'internal_error'],
    ];
    for (const [line, code] of cases) expect(classifyFailure({ server: `noise\n${line}\nmore noise` }), line).toMatchObject({ code, line: 2 });
  });

  it('falls back to unclassified (not internal_error) with the last error-looking line, or says nothing was recorded', () => {
    expect(classifyFailure({ server: 'starting\nSomething failed here\nfinal words' })).toMatchObject({ code: 'unclassified', evidence: 'Something failed here', line: 2 });
    expect(classifyFailure({ server: 'all quiet\nstill quiet' })).toMatchObject({ code: 'unclassified', evidence: 'still quiet' });
    expect(classifyFailure({})).toEqual({ code: 'unclassified', evidence: 'no log and no error message were recorded' });
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
    expect(classifyFailure({ server: binary })).toEqual({ code: 'unclassified', evidence: 'the server log looks binary, not text', source: 'server' });
  });

  it('explains a failure by its signature, or says none matched', () => {
    expect(failureMeaning(classifyFailure({ server: 'CUDA out of memory' }))).toMatch(/GPU memory/);
    expect(failureMeaning(classifyFailure({ error: '[Errno 32] Broken pipe' }))).toMatch(/machinery around the engine/);
    expect(failureMeaning(classifyFailure({ error: "name 'port' is not defined" }))).toMatch(/defect of the benchmark runner/);
    expect(failureMeaning(classifyFailure({ server: 'Traceback (most recent call last):\n  File "/x/vllm/config.py", line 3, in f\nKeyError: \'type\'' }))).toMatch(/engine raised/);
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
      wheel_not_found: 132, infra_error: 113, dependency_error: 68, bench_failed: 61, no_metrics: 44, port_bind_bug: 41,
      server_crashed: 33, task_invalid: 24, internal_error: 12, unclassified: 5, bench_timeout: 14, model_unavailable: 13, build_failed: 8,
      model_unsupported: 8, image_missing: 8, cancelled: 6, server_oom: 5, patch_needs_build: 5, requests_failed: 2,
      gpus_insufficient: 2, disk_full: 2,
    });
  });
});
