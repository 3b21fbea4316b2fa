import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { captureCli } from '../cli-capture.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Runs `isobench <args>` as a child process; resolves the URL once it prints its Uvicorn line, or its exit. */
function start(args: string[]) {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/isobench.js'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string | undefined>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /Uvicorn running on (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    void exited.then(() => resolve(undefined));
  });
  return { child, url, exited, out: () => stdout, err: () => stderr };
}

describe('isobench sim serve (child process)', () => {
  it('starts on --port 0, serves, warns about unknown flags, stops on SIGTERM; a crash exits 1 with the line on stderr', async () => {
    // Both children start at once: starting the CLI dominates this file's time.
    const p = start(['sim', 'serve', 'my/model', '--port', '0', '-tp', '2', '--dtype', 'half', '--weird-flag', 'x']);
    const crash = start(['sim', 'serve', '--port', '0', '--crash-at-start', 'torch.OutOfMemoryError: CUDA out of memory.']);
    const url = await p.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(p.out()).toContain('WARNING: isobench sim ignores unknown flag --weird-flag x');
    expect(p.out()).toMatch(/Starting vLLM API server on http:/);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data[0]!.id).toBe('my/model');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(await crash.exited).toBe(1);
    expect(crash.err().trim().split('\n').at(-1)).toBe('torch.OutOfMemoryError: CUDA out of memory.');
  });

  it('bad flag values exit 2; sim bench prints a script format (in-process)', async () => {
    const bad = await captureCli(['sim', 'serve', '--max-num-seqs', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--max-num-seqs');
    const ok = await captureCli(['sim', 'bench', 'throughput', '--input-len', '64', '--output-len', '16', '--num-prompts', '10']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^Throughput: [\d.]+ requests\/s/m);
  });

  it('sim bench --help and sim bench <script> --help print the usage and exit 0 (in-process)', async () => {
    const help = await captureCli(['sim', 'bench', '--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('Usage: isobench sim bench <latency|throughput|prefix-caching>');
    expect(help.out).toContain('--sim-profile <file>');
    expect(await captureCli(['sim', 'bench', 'latency', '-h'])).toEqual(help);
  });
});
