import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { tempDir, TINY_SERVING } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** Runs `isobench run ...` in-process; returns the exit code and what went to stderr. */
async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const code = await runCli(['node', 'isobench', 'run', ...args]);
  return { code, stderr };
}

function catalog(): string {
  const dir = tempDir();
  const file = path.join(dir, 'tasks.json');
  writeFileSync(file, JSON.stringify({ version: 1, tasks: [{ commit: '6'.repeat(40), parent: '5'.repeat(40), perf_command: TINY_SERVING }] }));
  return file;
}

describe('isobench run options', () => {
  it.each([
    [['--trials', '0'], /--trials: --trials must be > 0/],
    [['--warmups', 'x'], /--warmups/],
    [['--variants', 'baseline,robot'], /--variants: give a comma-separated subset of baseline,human,agent/],
    [['--only', 'zz'], /--only: give commit hashes or prefixes/],
    [['--agent', 'nomodel'], /--agent: "nomodel" is not <name>:<model>=<patch-file-or-dir>/],
    [['--timeout-startup', '-1'], /--timeout-startup/],
    [['--engine', 'process', '--preset', 'tgi'], /--preset.*(tgi|vllm, sglang, llama\.cpp)/],
    [['--preset', 'llama.cpp'], /--preset: applies to the process and docker engines/],
  ])('rejects %j with exit code 2 and a message naming the option', async (args, message) => {
    const r = await run(['--tasks', catalog(), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('rejects an engine config for another engine and an --only that matches no task', async () => {
    const dir = tempDir();
    const cfg = path.join(dir, 'engine.json');
    writeFileSync(cfg, JSON.stringify({ kind: 'docker' }));
    const a = await run(['--tasks', catalog(), '--engine-config', cfg]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--engine-config: is for engine "docker" but --engine is sim/);
    const b = await run(['--tasks', catalog(), '--only', 'abcdef', '--store', path.join(dir, 's.sqlite')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--only: matches no task/);
  });

  it('rejects a --preset that contradicts the engine config', async () => {
    const cfg = path.join(tempDir(), 'engine.json');
    writeFileSync(cfg, JSON.stringify({ preset: 'sglang' }));
    const r = await run(['--tasks', catalog(), '--engine', 'process', '--engine-config', cfg, '--preset', 'llama.cpp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--preset: is llama.cpp but --engine-config says preset "sglang"/);
  });

  it('fails on a missing agent patch path before anything runs', async () => {
    const r = await run(['--tasks', catalog(), '--agent', 'a:m=/nonexistent/patches']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/patch path "\/nonexistent\/patches" of agent a does not exist/);
  });
});
