import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { gpuCount } from '../../src/core/index.js';
import { createEngine, parseEngineConfig } from '../../src/engine/index.js';

function usageMessage(input: unknown): string {
  try {
    parseEngineConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(IsobenchError);
    expect((err as IsobenchError).code).toBe('E_USAGE');
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('engine config', () => {
  it('fills the documented defaults', () => {
    const docker = parseEngineConfig({ kind: 'docker', runId: 'r1' });
    expect(docker.kind === 'docker' && docker.images).toEqual({ baseline: 'anonymous/vllm-baseline:baseline-{parent12}', human: 'anonymous/vllm-bench:{commit}' });
    expect(docker.kind === 'docker' && [docker.shmSize, docker.gpus, docker.containerPort, docker.pull, docker.init]).toEqual(['16g', 'task', 8000, false, true]);
    const proc = parseEngineConfig({ kind: 'process', runId: 'r1' });
    expect(proc.kind === 'process' && [proc.serverTemplate, proc.execTemplate, proc.venv]).toEqual([
      '{venv}/bin/vllm serve {model} --port {port} {server_args}',
      '{venv}/bin/python {script} {args}',
      '/opt/venvs/{commit}',
    ]);
    expect(parseEngineConfig({ kind: 'sim', runId: 'r1' }).stopGraceMs).toBe(10_000);
  });

  it('names the key and the fix for bad values', () => {
    expect(usageMessage({ kind: 'vm', runId: 'r' })).toMatch(/kind/);
    expect(usageMessage({ kind: 'docker', runId: 'r', shmSize: 'lots' })).toMatch(/shmSize: a size such as 16g/);
    expect(usageMessage({ kind: 'docker', runId: 'r', images: { human: 'x:{sha}' } })).toMatch(/images\.human.*\{sha\}/s);
    expect(usageMessage({ kind: 'process', runId: 'r', venv: { default: '/v/{commit}', typo: 1 } })).toMatch(/venv/);
    expect(usageMessage({ kind: 'process', runId: 'r', execTemplate: 'python {script} {server_args}' })).toMatch(/execTemplate.*\{server_args\}/s);
    expect(usageMessage({ kind: 'sim', runId: 'has space' })).toMatch(/runId/);
    expect(() => createEngine({ kind: 'sim', runId: 'r', profile: { decode_base_ms: -1 } })).toThrow(/decode_base_ms/);
  });

  it('reads the GPU count of a task gpu_config', () => {
    expect(gpuCount('H100:2')).toBe(2);
    expect(gpuCount('A100')).toBe(1);
    expect(gpuCount('8xH100')).toBe(8);
    expect(gpuCount(undefined)).toBeUndefined();
  });
});
