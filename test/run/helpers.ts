import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { onTestFinished } from 'vitest';
import type { AgentSource, RunSettings } from '../../src/run/index.js';
import { agentPatch } from '../../src/run/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { TaskSchema, type Task, type TaskInput } from '../../src/task/index.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** What a spawned `isobench` printed: its exit code, its `--json-events` lines parsed, its stderr. */
export interface SpawnedRun {
  code: number | null;
  events: Record<string, unknown>[];
  stderr: string;
}

/** Spawns `bin/isobench.js ARGS` as a user would and collects its JSON event lines (other stdout lines are skipped). */
export function spawnIsobench(args: string[]): Promise<SpawnedRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/isobench.js'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Record<string, unknown>[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not an event */
      }
    });
    child.on('close', (code) => resolve({ code, events, stderr }));
  });
}

/** A temp dir removed when the test ends. */
export function tempDir(prefix = 'isobench-run-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `fn` with a fresh SQLite store in a temp dir, closed afterwards. */
export async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(path.join(tempDir(), 'run.sqlite'));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A tiny serving perf command: a handful of short requests so a trial takes well under a second. */
export const TINY_SERVING =
  'python benchmarks/benchmark_serving.py --model sim/tiny --dataset-name random --random-input-len 32 --random-output-len 4 --num-prompts 4 --max-concurrency 2 --seed 1';

/** A task with commit `c` repeated (hex) and the given fields. */
export function task(c: string, fields: Partial<TaskInput> = {}): Task {
  return TaskSchema.parse({ commit: c.repeat(40).slice(0, 40), parent: 'e'.repeat(40), subject: `task ${c}`, perf_command: TINY_SERVING, ...fields });
}

/** An agent whose patch is the same text for every task. */
export function memAgent(name: string, text: string): AgentSource {
  return { name, model: 'test-model', patchPath: 'mem', patchFor: () => agentPatch(text, 'mem') };
}

/** A patch that applies to a Python file only (passes inspection). */
export function pyPatch(line: string): string {
  return ['diff --git a/vllm/x.py b/vllm/x.py', '--- a/vllm/x.py', '+++ b/vllm/x.py', '@@ -1,1 +1,1 @@', '-a = 1', `+a = ${line}`, ''].join('\n');
}

export function settings(over: Partial<RunSettings> = {}): RunSettings {
  return {
    trials: 2,
    warmups: 1,
    variants: ['baseline', 'human', 'agent'],
    only: [],
    timeoutStartupS: 20,
    timeoutTrialS: 60,
    gpuCount: null,
    oomFallbackMaxModelLen: 2048,
    engineSettingsKey: 'test',
    datasetDir: null,
    missingDataset: 'refuse',
    ...over,
  };
}
