import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { kneeIndex, sweepPoints, type SweepRow } from '../../src/loadgen/index.js';
import { parseSimProfile, startSimServer } from '../../src/sim/index.js';
import { runInProcess, tempDir } from './helpers.js';

const row = (output_throughput: number, p99_ttft_ms: number): SweepRow => ({
  requestRate: Infinity,
  maxConcurrency: 1,
  completed: 1,
  failed: 0,
  duration: 1,
  request_throughput: 1,
  output_throughput,
  request_goodput: null,
  median_ttft_ms: p99_ttft_ms,
  p99_ttft_ms,
  median_tpot_ms: 1,
  p99_tpot_ms: 1,
  median_e2el_ms: 1,
  p99_e2el_ms: 1,
  slo_attainment: null,
  meetsSlo: null,
});

describe('sweep', () => {
  it('points are every rate for each concurrency; the knee is where latency starts to rise faster than throughput', () => {
    expect(sweepPoints([1, Infinity], [2, 8], Infinity, null)).toEqual([
      { requestRate: 1, maxConcurrency: 2 },
      { requestRate: Infinity, maxConcurrency: 2 },
      { requestRate: 1, maxConcurrency: 8 },
      { requestRate: Infinity, maxConcurrency: 8 },
    ]);
    // Throughput grows with flat latency, then saturates while latency climbs: the knee is the last cheap point.
    const rows = [row(100, 10), row(400, 11), row(800, 13), row(850, 60), row(860, 200)];
    expect(kneeIndex(rows)).toBe(2);
    expect(kneeIndex(rows.slice(0, 2))).toBeNull();
    expect(kneeIndex([row(1, 5), row(2, 5), row(3, 5)])).toBeNull();
  });

  it('isobench bench sweep runs one bench serve per point against the sim and writes JSON, CSV and HTML with the knee and the SLO', async () => {
    const sim = await startSimServer(parseSimProfile({ startup_delay_ms: 0 }, 'test'), { port: 0 });
    onTestFinished(() => sim.close());
    await sim.ready;
    const dir = tempDir();
    const r = await runInProcess(['bench', 'sweep', '--base-url', sim.url, '--random-input-len', '16', '--random-output-len', '4', '--num-prompts', '12', '--concurrencies', '1,4,12', '--goodput', 'ttft:100000', 'tpot:100000', '--sweep-dir', dir, '--disable-tqdm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/===== sweep point \d\/3/g)).toHaveLength(3);
    expect(r.stdout.match(/Serving Benchmark Result/g)).toHaveLength(3);
    expect(r.stdout).toContain('Highest load with 90% of requests meeting every SLO: c12');
    for (const f of ['point-1.json', 'point-2.json', 'point-3.json', 'sweep.json', 'sweep.csv', 'sweep.html']) expect(existsSync(path.join(dir, f)), f).toBe(true);
    const json = JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { points: { maxConcurrency: number; completed: number; slo_attainment: number; meetsSlo: boolean }[]; max_meeting_slo: number };
    expect(json.points.map((p) => [p.maxConcurrency, p.completed, p.slo_attainment, p.meetsSlo])).toEqual([
      [1, 12, 1, true],
      [4, 12, 1, true],
      [12, 12, 1, true],
    ]);
    expect(json.max_meeting_slo).toBe(2);
    const csv = readFileSync(path.join(dir, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[0]).toMatch(/^requestRate,maxConcurrency,completed,/);
    const html = readFileSync(path.join(dir, 'sweep.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('max meeting SLO (c12)');
    const none = await runInProcess(['bench', 'sweep', '--base-url', sim.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--request-rates: a sweep needs --request-rates or --concurrencies');
  });
});
