import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { openStore, readStoreStatus } from '../../src/store/index.js';
import { repoRoot, tempDir, TINY_SERVING } from './helpers.js';

/** Live processes whose environment carries ISOBENCH_RUN_ID (the label every engine child gets), by run id. */
function labelledProcesses(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (/\) Z /.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) continue;
      const env = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      const id = env.find((kv) => kv.startsWith('ISOBENCH_RUN_ID='))?.slice('ISOBENCH_RUN_ID='.length);
      if (id) out.set(id, [...(out.get(id) ?? []), Number(name)]);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

interface Setup {
  args: string[];
  store: string;
}

/** A one-task catalog on the process engine whose servers are `isobench sim serve` children. */
function setup(trials: number, variants: string): Setup {
  const dir = tempDir();
  const tasks = path.join(dir, 'tasks.json');
  writeFileSync(tasks, JSON.stringify({ version: 1, tasks: [{ commit: '7'.repeat(40), parent: '8'.repeat(40), perf_command: TINY_SERVING }] }));
  const engine = path.join(dir, 'engine.json');
  writeFileSync(
    engine,
    JSON.stringify({
      serverTemplate: `${process.execPath} ${path.join(repoRoot, 'bin/isobench.js')} sim serve --model {model} --port {port} --decode-base-ms 2 {server_args}`,
      execTemplate: `${process.execPath} ${path.join(repoRoot, 'bin/isobench.js')} sim bench {script} {args}`,
      registryDir: path.join(dir, 'registry'),
      workDir: path.join(dir, 'work'),
      stopGraceMs: 2000,
    }),
  );
  const store = path.join(dir, 'store.sqlite');
  const args = [path.join(repoRoot, 'bin/isobench.js'), 'run', '--tasks', tasks, '--engine', 'process', '--engine-config', engine, '--store', store, '--trials', String(trials), '--warmups', '1', '--variants', variants, '--timeout-startup', '90', '--json-events',
    // Every server start of a child `isobench sim serve` costs seconds here: skip the OOM pre-check's extra starts.
    '--oom-fallback-max-model-len', '0'];
  return { args, store };
}

/** Starts the runner; `until` resolves at the first JSON event it accepts. */
function startRunner(s: Setup): { child: ChildProcess; until: (pred: (e: Record<string, unknown>) => boolean) => Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, s.args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) {
      if (w.pred(e)) w.resolve();
      else waiters.push(w);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal === 'SIGKILL' ? 137 : code)));
  return {
    child,
    exited,
    until: (pred) =>
      Promise.race([
        new Promise<void>((resolve) => waiters.push({ pred, resolve })),
        exited.then((code) => {
          throw new Error(`runner exited (${String(code)}) before the awaited event: ${stderr}`);
        }),
      ]),
  };
}

async function waitGone(runIds: string[], timeoutMs = 15_000): Promise<number[]> {
  const t0 = Date.now();
  while (true) {
    const alive = runIds.flatMap((id) => labelledProcesses().get(id) ?? []);
    if (alive.length === 0 || Date.now() - t0 > timeoutMs) return alive;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('isobench run as a child process (process engine, sim serve servers)', () => {
  it('kill -9 mid-trial loses only that trial; the re-run completes every trial exactly once and leaves no process', async () => {
    const s = setup(2, 'baseline');
    const first = startRunner(s);
    // Mid-trial of the second trial: its server is up, the first trial is stored.
    await first.until((e) => e.type === 'trial_phase' && e.phase === 'probe' && e.trialIndex === 2);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(137);

    const second = startRunner(s);
    expect(await second.exited).toBe(0);

    const store = await openStore(s.store);
    try {
      const trials = await store.listTrials();
      expect(trials.map((t) => t.trialIndex).sort()).toEqual([1, 2]);
      expect(new Set(trials.map((t) => t.trialKey)).size).toBe(2);
      expect(trials[0]?.runId).not.toBe(trials[1]?.runId);
      expect(trials.every((t) => t.status === 'ok')).toBe(true);
      const runs = await store.listRuns();
      expect(runs).toHaveLength(2);
      // The killed run is still recorded as running; status sees that its process is gone.
      expect(runs.map((r) => r.status).sort()).toEqual(['finished', 'running']);
      expect((await readStoreStatus(store)).runs.map((r) => r.status).sort()).toEqual(['finished', 'interrupted']);
      expect(await waitGone(runs.map((r) => r.id))).toEqual([]);
    } finally {
      await store.close();
    }
  }, 300_000);

  it('Ctrl-C stops the servers, marks the run cancelled and exits 130', async () => {
    const s = setup(3, 'baseline');
    const r = startRunner(s);
    await r.until((e) => e.type === 'trial_phase' && e.phase === 'probe');
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(130);
    const store = await openStore(s.store);
    try {
      const runs = await store.listRuns();
      expect(runs.map((x) => x.status)).toEqual(['cancelled']);
      expect(await store.countTrials({})).toBe(0);
      expect(await waitGone(runs.map((x) => x.id))).toEqual([]);
    } finally {
      await store.close();
    }
  }, 300_000);
});
