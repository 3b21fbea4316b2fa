import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySimEffects, defaultSimProfile, runSimScript } from '../../src/sim/index.js';
import { parseBenchmarkOutput } from '../../src/vllm/index.js';

describe('standalone script simulators', () => {
  it('latency prints benchmark_latency.py lines that the output parser reads', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'isobench-sim-')), 'lat.json');
    const r = await runSimScript('latency', ['--model', 'm', '--input-len', '32', '--output-len', '64', '--batch-size', '4', '--num-iters', '5', '--output-json', out], { ...defaultSimProfile, noise: 0.05 });
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/^Avg latency: \d+\.\d+ seconds$/m);
    for (const p of [10, 25, 50, 75, 90, 99]) expect(r.output).toMatch(new RegExp(`^${p}% percentile latency: \\d+\\.\\d+ seconds$`, 'm'));
    const parsed = parseBenchmarkOutput(r.output);
    expect(parsed.status).toBe('ok');
    const json = JSON.parse(readFileSync(out, 'utf8')) as { latencies: number[]; percentiles: Record<string, number> };
    expect(json.latencies).toHaveLength(5);
    expect(Object.keys(json.percentiles)).toEqual(['10', '25', '50', '75', '90', '99']);
  });

  it('throughput prints the Throughput and token total lines; effects change the numbers', async () => {
    const args = ['--input-len', '256', '--output-len', '64', '--num-prompts', '200', '--unknown-flag'];
    const base = await runSimScript('throughput', args, defaultSimProfile);
    expect(base.exitCode).toBe(0);
    expect(base.output).toContain('WARNING: isobench sim ignores unknown flag --unknown-flag');
    const m = /^Throughput: (\d+\.\d{2}) requests\/s, (\d+\.\d{2}) total tokens\/s, (\d+\.\d{2}) output tokens\/s$/m.exec(base.output);
    expect(m).not.toBeNull();
    expect(base.output).toContain('Total num prompt tokens:  51200');
    expect(base.output).toContain('Total num output tokens:  12800');
    const fast = await runSimScript('throughput', args, applySimEffects(defaultSimProfile, { decode_step: 0.5, prefill_speed: 2 }));
    const rps = (t: string) => Number(/Throughput: (\S+) requests/.exec(t)?.[1]);
    expect(rps(fast.output)).toBeGreaterThan(rps(base.output));
    expect(parseBenchmarkOutput(base.output).status).toBe('ok');
  });

  it('prefix caching prints two cost time lines; caching makes the second faster', async () => {
    const args = ['--num-prompts', '20', '--repeat-count', '5', '--input-length-range', '128:256', '--output-len', '10'];
    const off = await runSimScript('prefix_caching', args, defaultSimProfile);
    const on = await runSimScript('prefix_caching', [...args, '--enable-prefix-caching'], defaultSimProfile);
    const times = (t: string) => [...t.matchAll(/^cost time (\d+\.\d+)$/gm)].map((x) => Number(x[1]));
    expect(off.output).toContain('------warm up------');
    expect(times(off.output)).toHaveLength(2);
    expect(parseBenchmarkOutput(off.output).status).toBe('ok');
    expect(times(on.output)[1]).toBeLessThan(times(off.output)[1]!);
  });

  it('fails like vLLM on crash and OOM effects, and on bad arguments', async () => {
    const crash = await runSimScript('latency', [], applySimEffects(defaultSimProfile, { crash_at_start: 'ImportError: cannot import name X' }));
    expect(crash.exitCode).toBe(1);
    expect(crash.output.trim().split('\n').at(-1)).toBe('ImportError: cannot import name X');
    const oom = await runSimScript('throughput', ['--max-model-len', '65536'], applySimEffects(defaultSimProfile, { oom_above_max_model_len: 32768 }));
    expect(oom.exitCode).toBe(1);
    expect(oom.output).toContain("ValueError: To serve at least one request with the models's max seq len (65536)");
    const bad = await runSimScript('latency', ['--batch-size', 'x'], defaultSimProfile);
    expect(bad.exitCode).toBe(2);
    expect(bad.output).toContain("error: argument --batch-size: invalid int value: 'x'");
  });
});
