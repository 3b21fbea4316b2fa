import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.js';
import { planRun, runBenchmarks } from '../../src/run/index.js';
import { openStore } from '../../src/store/index.js';
import { ensureTestImages, PACKAGE_FILE, testDockerEngineConfig, testDockerHost } from '../engine/docker-images.js';
import { memAgent, settings, task } from './helpers.js';

const host = testDockerHost();
const state = mkdtempSync(path.join(tmpdir(), 'isobench-run-docker-'));
const t = task('5');
const agentPatch = `diff --git a/${PACKAGE_FILE} b/${PACKAGE_FILE}\n--- a/${PACKAGE_FILE}\n+++ b/${PACKAGE_FILE}\n@@ -1,3 +1,3 @@\n def f():\n-    return 1\n+    return 2\n # end\n`;

describe.skipIf(host === undefined)('runBenchmarks on the docker engine (real daemon, local test images)', () => {
  beforeAll(async () => {
    await ensureTestImages(host ?? '', t.commit, t.parent);
  }, 300_000);
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it('measures baseline, human and a patched agent in labelled containers and leaves none behind', async () => {
    const runId = `run-docker-${process.pid}`;
    const engine = createEngine(testDockerEngineConfig(host ?? '', runId, state, '--decode-base-ms 1 '));
    const store = await openStore(path.join(state, 'docker.sqlite'));
    const s = settings({ trials: 1, oomFallbackMaxModelLen: 0, timeoutStartupS: 60 });
    try {
      const plans = planRun([t], [memAgent('patcher', agentPatch)], s);
      const summary = await runBenchmarks({ plans, engine, store, settings: s, config: {}, runId });
      expect(summary.status).toBe('finished');
      const trials = await store.listTrials();
      expect(trials.map((x) => [x.status, x.failure?.code ?? null])).toEqual([['ok', null], ['ok', null], ['ok', null]]);
      expect(new Set(trials.map((x) => x.workloadHash)).size).toBe(1);
      expect(trials.every((x) => x.engine === 'docker')).toBe(true);
    } finally {
      await engine.cleanup();
      await store.close();
    }
    const d = new Docker({ socketPath: (host ?? '').replace('unix://', '') });
    expect(await d.listContainers({ all: true, filters: { label: [`isobench.run=${runId}`] } })).toEqual([]);
  }, 300_000);
});
