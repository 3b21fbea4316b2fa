import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/index.js';
import { planRun, runBenchmarks, summarizeResults } from '../../src/run/index.js';
import { repoRoot, settings, task, tempDir, withStore } from './helpers.js';

describe('a server process that dies during the measured run', () => {
  it('fails the trial server_crashed with the engine log line as evidence, keeps its partial samples, gives no value', async () => {
    await withStore(async (store) => {
      const dir = tempDir();
      // A real child process (`isobench sim serve`): the 8th generation request (4 probes, 1 warm-up, then the
      // measured ones) makes it cut every connection and exit 1 while a measured stream is in flight.
      const engine = createEngine({
        kind: 'process',
        runId: 'crash-run',
        registryDir: path.join(dir, 'registry'),
        workDir: path.join(dir, 'work'),
        stopGraceMs: 2000,
        serverTemplate: `${process.execPath} ${path.join(repoRoot, 'bin/isobench.js')} sim serve --model {model} --port {port} --decode-base-ms 1 --die-after-requests 7 {server_args}`,
      });
      const s = settings({ trials: 1, variants: ['baseline'], oomFallbackMaxModelLen: 0, timeoutStartupS: 90 });
      const plans = planRun([task('c1')], [], s);
      try {
        await runBenchmarks({ plans, engine, store, settings: s, config: {} });
      } finally {
        await engine.cleanup();
      }
      const [t] = await store.listTrials({ taskCommit: task('c1').commit });
      expect(t?.status).toBe('failed');
      expect(t?.failure?.code, JSON.stringify(t?.failure)).toBe('server_crashed');
      expect(t?.failure?.evidence).toContain('Engine core proc EngineCore_0 died unexpectedly');
      const samples = await store.getSamples(t?.id ?? '');
      expect(samples).toHaveLength(4);
      expect(samples.some((x) => x.ok)).toBe(true);
      expect(samples.some((x) => !x.ok && x.error !== null)).toBe(true);
      const [row] = await summarizeResults(store, plans);
      expect(row).toMatchObject({ ok: 0, failed: 1, value: null, failures: [{ code: 'server_crashed', count: 1 }] });
    });
  }, 120_000);
});
