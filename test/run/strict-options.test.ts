import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureCli } from '../cli-capture.js';
import { parseNumberOption } from '../../src/cli/options.js';
import { tempDir, TINY_SERVING } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const cli = captureCli;

function catalog(tasks: unknown[] = [{ commit: '6'.repeat(40), parent: '5'.repeat(40), perf_command: TINY_SERVING }]): string {
  const file = path.join(tempDir(), 'tasks.json');
  writeFileSync(file, JSON.stringify({ version: 1, tasks }));
  return file;
}

describe('strict options: every bad value exits 2 naming the option and the fix', () => {
  it.each([
    [['--trials', '0x10'], /--trials: --trials must be a whole number in decimal digits, e\.g\. 3 \(got "0x10"\)/],
    [['--trials', '1e3'], /--trials: --trials must be a whole number in decimal digits.*\(got "1e3"\)/],
    [['--trials', '2.5'], /--trials: --trials must be a whole number/],
    [['--trials', ' 4'], /--trials: --trials must be a whole number/],
    [['--warmups='], /--warmups: --warmups needs a value/],
    [['--timeout-trial', 'Infinity'], /--timeout-trial: --timeout-trial must be a whole number/],
  ])('run %j', async (args, message) => {
    const r = await cli(['run', '--tasks', catalog(), '--store', path.join(tempDir(), 's.sqlite'), ...args]);
    expect(r.err).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('dataset build and report refuse a negative tie threshold with exit 2 (no internal error)', async () => {
    const dir = tempDir();
    const store = path.join(dir, 's.sqlite');
    const a = await cli(['dataset', 'build', '--store', store, '--out', path.join(dir, 'ds'), '--tie-threshold', '-1']);
    expect(a.err).toMatch(/--tie-threshold: --tie-threshold must be >= 0/);
    expect(a.err).not.toMatch(/internal error|RangeError/);
    expect(a.code).toBe(2);
    const b = await cli(['report', '--store', store, '--out', path.join(dir, 'r'), '--tie-threshold', '-1']);
    expect(b.err).toMatch(/--tie-threshold: --tie-threshold must be >= 0/);
    expect(b.code).toBe(2);
    const c = await cli(['report', '--store', store, '--out', path.join(dir, 'r'), '--tie-threshold', '2%']);
    expect(c.err).toMatch(/--tie-threshold: --tie-threshold must be a number in decimal digits/);
    expect(c.code).toBe(2);
  });

  it('an empty catalog says so (not "--only: matches no task"), naming --tasks', async () => {
    const r = await cli(['run', '--tasks', catalog([]), '--store', path.join(tempDir(), 's.sqlite')]);
    expect(r.err).not.toMatch(/--only/);
    expect(r.err).toMatch(/--tasks: .* holds no task/);
    expect(r.code).toBe(2);
  });

  it('a missing --tasks file exits 2 naming the option', async () => {
    const r = await cli(['run', '--tasks', '/nonexistent/tasks.yaml']);
    expect(r.err).toMatch(/--tasks: \/nonexistent\/tasks\.yaml does not exist/);
    expect(r.code).toBe(2);
  });

  it('bench serve reads --goodput and --metric-percentiles with the same strict parser', async () => {
    const a = await cli(['bench', 'serve', '--goodput', 'ttft:0x10']);
    expect(a.err).toMatch(/--goodput: .*decimal digits/);
    expect(a.code).toBe(2);
    const b = await cli(['bench', 'serve', '--metric-percentiles', '99,1e1']);
    expect(b.err).toMatch(/--metric-percentiles: .*decimal digits/);
    expect(b.code).toBe(2);
    const c = await cli(['bench', 'serve', '--top-k', '0x10']);
    expect(c.err).toMatch(/--top-k: --top-k must be a whole number in decimal digits/);
    expect(c.code).toBe(2);
  });
});

describe('parseNumberOption', () => {
  it('takes decimal numbers only, within the rule', () => {
    expect(parseNumberOption('--x', '16', { int: true })).toBe(16);
    expect(parseNumberOption('--x', '-0.5')).toBe(-0.5);
    expect(parseNumberOption('--x', '.5')).toBe(0.5);
    expect(() => parseNumberOption('--x', '0x10')).toThrow(/--x: --x must be a number in decimal digits/);
    expect(() => parseNumberOption('--x', '5', { min: 0, max: 1 })).toThrow(/--x must be <= 1/);
    expect(() => parseNumberOption('--x', '0', { gt: 0 })).toThrow(/--x must be > 0/);
  });
});
