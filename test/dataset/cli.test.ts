import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { emptyRow, writeDataset } from '../../src/dataset/index.js';
import { publishedCsv } from './helpers.js';

/** Runs the real program in-process, collecting what it writes to stdout and stderr. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr), env: { ...process.env }, exitCode: process.exitCode };
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
  Object.assign(process.env, env);
  try {
    const code = await runCli(['node', 'isobench', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.env = saved.env;
    process.exitCode = saved.exitCode;
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-cli-'));
  await writeDataset([{ ...emptyRow(), commit_hash: 'a'.repeat(40), agent_name: 'x' }], path.join(dir, 'ds'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('isobench dataset', () => {
  it('check --json lists the published problems and exits 1 on errors', async () => {
    const r = await cli(['dataset', 'check', publishedCsv, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { rows: number; findings: { code: string; count: number }[] };
    expect(report.rows).toBe(361);
    expect(report.findings.find((f) => f.code === 'improvement_mismatch')?.count).toBe(21);
  });

  it('push --dry-run lists the files; without HF_TOKEN it fails with a clear message', async () => {
    const dry = await cli(['dataset', 'push', path.join(dir, 'ds'), '--repo', 'org/name', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would upload 3 files to https://huggingface.co/datasets/org/name');
    expect(dry.stdout).toContain('data/train-00000-of-00001.parquet');
    const noToken = await cli(['dataset', 'push', path.join(dir, 'ds'), '--repo', 'org/name'], { HF_TOKEN: '', HUGGING_FACE_HUB_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/set HF_TOKEN/);
    const badRepo = await cli(['dataset', 'push', path.join(dir, 'ds'), '--repo', 'noslash', '--dry-run']);
    expect(badRepo.stderr).toMatch(/--repo: "noslash" is not <org>\/<name>/);
  });
});
