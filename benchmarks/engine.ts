/**
 * Engine overhead benchmark: for each engine, the time from `startServer` to the first `/health` 200 and from
 * `stop()` to `exited`, over N rounds, with the in-process sim engine as the reference measured in the same run.
 * The process engine runs `isobench sim serve`; the docker engine runs it in the test image (only when
 * ISOBENCH_TEST_DOCKER_HOST is set; the image is built as in test/engine). Prints numbers; asserts nothing.
 *
 *   npm run bench:engine
 *   ROUNDS=5 ISOBENCH_TEST_DOCKER_HOST=unix:///tmp/isobench-ci-services/docker.sock npm run bench:engine
 */
import path from 'node:path';
import { createEngine, type EngineConfig, type VariantSpec } from '../src/engine/index.js';
import type { Task } from '../src/task/index.js';
import { PACKAGE_ROOT, ensureTestImages, repoRoot } from '../test/engine/docker-images.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const task: Task = { commit: 'e'.repeat(40), parent: 'f'.repeat(40), repo: 'vllm-project/vllm', files_changed: [], models: [] };
const spec: VariantSpec = { id: 'bench', task, kind: 'baseline', engineCommit: task.parent };

async function firstHealthy(baseUrl: string): Promise<void> {
  for (;;) {
    const ok = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function measure(label: string, config: EngineConfig): Promise<void> {
  const engine = createEngine(config);
  const never = new AbortController().signal;
  const ready: number[] = [];
  const stopped: number[] = [];
  try {
    const r = await engine.prepare(spec, never);
    if (r.status !== 'ready') throw new Error(`${label}: ${r.failure.code} ${r.failure.evidence}`);
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      const h = await engine.startServer(r.variant, { model: 'm', serverArgs: [], env: {}, port: 0 }, never);
      await firstHealthy(h.baseUrl);
      const t1 = performance.now();
      await h.stop();
      await h.exited;
      ready.push(t1 - t0);
      stopped.push(performance.now() - t1);
    }
  } finally {
    await engine.cleanup();
  }
  console.log(`${label.padEnd(34)} start→healthy median ${median(ready).toFixed(0).padStart(6)} ms   stop→gone median ${median(stopped).toFixed(0).padStart(6)} ms   (${ROUNDS} rounds)`);
}

await measure('sim (in-process, reference)', { kind: 'sim', runId: 'bench-sim' });
await measure('process (isobench sim serve)', {
  kind: 'process',
  runId: 'bench-process',
  stopGraceMs: 5000,
  serverTemplate: `${process.execPath} {repo}/bin/isobench.js sim serve --model {model} --port {port} {server_args}`,
  repo: repoRoot,
});
const dockerHost = process.env.ISOBENCH_TEST_DOCKER_HOST;
if (dockerHost) {
  await ensureTestImages(dockerHost, task.commit, task.parent);
  await measure('docker (sim serve in a container)', {
    kind: 'docker',
    runId: 'bench-docker',
    dockerHost,
    gpus: 'none',
    hfCache: null,
    shmSize: '64m',
    packageRoot: PACKAGE_ROOT,
    stopGraceMs: 5000,
    serverTemplate: 'node /app/isobench.mjs sim serve --model {model} --host 0.0.0.0 --port {port} {server_args}',
  });
} else {
  console.log(`docker: skipped (set ISOBENCH_TEST_DOCKER_HOST; see ${path.join('docs', 'engines.md')})`);
}
