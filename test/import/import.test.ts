import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importIsoBench, mapMetrics, shapeOf, type ImportSummary } from '../../src/import/index.js';
import { openStore, type Store, type TrialRecord } from '../../src/store/index.js';
import { ccDir } from '../dataset/helpers.js';

let dir: string;
let store: Store;
let first: ImportSummary;
let trials: TrialRecord[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-import-'));
  store = await openStore(path.join(dir, 'store.sqlite'));
  first = await importIsoBench(ccDir, store);
  trials = await store.listTrials();
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const byKey = (key: string): TrialRecord => {
  const t = trials.find((x) => x.trialKey === key);
  if (!t) throw new Error(`no trial ${key}`);
  return t;
};

describe('import iso-bench on the claude_code corpus folder', () => {
  it('stores one trial per variant measurement with provenance, and re-import adds nothing', async () => {
    expect(first.inserted).toBe(trials.length);
    expect(first.bySource).toEqual({ rerun: 12, separate: 64, docker: 6, docker_flat: 49, modal: 138, separate_agent: 83, separate_baseline: 43 });
    const again = await importIsoBench(ccDir, store);
    expect(again.inserted).toBe(0);
    expect(again.existing).toBe(first.inserted);
    expect((await store.listTrials()).length).toBe(trials.length);
    const runs = (await store.listRuns()).filter((r) => r.engine === 'import');
    expect(runs).toHaveLength(1);
  });

  it('records the invalid-JSON docker file as a failure with the broken line as evidence', () => {
    expect(first.fileErrors.map((e) => e.file)).toEqual(['results/docker/bfdb1ba5_result.json']);
    const t = byKey('import:docker_flat:results/docker/bfdb1ba5_result.json:human');
    expect(t.status).toBe('failed');
    expect(t.failure).toMatchObject({ code: 'no_metrics' });
    expect(t.failure!.evidence).toContain('"throughput_tok_s": ,');
  });

  it('reads all three forms of the Modal results and maps statuses to failure codes', () => {
    const ok = byKey('import:modal:results/modal/299ebb62/benchmark_result.json:agent');
    expect(ok.status).toBe('ok');
    expect(ok.metrics.ttft_mean).toBe(22.93);
    const noBaseline = byKey('import:modal:results/modal/9badee53/benchmark_result.json:baseline');
    // "Baseline benchmark produced no metrics" says less than the raw log: the classifier finds the root cause.
    expect(noBaseline.failure).toMatchObject({ code: 'bench_failed', source: 'bench' });
    expect(noBaseline.failure!.evidence).toMatch(/FileNotFoundError.*ShareGPT/);
    // The pipeline stops at the failed baseline: no human or agent record is invented.
    expect(trials.some((t) => t.trialKey === 'import:modal:results/modal/9badee53/benchmark_result.json:human')).toBe(false);
    const stub = byKey('import:modal:results/modal/015069b0/benchmark_result.json:baseline');
    expect(stub.failure?.evidence).toMatch(/Broken pipe/);
    const wheel = trials.filter((t) => t.dataSource === 'modal' && t.failure?.code === 'wheel_not_found');
    expect(wheel.length).toBeGreaterThan(20);
    expect(trials.some((t) => t.dataSource === 'modal' && t.failure?.code === 'port_bind_bug')).toBe(true);
  });

  it('never stores req/s under a tok/s key', () => {
    // 61b8cea3's Modal metrics say throughput 74.94 = request_throughput (req/s).
    const t = byKey('import:modal:results/modal/61b8cea3/benchmark_result.json:baseline');
    expect(t.metrics.request_throughput).toBe(74.94);
    expect(t.metrics.throughput).toBeUndefined();
    expect(t.metrics.total_token_throughput).toBe(28776.09);
    expect(t.deviations.join(' ')).toMatch(/req\/s/);
  });

  it('converts seconds to milliseconds and reads the 3-way docker and rerun files', () => {
    const pc = byKey('import:docker:results/docker/2deb029d/benchmark_result.json:human');
    expect(pc.mode).toBe('prefix_caching');
    expect(pc.metrics.warmup_time).toBeCloseTo(3769.236, 2);
    const rerun = byKey('import:rerun:reruns/4_fixable/fa63e710_result.json:agent');
    expect(rerun.status).toBe('ok');
    expect(rerun.metrics.latency_avg).toBeGreaterThan(0);
    expect(rerun.taskCommit).toBe('fa63e710c7fbaae3a445f669d3b5ba6b9a4ef412');
  });

  it('upserts tasks with commit metadata from the instances and mapping files', async () => {
    const task = await store.getTask('9badee53decb3d432dc805336abfb0eb81dfb48f');
    expect(task).toMatchObject({ parent: 'beebf4742af80296d3c3a657c66d512615c550c1' });
    expect(task?.perf_command).toMatch(/benchmark_serving/);
    expect(first.unresolved.every((u) => /parent/.test(u.reason))).toBe(true);
  });
});

describe('legacy metric names', () => {
  it('maps every spelling to canonical keys and units', () => {
    expect(mapMetrics({ mean_ttft_ms: 1, ttft_mean_ms: 2, p99_latency_s: 0.5, throughput_req_s: 3, throughput_tok_s: 4, model: 'x' }).metrics).toEqual({ ttft_mean: 2, latency_p99: 500, request_throughput: 3, throughput: 4 });
    expect(shapeOf('results/modal/abc/benchmark_result.json')).toBe('modal');
    expect(shapeOf('exports/full_results.jsonl')).toBeNull();
  });
});
