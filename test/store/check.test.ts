import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { captureCli } from '../cli-capture.js';
import { openStore } from '../../src/store/index.js';
import { run, samples, task, trial, variant } from './conformance.js';
import { pgAdmin, usePostgres } from './pg-service.js';

const pg = usePostgres();
const dir = mkdtempSync(path.join(tmpdir(), 'isobench-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function cli(...args: string[]) {
  return captureCli(args);
}

/** Three trials, each with samples and a log large enough (random text) to fill overflow pages of its own. */
async function seeded(location: string): Promise<void> {
  const store = await openStore(location);
  await store.upsertTask(task());
  await store.upsertVariant(variant('baseline'));
  await store.createRun(run());
  for (const [i, k] of ['t0', 't1', 't2'].entries()) {
    await store.saveTrial(trial({ trialKey: k }), samples(`t-${k}`, 300 + i), [{ trialId: `t-${k}`, kind: 'server', text: randomBytes(30_000).toString('hex') }]);
  }
  await store.close();
}

/** Flips bytes in the middle of a blob where it sits in the SQLite file (its content, not the page structure). */
function damageBlob(file: string, sqlText: string): void {
  const db = new BetterSqlite3(file);
  const blob = (db.prepare(sqlText).get() as { data: Buffer }).data;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const bytes = readFileSync(file);
  const at = bytes.indexOf(blob.subarray(Math.floor(blob.length / 2), Math.floor(blob.length / 2) + 64));
  expect(at).toBeGreaterThan(0);
  for (let i = 0; i < 64; i++) bytes[at + i] = bytes[at + i]! ^ 0xff;
  writeFileSync(file, bytes);
}

describe('isobench status --check', () => {
  it('SQLite: a whole store passes; damaged samples and logs are found and named (plain status never reads them)', async () => {
    const file = path.join(dir, 'blob.sqlite');
    await seeded(file);
    const good = await cli('status', '--store', file, '--check');
    expect(good.err).toBe('');
    expect(good.out).toMatch(/check +ok: integrity_check ok; 3 trials, 3 samples, 3 logs read/);
    expect(good.code).toBe(0);

    damageBlob(file, "select data from samples where trial_id = 't-t1'");
    damageBlob(file, "select data from logs where trial_id = 't-t2'");
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect((await cli('status', '--store', file)).code).toBe(0);
    const bad = await cli('status', '--store', file, '--check');
    expect(bad.out).toMatch(/check +DAMAGED: 2 problems/);
    expect(bad.out).toMatch(/samples of trial t-t1: .*unreadable/);
    expect(bad.out).toMatch(/log 0 \(server\) of trial t-t2: .*/);
    expect(bad.code).toBe(1);
    const json = JSON.parse((await cli('status', '--store', file, '--check', '--json')).out) as { check: { ok: boolean; problems: { part: string; key: string }[] } };
    expect(json.check.ok).toBe(false);
    expect(json.check.problems.map((p) => [p.part, p.key])).toEqual([
      ['samples', 't-t1'],
      ['logs', 't-t2#0'],
    ]);
  });

  it('SQLite: a damaged page of the logs table is found by integrity_check and named', async () => {
    const file = path.join(dir, 'page.sqlite');
    await seeded(file);
    const db = new BetterSqlite3(file);
    const root = (db.prepare("select rootpage from sqlite_master where name = 'logs'").get() as { rootpage: number }).rootpage;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const bytes = readFileSync(file);
    // The b-tree page header: its type byte becomes invalid.
    bytes[(root - 1) * pageSize] = 0x01;
    writeFileSync(file, bytes);
    const bad = await cli('status', '--store', file, '--check');
    expect(bad.out).toMatch(/check +DAMAGED/);
    expect(bad.out).toMatch(/logs: .*(malformed|page|Tree)/i);
    expect(bad.code).toBe(1);
  });

  it('PostgreSQL: row checks find unreadable samples, logs and trial records', async () => {
    const url = await pg.fresh();
    await seeded(url);
    expect((await cli('status', '--store', url, '--check')).code).toBe(0);
    await pgAdmin(url, async (c) => {
      await c.query("update samples set data = substring(data from 1 for 20) where trial_id = 't-t0'");
      await c.query("update logs set data = '\\x00010203'::bytea where trial_id = 't-t1'");
      await c.query("update trials set metrics_json = '{not json' where id = 't-t2'");
    });
    const bad = await cli('status', '--store', url, '--check');
    expect(bad.err).toBe('');
    expect(bad.out).toMatch(/check +DAMAGED: 3 problems/);
    expect(bad.out).toMatch(/samples of trial t-t0/);
    expect(bad.out).toMatch(/log 0 \(server\) of trial t-t1/);
    expect(bad.out).toMatch(/trial t-t2: /);
    expect(bad.code).toBe(1);
  });
});
