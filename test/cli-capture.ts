import { vi } from 'vitest';
import { runCli } from '../src/cli/index.js';

/**
 * Runs the real CLI in-process with `args` (no `node isobench` prefix) and returns its exit code and what it wrote
 * to stdout and stderr. process.exitCode is cleared before and after, so one command's code never leaks into the
 * next test.
 */
export async function captureCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  process.exitCode = undefined;
  try {
    return { code: await runCli(['node', 'isobench', ...args]), out, err };
  } finally {
    process.exitCode = undefined;
    vi.restoreAllMocks();
  }
}
