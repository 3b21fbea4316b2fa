import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { IsobenchError } from '../../src/core/index.js';
import { checkTask, loadCatalog, readCatalog, TaskSchema, type Task } from '../../src/task/index.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const mappings = path.resolve(repoRoot, '../shared/corpus/iso-bench/data/mappings');
const modeMapping = path.join(mappings, 'benchmark_mode_mapping.json');
const matched = path.join(mappings, 'matched_commits_for_benchmark.json');
const tmp = mkdtempSync(path.join(tmpdir(), 'isobench-task-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the real CLI in-process and returns its exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  process.exitCode = undefined;
  try {
    const code = await runCli(['node', 'isobench', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

const task = (over: Partial<Task>): Task =>
  TaskSchema.parse({ commit: 'a'.repeat(40), parent: 'b'.repeat(40), perf_command: 'python benchmarks/benchmark_serving.py --model m', ...over });

describe('checkTask', () => {
  it('finds each kind of contradiction', () => {
    const kinds = (t: Task) => checkTask(t).contradictions.map((c) => c.kind);
    expect(kinds(task({ benchmark_mode: 'standalone' }))).toEqual(['mode_label']);
    expect(kinds(task({ models: ['other/model'] }))).toEqual(['model_mismatch']);
    expect(kinds(task({ commit_short: 'abcdef12' }))).toEqual(['short_hash']);
    expect(kinds(task({ gpu_config: 'H100:1', perf_command: 'python benchmarks/benchmark_latency.py --model m -tp 4' }))).toEqual(['gpu_count']);
    expect(kinds(task({ perf_command: 'python benchmark_guided.py --model m' }))).toEqual(['unknown_script']);
    expect(kinds(task({ perf_command: "python x.py 'oops" }))).toEqual(['command_unparsable']);
    expect(kinds(task({ perf_command: undefined }))).toEqual(['no_perf_command']);
    expect(checkTask(task({ benchmark_mode: 'standalone', perf_command: 'vllm bench latency --model m' }))).toMatchObject({ status: 'ok', mode: 'latency', v5Mode: 'standalone' });
  });

  it('reads the GPU count of gpu_config as the engines do (8xH100 is 8 GPUs, not 1)', () => {
    const kinds = (t: Task) => checkTask(t).contradictions.map((c) => c.kind);
    expect(kinds(task({ gpu_config: '8xH100', perf_command: 'python benchmarks/benchmark_latency.py --model m -tp 8' }))).toEqual([]);
    expect(kinds(task({ gpu_config: '2 x A100', perf_command: 'python benchmarks/benchmark_latency.py --model m -tp 4' }))).toEqual(['gpu_count']);
  });
});

describe('catalogs', () => {
  it('imports all 96 tasks of benchmark_mode_mapping.json and pins what tasks check finds', async () => {
    const read = await readCatalog(modeMapping);
    expect(read.format).toBe('benchmark_mode_mapping');
    expect(read.entries).toHaveLength(96);
    const invalid = read.entries.filter((e) => e.status === 'invalid').map((e) => e.id);
    // 5 have no parent commit at all, 2 have an 8-character "commit_full".
    expect(invalid.sort()).toEqual(['19d98e0c', '3127e975', '4fb56914', '526de822', '9f1710f1', 'ac45c44d', 'baeded25']);
    const byKind: Record<string, string[]> = {};
    for (const e of read.entries) {
      if (e.status !== 'ok') continue;
      for (const c of checkTask(e.task).contradictions) (byKind[c.kind] ??= []).push(e.id);
    }
    expect(byKind).toEqual({
      mode_label: ['0ec82edd', '21d93c14', '22dd9c27', '2a052011', '3476ed08', '61b8cea3', 'eefbf4a6'],
      model_mismatch: ['21d93c14', '2a052011', '61b8cea3', '6d646d08', '9323a315', 'aea94362', 'd55e446d', 'fa63e710'],
      unknown_script: ['9323a315', '9474e89b'],
      // benchmark_serving.py has no --batch-size, and isobench does not build the hf dataset.
      unsupported_flag: ['d55e446d', 'e7523c2e'],
      invalid_value: ['fa63e710'],
    });
  });

  it('imports matched_commits_for_benchmark.json (short parents, "unknown" labels)', async () => {
    const read = await readCatalog(matched);
    expect(read.format).toBe('matched_commits');
    expect(read.entries).toHaveLength(24);
    expect(read.entries.every((e) => e.status === 'ok')).toBe(true);
  });

  it('loads our YAML example, and rejects bad files with a message naming the task and field', async () => {
    const tasks = await loadCatalog(path.join(repoRoot, 'examples/catalog.yaml'));
    expect(tasks.map((t) => t.commit.slice(0, 8))).toEqual(['015069b0', 'fb0acb6c']);
    const bad = path.join(tmp, 'bad.yaml');
    writeFileSync(bad, 'version: 1\ntasks:\n  - commit: abc\n    parent: fbefc8a78d22\n');
    await expect(loadCatalog(bad)).rejects.toThrow(/task #1 \(abc\): commit: expected a full 40-character lowercase hex commit hash, got "abc"/);
    const empty = path.join(tmp, 'empty.json');
    writeFileSync(empty, '');
    await expect(loadCatalog(empty)).rejects.toBeInstanceOf(IsobenchError);
    const binary = path.join(tmp, 'garbage.bin');
    writeFileSync(binary, Buffer.from([0, 1, 2, 255, 254, 0, 10]));
    await expect(loadCatalog(binary)).rejects.toThrow(/binary/);
  });
});

describe('CLI', () => {
  it('tasks check exits 1 on the mapping (invalid tasks) and 0 on the example', async () => {
    const r = await cli('tasks', 'check', modeMapping, '--json');
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { summary: { tasks: number; invalid: number; contradictions: Record<string, number> } };
    expect(json.summary).toMatchObject({ tasks: 96, invalid: 12 });
    expect(json.summary.contradictions.mode_label).toBe(7);
    expect((await cli('tasks', 'check', path.join(repoRoot, 'examples/catalog.yaml'))).code).toBe(0);
  });

  it('tasks import writes our format, which loads back', async () => {
    const out = path.join(tmp, 'imported.yaml');
    const r = await cli('tasks', 'import', matched, '--out', out);
    expect(r.code).toBe(0);
    expect(await loadCatalog(out)).toHaveLength(24);
    expect(readFileSync(out, 'utf8')).toMatch(/^version: 1/);
    expect((await cli('tasks', 'import', matched)).code).toBe(2);
  });

  it('perf-command, parse and classify give clear results and exit codes', async () => {
    const p = await cli('perf-command', 'python benchmarks/benchmark_serving.py --model m --input-len 10', '--json');
    expect(p.code).toBe(0);
    expect(JSON.parse(p.out)).toMatchObject({ status: 'ok', mode: 'serving', client: { randomInputLen: 10 } });
    const r = await cli('perf-command', 'python benchmarks/benchmark_serving.py --model m --temperature 0 --profile', '--json');
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as { refused: string[] }).refused).toEqual([expect.stringMatching(/^--profile: it runs the torch profiler/) as string]);
    const q = await cli('perf-command', "python 'x");
    expect(q.code).toBe(1);
    expect(q.err).toMatch(/unterminated single quote/);
    const log = path.join(tmp, 'latency.log');
    writeFileSync(log, 'Avg latency: 0.25 seconds\n');
    expect(JSON.parse((await cli('parse', log, '--json')).out)).toMatchObject({ status: 'ok', metrics: { latency_avg: 250 } });
    const empty = path.join(tmp, 'empty.log');
    writeFileSync(empty, '');
    expect((await cli('parse', empty)).code).toBe(3);
    expect((await cli('parse', path.join(tmp, 'missing.log'))).code).toBe(1);
    const crash = path.join(tmp, 'crash.log');
    writeFileSync(crash, 'x\nModuleNotFoundError: No module named pandas\n');
    expect(JSON.parse((await cli('classify', crash, '--json')).out)).toEqual({ code: 'dependency_error', evidence: 'ModuleNotFoundError: No module named pandas', line: 2, source: 'server' });
  });
});
