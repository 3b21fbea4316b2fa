import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupLeftovers, createEngine, type Engine, type PreparedVariant, type VariantSpec } from '../../src/engine/index.js';
import type { Task } from '../../src/task/index.js';
import { PACKAGE_FILE, PACKAGE_ROOT, ensureTestImages, testDockerEngineConfig, testDockerHost } from './docker-images.js';

const host = testDockerHost();
const task: Task = {
  commit: 'e'.repeat(40),
  parent: 'f'.repeat(40),
  repo: 'vllm-project/vllm',
  files_changed: [],
  models: ['m'],
  gpu_config: 'H100:2',
};
const token = 'hf_dockerTestTokenAbcdefghijklmnop1234';
const patch = (from: string, to: string) =>
  `diff --git a/${PACKAGE_FILE} b/${PACKAGE_FILE}\n--- a/${PACKAGE_FILE}\n+++ b/${PACKAGE_FILE}\n@@ -1,3 +1,3 @@\n def f():\n-    return ${from}\n+    return ${to}\n # end\n` +
  'diff --git a/tests/test_a.py b/tests/test_a.py\nnew file mode 100644\n--- /dev/null\n+++ b/tests/test_a.py\n@@ -0,0 +1 @@\n+assert True\n';

function spec(kind: VariantSpec['kind'], patchText?: string, t: Task = task): VariantSpec {
  return {
    id: `dk-${kind}`,
    task: t,
    kind,
    engineCommit: kind === 'human' ? t.commit : t.parent,
    ...(patchText === undefined ? {} : { agent: { name: 'claude', model: 'x', patchText, patchBytes: Buffer.from(patchText), patchSha256: '0' } }),
  };
}

const never = new AbortController().signal;
const state = mkdtempSync(path.join(tmpdir(), 'isobench-docker-test-'));
const engines: Engine[] = [];

function engine(runId: string, extra: Record<string, unknown> = {}): Engine {
  const e = createEngine({ ...testDockerEngineConfig(host ?? '', runId, state), ...extra });
  engines.push(e);
  return e;
}

async function ready(e: Engine, s: VariantSpec): Promise<PreparedVariant> {
  const r = await e.prepare(s, never);
  if (r.status !== 'ready') throw new Error(`not ready: ${JSON.stringify(r)}`);
  return r.variant;
}

async function containersOf(runId: string): Promise<Docker.ContainerInfo[]> {
  const d = new Docker({ socketPath: (host ?? '').replace('unix://', '') });
  return d.listContainers({ all: true, filters: { label: [`isobench.run=${runId}`] } });
}

async function healthy(baseUrl: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    // docker-proxy accepts connections before the server listens: a request can hang, so each one has a timeout.
    if (await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe.skipIf(host === undefined)('docker engine (real daemon, local test images)', () => {
  beforeAll(async () => {
    await ensureTestImages(host ?? '', task.commit, task.parent);
    process.env.HF_TOKEN = token;
  }, 120_000);
  afterAll(async () => {
    delete process.env.HF_TOKEN;
    await Promise.all(engines.map((e) => e.cleanup()));
    rmSync(state, { recursive: true, force: true });
  });

  it('resolves the default image names and fails a missing image as image_missing without pulling', async () => {
    const e = engine('dk-run-1');
    const v = await ready(e, spec('baseline'));
    expect(v.environment).toBe(`image anonymous/vllm-baseline:baseline-${task.parent.slice(0, 12)}`);
    const other = { ...task, commit: '1'.repeat(40) };
    const r = await e.prepare(spec('human', undefined, other), never);
    expect(r.status === 'failed' && r.failure).toMatchObject({ code: 'image_missing', evidence: expect.stringContaining(`anonymous/vllm-bench:${'1'.repeat(40)}`) });
  });

  it('starts the server in a labelled container, reachable from the host, logs captured, and removes it on stop', async () => {
    const e = engine('dk-run-2');
    const v = await ready(e, spec('human'));
    const h = await e.startServer(v, { model: 'facebook/opt-125m', serverArgs: ['--max-model-len', '1024'], env: {}, port: 0 }, never);
    expect(h.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await healthy(h.baseUrl)).toBe(true);
    const models = (await (await fetch(`${h.baseUrl}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0]?.id).toBe('facebook/opt-125m');
    expect(h.log()).toContain('max_seq_len=1024');
    const [info] = await containersOf('dk-run-2');
    expect(info?.Labels).toMatchObject({ isobench: '1', 'isobench.run': 'dk-run-2', 'isobench.variant': 'dk-human' });
    expect(JSON.stringify(info?.Labels)).not.toContain(token);
    expect(info?.Ports.every((p) => p.IP === undefined || p.IP === '127.0.0.1')).toBe(true);
    await h.stop();
    await h.stop();
    expect(await containersOf('dk-run-2')).toEqual([]);
    expect(h.log()).toContain('Starting vLLM API server');
  }, 60_000);

  it('passes HF_TOKEN into the container and never shows it in what it returns', async () => {
    const e = engine('dk-run-3');
    const v = await ready(e, spec('baseline'));
    const r = await e.exec(v, { argv: ['node', '-e', 'console.log("token=" + process.env.HF_TOKEN)'], env: {}, timeoutMs: 30_000 }, never);
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain('token=***');
    expect(r.output).not.toContain(token);
    expect(JSON.stringify(v)).not.toContain(token);
    expect(await containersOf('dk-run-3')).toEqual([]);
  }, 60_000);

  it('applies an agent patch to the installed package at start (only files inside vllm/)', async () => {
    const e = engine('dk-run-4');
    const v = await ready(e, spec('agent', patch('1', '2')));
    expect(v.environment).toContain('patch applied at start');
    const r = await e.exec(v, { argv: ['node', '-e', `process.stdout.write(require("fs").readFileSync("${PACKAGE_ROOT}/${PACKAGE_FILE}", "utf8"))`], env: {}, timeoutMs: 30_000 }, never);
    expect(r.output).toContain('patch applied to /opt/site-packages');
    expect(r.output).toContain('    return 2');
    const h = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, never);
    expect(await healthy(h.baseUrl)).toBe(true);
    await h.stop();
  }, 60_000);

  it('fails a patch that does not apply as patch_apply_failed with the tool output, and one touching csrc as patch_needs_build', async () => {
    const e = engine('dk-run-5');
    const bad = await e.prepare(spec('agent', patch('7', '2')), never);
    expect(bad.status).toBe('failed');
    if (bad.status === 'failed') {
      expect(bad.failure.code).toBe('patch_apply_failed');
      expect(bad.failure.evidence).toMatch(/FAILED|does not apply|patch failed/i);
      expect(bad.log).toMatch(/Hunk|patch/);
    }
    const cu = await e.prepare(spec('agent', 'diff --git a/csrc/x.cu b/csrc/x.cu\n--- a/csrc/x.cu\n+++ b/csrc/x.cu\n@@ -1 +1 @@\n-a\n+b\n'), never);
    expect(cu.status === 'failed' && cu.failure.code).toBe('patch_needs_build');
    const noPython = await engine('dk-run-5b', { packageRoot: undefined }).prepare(spec('agent', patch('1', '2')), never);
    expect(noPython.status === 'failed' && noPython.failure.evidence).toContain('cannot find the installed vllm package');
    expect(await containersOf('dk-run-5')).toEqual([]);
  }, 60_000);

  it('with a preset, translates the server flags, waits on its ready paths and mounts a local model read-only at its path', async () => {
    const e = engine('dk-run-9', { preset: 'sglang' });
    const v = await ready(e, spec('human'));
    const model = path.join(state, 'models', 'tiny.gguf');
    mkdirSync(path.dirname(model), { recursive: true });
    writeFileSync(model, 'GGUF');
    const h = await e.startServer(v, { model, serverArgs: ['--max-model-len', '1024', '--disable-log-requests'], env: {}, port: 0 }, never);
    expect(h.readyPaths).toEqual(['/health', '/v1/models']);
    // SGLang's flag for the context (the logging flag is left out); the stand-in server ignores what it does not know.
    expect(h.argv?.slice(-2)).toEqual(['--context-length', '1024']);
    expect(await healthy(h.baseUrl)).toBe(true);
    expect(h.log()).toContain('ignores unknown flag --context-length 1024');
    const [info] = await containersOf('dk-run-9');
    expect(info?.Mounts.find((m) => m.Destination === model)).toMatchObject({ Source: model, RW: false });
    await h.stop();
    await expect(engine('dk-run-10', { preset: 'llama.cpp' }).startServer(v, { model, serverArgs: ['--enforce-eager'], env: {}, port: 0 }, never)).rejects.toThrow(
      /llama-server cannot run with these server flags: --enforce-eager/,
    );
  }, 60_000);

  it('removes a container on abort, and cleanupLeftovers finds a left-over container by its run id', async () => {
    const e = engine('dk-run-6');
    const v = await ready(e, spec('baseline'));
    const ac = new AbortController();
    const h = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, ac.signal);
    ac.abort();
    await h.exited;
    for (let i = 0; i < 100 && (await containersOf('dk-run-6')).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await containersOf('dk-run-6')).toEqual([]);

    const left = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, never);
    expect((await containersOf('dk-run-6')).length).toBe(1);
    const report = await cleanupLeftovers('dk-run-6', { dockerHost: host ?? '', registryDir: path.join(state, 'registry') });
    expect(report.containers.length).toBe(1);
    expect(await containersOf('dk-run-6')).toEqual([]);
    await left.exited;
  }, 60_000);

  it('asks for the task GPUs and does not crash the run when the daemon cannot provide them', async () => {
    const e = engine('dk-run-7', { gpus: 'task' });
    const v = await ready(e, spec('baseline'));
    const h = await e.startServer(v, { model: 'm', serverArgs: [], env: {}, port: 0 }, never);
    const exit = await h.exited;
    // Without an NVIDIA runtime the container cannot start: the reason is in the log for run/ to classify.
    if (exit.code === null || exit.code !== 0) expect(h.log()).toMatch(/container did not start|device driver|nvidia/i);
    await h.stop();
    expect(await containersOf('dk-run-7')).toEqual([]);
  }, 60_000);
});
