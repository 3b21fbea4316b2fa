import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { captureCli } from '../cli-capture.js';
import { openStore, type StoreStatus } from '../../src/store/index.js';
import { COMMIT, failedTrial, run, task, trial, variant } from './conformance.js';

const dir = mkdtempSync(path.join(tmpdir(), 'isobench-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function cli(...args: string[]) {
  return captureCli(args);
}

async function seededStore(file: string): Promise<void> {
  const store = await openStore(file);
  await store.upsertTask(task());
  for (const k of ['baseline', 'human', 'agent'] as const) await store.upsertVariant(variant(k));
  await store.createRun(run());
  await store.finishRun('run-1', 'cancelled', '2026-01-02T07:00:00.000Z');
  await store.saveTrial(trial({ trialKey: 'b0' }), [], []);
  await store.saveTrial(trial({ trialKey: 'h0', variantId: variant('human').id }), [], []);
  await store.saveTrial(failedTrial('a0', '2026-01-02T05:00:00.000Z', { variantId: variant('agent').id }), [], []);
  await store.saveTrial(
    failedTrial('a1', '2026-01-02T06:00:00.000Z', {
      variantId: variant('agent').id,
      trialIndex: 1,
      failure: { code: 'patch_apply_failed', evidence: 'error: patch failed: vllm/core/scheduler.py:12', source: 'patch', line: 3 },
    }),
    [],
    [],
  );
  await store.saveTaskStop({
    taskCommit: COMMIT,
    configKey: 'cfg0123456789abc',
    runId: 'run-1',
    primaryMetric: 'tpot_mean',
    reason: 'settled',
    rounds: 5,
    maxRounds: 10,
    looks: 2,
    alphaSpent: 0.0125,
    gpuSeconds: 150,
    gpuSecondsAtMax: 300,
    decidedAt: '2026-01-02T06:30:00.000Z',
  });
  await store.close();
}

describe('isobench status', () => {
  it('shows runs, counts per task and variant, and the latest failures with evidence', async () => {
    const file = path.join(dir, 'a.sqlite');
    await seededStore(file);
    const text = await cli('status', '--store', file);
    expect(text.code).toBe(0);
    expect(text.out).toContain('trials  4: 2 ok, 2 failed');
    expect(text.out).toMatch(/run-1\s+sim\s+cancelled\s+2026-01-02T03:04:05.000Z\s+2026-01-02T07:00:00.000Z/);
    expect(text.out).toMatch(new RegExp(`${COMMIT.slice(0, 8)}\\s+agent claude-code:sonnet\\s+0\\s+2`));
    expect(text.out).toMatch(/patch_apply_failed: error: patch failed: vllm\/core\/scheduler.py:12 \(patch line 3\)/);
    // Newest failure first.
    expect(text.out.indexOf('patch_apply_failed')).toBeLessThan(text.out.indexOf('server_oom'));
    // --trials auto stops (store schema 6): rounds of the maximum, looks, error spent, GPU-seconds against the maximum.
    expect(text.out).toMatch(new RegExp(`${COMMIT.slice(0, 8)}\\s+cfg0123456789abc\\s+settled\\s+5/10\\s+2\\s+0\\.0125\\s+150/300 \\(50% saved\\)\\s+run-1`));

    const json = await cli('status', '--store', file, '--json', '--failures', '1');
    const status = JSON.parse(json.out) as StoreStatus;
    expect(status.totals).toEqual({ trials: 4, ok: 2, failed: 2 });
    expect(status.variants.map((v) => [v.kind, v.ok, v.failed])).toEqual([
      ['baseline', 1, 0],
      ['human', 1, 0],
      ['agent', 0, 2],
    ]);
    expect(status.recentFailures.map((f) => f.failure.code)).toEqual(['patch_apply_failed']);
    expect(status.runs[0]).not.toHaveProperty('config');
  });

  it('says there is no store, and does not create one', async () => {
    const file = path.join(dir, 'missing.sqlite');
    const res = await cli('status', '--store', file);
    expect(res.code).toBe(1);
    expect(res.err).toContain(`no isobench store at ${file}`);
    expect(existsSync(file)).toBe(false);
  });

  it('rejects a bad --failures value naming the option', async () => {
    const res = await cli('status', '--failures', 'many');
    expect(res.code).toBe(2);
    expect(res.err).toContain('--failures');
  });
});
