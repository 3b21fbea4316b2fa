import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { cleanupLeftovers, createEngine, type Engine, type PreparedVariant, type VariantSpec } from '../../src/engine/index.js';
import type { Task } from '../../src/task/index.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const state = mkdtempSync(path.join(tmpdir(), 'isobench-process-test-'));
/** Written at test time so that it stays out of the type-checked, linted sources. */
const FIXTURE_SOURCE = `// A stand-in server for the process engine tests: serves /health on --port, forks a grandchild into its process
// group (so stopping must kill the tree), prints its secret env (so the log must be redacted), and can ignore SIGTERM.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1]);
const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log(\`grandchild pid \${grandchild.pid}\`);
console.log(\`token is \${process.env.HF_TOKEN ?? 'unset'}\`);
console.log(\`args \${JSON.stringify(args)}\`);
console.error(\`cwd \${process.cwd()} pythonpath \${process.env.PYTHONPATH ?? ''}\`);
if (args.includes('--ignore-term')) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
if (args.includes('--crash')) {
  console.error('RuntimeError: simulated crash at start');
  process.exit(3);
}
createServer((_req, res) => res.end('ok')).listen(port, '127.0.0.1', () => console.log(\`listening on \${port}\`));
`;
const fixture = path.join(state, 'tree-server.mjs');
writeFileSync(fixture, FIXTURE_SOURCE);
const registryDir = path.join(state, 'registry');
const engines: Engine[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.cleanup()));
  rmSync(state, { recursive: true, force: true });
});

const task: Task = {
  commit: 'a'.repeat(40),
  parent: 'b'.repeat(40),
  repo: 'vllm-project/vllm',
  files_changed: [],
  models: ['m'],
};

function spec(kind: VariantSpec['kind'], patchText?: string): VariantSpec {
  return {
    id: `t1-${kind}`,
    task,
    kind,
    engineCommit: kind === 'human' ? task.commit : task.parent,
    ...(patchText === undefined ? {} : { agent: { name: 'claude', model: 'x', patchText, patchBytes: Buffer.from(patchText), patchSha256: '0' } }),
  };
}

function engine(runId: string, extra: Record<string, unknown> = {}): Engine {
  const e = createEngine({
    kind: 'process',
    runId,
    registryDir,
    workDir: path.join(state, 'work'),
    stopGraceMs: 500,
    serverTemplate: `${process.execPath} ${fixture} --model {model} --port {port} {server_args}`,
    execTemplate: `${process.execPath} {script} {args}`,
    ...extra,
  });
  engines.push(e);
  return e;
}

async function ready(e: Engine, s: VariantSpec): Promise<PreparedVariant> {
  const r = await e.prepare(s, new AbortController().signal);
  if (r.status !== 'ready') throw new Error(`not ready: ${JSON.stringify(r)}`);
  return r.variant;
}

async function waitFor(pred: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

function pidsOfRun(runId: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`ISOBENCH_RUN_ID=${runId}`) && alive(pid);
      } catch {
        return false;
      }
    });
}

describe('process engine', () => {
  it('rejects a bad config naming the key', () => {
    expect(() => createEngine({ kind: 'process', runId: 'r', serverTemplate: 'vllm serve {modle}' })).toThrow(/serverTemplate.*\{modle\}/s);
    expect(() => createEngine({ kind: 'process', runId: 'bad id!' })).toThrow(IsobenchError);
  });

  it('starts a server from the template, captures redacted logs, and stops the whole tree', async () => {
    const e = engine('proc-run-1');
    const v = await ready(e, spec('baseline'));
    const secret = 'hf_abcdefghijklmnopqrstuvwxyz123456';
    const handle = await e.startServer(v, { model: 'facebook/opt-125m', serverArgs: ['--max-model-len', '2048'], env: { HF_TOKEN: secret }, port: 0 }, new AbortController().signal);
    await waitFor(() => handle.log().includes('listening on'), 'listening');
    const res = await fetch(`${handle.baseUrl}/health`);
    expect(await res.text()).toBe('ok');
    const log = handle.log();
    expect(log).toContain('args ["--model","facebook/opt-125m","--port"');
    expect(log).toContain('"--max-model-len","2048"]');
    expect(log).not.toContain(secret);
    const grandchild = Number(/grandchild pid (\d+)/.exec(log)?.[1]);
    expect(alive(grandchild)).toBe(true);
    expect(pidsOfRun('proc-run-1').length).toBeGreaterThanOrEqual(2);
    await handle.stop();
    await handle.stop();
    expect(alive(grandchild)).toBe(false);
    expect(pidsOfRun('proc-run-1')).toEqual([]);
    expect((await handle.exited).signal).toBe('SIGTERM');
  });

  it('escalates to SIGKILL when the server ignores SIGTERM', async () => {
    const e = engine('proc-run-2');
    const v = await ready(e, spec('human'));
    const handle = await e.startServer(v, { model: 'm', serverArgs: ['--ignore-term'], env: {}, port: 0 }, new AbortController().signal);
    await waitFor(() => handle.log().includes('listening on'), 'listening');
    await handle.stop();
    expect(handle.log()).toContain('ignoring SIGTERM');
    expect((await handle.exited).signal).toBe('SIGKILL');
    expect(pidsOfRun('proc-run-2')).toEqual([]);
  });

  it('reports a server that exits at start through exited and its log', async () => {
    const e = engine('proc-run-3');
    const v = await ready(e, spec('baseline'));
    const handle = await e.startServer(v, { model: 'm', serverArgs: ['--crash'], env: {}, port: 0 }, new AbortController().signal);
    expect(await handle.exited).toEqual({ code: 3, signal: null });
    expect(handle.log()).toContain('RuntimeError: simulated crash at start');
    await handle.stop();
  });

  it('stops the server when the abort signal fires', async () => {
    const e = engine('proc-run-4');
    const v = await ready(e, spec('baseline'));
    const ac = new AbortController();
    const handle = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, ac.signal);
    await waitFor(() => handle.log().includes('listening on'), 'listening');
    ac.abort();
    await handle.exited;
    await waitFor(() => pidsOfRun('proc-run-4').length === 0, 'no process left');
  });

  it('runs a script through the exec template and times it out', async () => {
    const e = engine('proc-run-5');
    const v = await ready(e, spec('baseline'));
    const script = path.join(state, 'bench.py');
    writeFileSync(script, "console.log('Avg latency: 0.5 seconds', process.argv.slice(2).join(' '))");
    const ok = await e.exec(v, { argv: [script, '--batch-size', '8'], env: {}, timeoutMs: 10_000 }, new AbortController().signal);
    expect(ok).toEqual({ exitCode: 0, output: 'Avg latency: 0.5 seconds --batch-size 8\n', timedOut: false });
    const slow = await e.exec(v, { argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], env: {}, timeoutMs: 200 }, new AbortController().signal);
    expect(slow.timedOut).toBe(true);
    expect(pidsOfRun('proc-run-5')).toEqual([]);
  });

  it('keeps only the tail of a long log, says so, and redacts secrets in any format that were passed in', async () => {
    const e = engine('proc-run-9', { logLimitBytes: 1000 });
    const v = await ready(e, spec('baseline'));
    const script = "for (let i = 0; i < 200; i++) console.log('line ' + i + ' ' + 'x'.repeat(20)); console.log('key ' + process.env.MY_API_KEY)";
    const r = await e.exec(v, { argv: [process.execPath, '-e', script], env: { MY_API_KEY: 'plain-secret-value' }, timeoutMs: 10_000 }, new AbortController().signal);
    expect(r.output).toMatch(/^\[isobench: \d+ earlier characters dropped\]\n/);
    expect(r.output.length).toBeLessThan(1100);
    expect(r.output).toContain('line 199');
    expect(r.output).not.toContain('line 0 ');
    expect(r.output).toContain('key ***');
    expect(r.output).not.toContain('plain-secret-value');
  });

  it('reports a command that cannot be started through exited and the log', async () => {
    // Not an absolute path (prepare checks those): a program name that is on no PATH.
    const e = engine('proc-run-10', { serverTemplate: 'isobench-no-such-binary --port {port}' });
    const v = await ready(e, spec('baseline'));
    const h = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, new AbortController().signal);
    expect(await h.exited).toEqual({ code: null, signal: null });
    expect(h.log()).toContain('cannot start');
    await h.stop();
  });

  it('finds and stops the leftovers of a run by its id', async () => {
    const e = engine('proc-run-6');
    const v = await ready(e, spec('baseline'));
    const handle = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, new AbortController().signal);
    await waitFor(() => handle.log().includes('listening on'), 'listening');
    const report = await cleanupLeftovers('proc-run-6', { registryDir, graceMs: 500, dockerHost: 'unix:///nonexistent.sock' });
    expect(report.processes.length).toBeGreaterThanOrEqual(1);
    await handle.exited;
    await waitFor(() => pidsOfRun('proc-run-6').length === 0, 'no process left');
  });

  it('fails a server program given by a path that does not exist, or a {source} tree that is not there, as image_missing', async () => {
    const missing = await engine('proc-run-11', { serverTemplate: `${state}/no-such-binary --port {port}` }).prepare(spec('baseline'), new AbortController().signal);
    expect(missing).toMatchObject({ status: 'failed', failure: { code: 'image_missing', evidence: `server program ${state}/no-such-binary does not exist` } });
    const llama = await engine('proc-run-12', { preset: 'llama.cpp', serverTemplate: undefined, sourceDir: path.join(state, 'llama-{commit}') }).prepare(spec('human'), new AbortController().signal);
    expect(llama.status === 'failed' && llama.failure).toMatchObject({ code: 'image_missing', evidence: expect.stringMatching(/^source tree .*llama-a{40} does not exist \(build it: npx tsx scripts\/build-llama-server.ts/) });
    const unset = await engine('proc-run-13', { serverTemplate: '{source}/bin/server --port {port}' }).prepare(spec('baseline'), new AbortController().signal);
    expect(unset.status === 'failed' && unset.failure.evidence).toBe('the server command uses {source} and sourceDir is not set');
  });

  it('fails a venv that does not exist as image_missing', async () => {
    const e = engine('proc-run-7', { serverTemplate: '{venv}/bin/vllm serve {model} --port {port} {server_args}', venv: path.join(state, 'venvs/{commit}') });
    const r = await e.prepare(spec('human'), new AbortController().signal);
    expect(r.status === 'failed' && r.failure).toMatchObject({ code: 'image_missing' });
  });

  it('applies an agent patch to a copy of the source tree and runs from it; refuses agents without sourceDir', async () => {
    const src = path.join(state, 'src', task.parent);
    mkdirSync(path.join(src, 'vllm'), { recursive: true });
    writeFileSync(path.join(src, 'vllm/a.py'), 'x = 1\n');
    const patch = 'diff --git a/vllm/a.py b/vllm/a.py\n--- a/vllm/a.py\n+++ b/vllm/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n';
    const bad = patch.replace('-x = 1', '-x = 5');
    await expect(engine('proc-run-8').prepare(spec('agent', patch), new AbortController().signal)).rejects.toThrow(/sourceDir/);
    const e = engine('proc-run-8', { sourceDir: path.join(state, 'src/{commit}') });
    const failed = await e.prepare(spec('agent', bad), new AbortController().signal);
    expect(failed.status === 'failed' && failed.failure.code).toBe('patch_apply_failed');
    const empty = await e.prepare(spec('agent', ' \n'), new AbortController().signal);
    expect(empty.status === 'failed' && empty.failure.code).toBe('patch_empty');
    const v = await ready(e, spec('agent', patch));
    const copy = (v.detail as { source: string }).source;
    expect(readFileSync(path.join(copy, 'vllm/a.py'), 'utf8')).toBe('x = 2\n');
    expect(readFileSync(path.join(src, 'vllm/a.py'), 'utf8')).toBe('x = 1\n');
    const handle = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, new AbortController().signal);
    await waitFor(() => handle.log().includes('listening on'), 'listening');
    expect(handle.log()).toContain(`cwd ${copy} pythonpath ${copy}`);
    await handle.stop();
  });
});

describe('process engine with isobench sim serve', () => {
  it.runIf(readFileSync(path.join(repoRoot, 'src/cli/commands.ts'), 'utf8').includes('sim'))('serves /health from the real stand-in server', async () => {
    const e = engine('proc-run-sim', { serverTemplate: `${process.execPath} {repo}/bin/isobench.js sim serve --model {model} --port {port} {server_args}`, repo: repoRoot });
    const v = await ready(e, spec('baseline'));
    const handle = await e.startServer(v, { model: 'facebook/opt-125m', serverArgs: ['--max-model-len', '2048'], env: {}, port: 0 }, new AbortController().signal);
    let ok = false;
    for (let i = 0; i < 300 && !ok; i++) {
      ok = await fetch(`${handle.baseUrl}/health`).then((r) => r.ok, () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 50));
    }
    expect(ok).toBe(true);
    const models = (await (await fetch(`${handle.baseUrl}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0]?.id).toBe('facebook/opt-125m');
    await handle.stop();
    expect(pidsOfRun('proc-run-sim')).toEqual([]);
  }, 30_000);
});

describe('leftovers of a crashed runner', () => {
  it('stops the servers of a kill -9ed runner and leaves a live run alone', async () => {
    const live = engine('proc-live');
    const lv = await ready(live, spec('baseline'));
    const liveHandle = await live.startServer(lv, { model: 'm', serverArgs: [], env: {}, port: 0 }, new AbortController().signal);

    // A runner in another process starts a server, reports its pid, and is killed with SIGKILL.
    const runner = path.join(state, 'runner.mjs');
    writeFileSync(
      runner,
      `import { createEngine } from ${JSON.stringify(path.join(repoRoot, 'src/engine/index.ts'))};
const e = createEngine({ kind: 'process', runId: 'proc-crashed', registryDir: ${JSON.stringify(registryDir)},
  serverTemplate: ${JSON.stringify(`${process.execPath} ${fixture} --port {port}`)} });
const task = { commit: 'a'.repeat(40), parent: 'b'.repeat(40), repo: 'x', files_changed: [], models: [] };
const r = await e.prepare({ id: 'v', task, kind: 'baseline', engineCommit: task.parent }, new AbortController().signal);
const h = await e.startServer(r.variant, { model: 'm', serverArgs: [], env: {}, port: 0 }, new AbortController().signal);
setInterval(() => { if (h.log().includes('listening')) console.log('up'); }, 50);
`,
    );
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', runner], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => b.toString().includes('up') && resolve());
      child.once('exit', (code) => reject(new Error(`the runner exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(pidsOfRun('proc-crashed').length).toBeGreaterThanOrEqual(1);

    const report = await cleanupLeftovers(undefined, { registryDir, graceMs: 500, dockerHost: 'unix:///nonexistent.sock' });
    expect(report.processes.length).toBe(1);
    await waitFor(() => pidsOfRun('proc-crashed').length === 0, 'the orphaned server and its grandchild to be gone');
    expect(pidsOfRun('proc-live').length).toBeGreaterThanOrEqual(1);
    await liveHandle.stop();
  }, 30_000);
});
