import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir, TINY_SERVING } from './helpers.js';

/**
 * What a terminal shows after `raw`: the live reporter only moves the cursor up N lines and clears to the end
 * (`ESC[NA ESC[0J`) and writes whole lines, so a list of lines is a faithful screen. Colours are dropped.
 */
function screen(raw: string): string[] {
  const lines: string[] = [];
  const text = raw.replace(/\r/g, '').replace(/\x1b\[[0-9;]*m/g, '');
  for (const part of text.split(/(\x1b\[\d+A\x1b\[0J)/)) {
    const up = /^\x1b\[(\d+)A\x1b\[0J$/.exec(part);
    if (up) lines.length = Math.max(0, lines.length - Number(up[1]));
    else if (part !== '') lines.push(...part.replace(/\n$/, '').split('\n'));
  }
  return lines;
}

/** Runs `isobench run` on a pseudo-terminal (util-linux `script`), so the reporter sees a TTY as a user's shell does. */
function runOnTty(args: string[]): Promise<{ code: number | null; raw: string }> {
  const cmd = [process.execPath, path.join(repoRoot, 'bin/isobench.js'), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let raw = '';
  child.stdout.on('data', (d: Buffer) => (raw += d.toString()));
  child.stderr.on('data', (d: Buffer) => (raw += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, raw })));
}

describe('the live progress tree on a terminal', () => {
  it('redraws in place while trials run and leaves only the finished tree and the results', async () => {
    const dir = tempDir();
    const tasks = path.join(dir, 'tasks.json');
    const commit = '7'.repeat(40);
    writeFileSync(tasks, JSON.stringify({ version: 1, tasks: [{ commit, parent: '8'.repeat(40), subject: 'tiny task', perf_command: TINY_SERVING }] }));
    const { code, raw } = await runOnTty(['run', '--tasks', tasks, '--store', path.join(dir, 's.sqlite'), '--trials', '1', '--warmups', '1', '--variants', 'baseline,human']);
    expect(code, raw.slice(-2000)).toBe(0);

    // Live: the tree was redrawn in place, with each phase and a request bar while measuring.
    expect(raw).toMatch(/\x1b\[\d+A\x1b\[0J/);
    const plain = screen(raw.replace(/\x1b\[\d+A\x1b\[0J/g, '')).join('\n');
    expect(plain).toMatch(/baseline +trial 1: probe/);
    expect(plain).toMatch(/trial 1: measure [\d.]+s \[[#.]{20}\] \d\/4/);

    // At the end: the finished task once, each variant with its trial result, no live lines, then the results table.
    const final = screen(raw);
    const tree = final.slice(0, final.findIndex((l) => l.includes('77777777')) + 5);
    expect(tree.find((l) => l.includes('77777777'))).toMatch(/^✔ 77777777 tiny task \[serving\]$/);
    expect(final.filter((l) => l.includes('✔ 77777777'))).toHaveLength(1);
    expect(final.some((l) => /trial \d: (probe|warmup|measure)/.test(l))).toBe(false);
    expect(final.filter((l) => /^ {6}#1 ok ttft_mean=/.test(l))).toHaveLength(2);
    expect(final.join('\n')).toMatch(/baseline[\s\S]*#1 ok[\s\S]*human[\s\S]*#1 ok/);
  }, 120_000);
});
