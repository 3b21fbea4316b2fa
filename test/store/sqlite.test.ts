import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { DEFAULT_STORE_FILE, openStore } from '../../src/store/index.js';
import { defineStoreConformance } from './conformance.js';

const dir = mkdtempSync(path.join(tmpdir(), 'isobench-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => path.join(dir, `store-${n++}.sqlite`);

function rawQuery(file: string, text: string): Promise<Record<string, unknown>[]> {
  const db = new BetterSqlite3(file);
  try {
    const stmt = db.prepare(text);
    return Promise.resolve(stmt.reader ? (stmt.all() as Record<string, unknown>[]) : (stmt.run(), []));
  } finally {
    db.close();
  }
}

defineStoreConformance('sqlite', { fresh: () => Promise.resolve(freshFile()), rawQuery });

const here = path.dirname(fileURLToPath(import.meta.url));
const writer = path.join(here, 'fixtures/writer.ts');

/** Starts the writer fixture in its own process; resolves with its stdout lines when it exits. */
function startWriter(file: string, prefix: string, count: number, nSamples: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, file, prefix, String(count), String(nSamples)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[]; err: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, lines, err })),
  );
  return { child, lines, done };
}

async function expectStoreError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(IsobenchError);
  expect((err as IsobenchError).code).toBe('E_STORE');
  expect((err as IsobenchError).message).toMatch(pattern);
}

describe('sqlite store', () => {
  it('uses WAL with synchronous=NORMAL and foreign keys', async () => {
    const file = freshFile();
    const store = await openStore(file);
    await store.close();
    expect(store.kind).toBe('sqlite');
    expect(store.location).toBe(path.resolve(file));
    expect(await rawQuery(file, 'pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
  });

  it('defaults to isobench.sqlite in the working directory', async () => {
    const cwd = process.cwd();
    const work = mkdtempSync(path.join(dir, 'cwd-'));
    process.chdir(work);
    try {
      const store = await openStore();
      await store.close();
      expect(store.location).toBe(path.join(work, DEFAULT_STORE_FILE));
      expect(existsSync(path.join(work, DEFAULT_STORE_FILE))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('says so when the file is not an SQLite database', async () => {
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'just some text, long enough to be read as a header by SQLite\n'.repeat(20));
    await expectStoreError(openStore(file), /notes\.txt is not an isobench store \(not an SQLite database\)/);
  });

  it('says so when the directory does not exist, and for a missing store with create: false', async () => {
    await expectStoreError(openStore(path.join(dir, 'no/such/dir/s.sqlite')), /cannot open the SQLite store .*no\/such\/dir/);
    const missing = path.join(dir, 'missing.sqlite');
    await expectStoreError(openStore(missing, { create: false }), /no isobench store at .*missing\.sqlite/);
    expect(existsSync(missing)).toBe(false);
  });

  it('takes writers in two processes at once, every trial exactly once', async () => {
    const file = freshFile();
    const a = startWriter(file, 'k', 30, 50);
    const b = startWriter(file, 'k', 30, 50);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code, ra.err, rb.err]).toEqual([0, 0, '', '']);
    const all = [...ra.lines, ...rb.lines];
    expect(all.filter((l) => l.startsWith('inserted')).length).toBe(30);
    expect(all.filter((l) => l.startsWith('exists')).length).toBe(30);
    const store = await openStore(file);
    try {
      expect(await store.countTrials()).toBe(30);
    } finally {
      await store.close();
    }
  });

  it('loses at most the trial in flight when the writer is killed with SIGKILL', async () => {
    const file = freshFile();
    const w = startWriter(file, 'kill-', 100_000, 400);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (w.lines.length >= 15) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    w.child.kill('SIGKILL');
    const res = await w.done;
    expect(res.signal).toBe('SIGKILL');
    expect(await rawQuery(file, 'pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    const store = await openStore(file);
    try {
      const trials = await store.listTrials();
      // Every line printed was committed; at most one more trial committed before its line got out.
      expect(trials.length).toBeGreaterThanOrEqual(res.lines.length);
      expect(trials.length).toBeLessThanOrEqual(res.lines.length + 1);
      for (const t of trials) {
        expect((await store.getSamples(t.id)).length).toBe(400);
        expect((await store.getLogs(t.id)).map((l) => l.kind)).toEqual(['server', 'bench']);
      }
      expect(await rawQuery(file, 'select count(*) as n from samples')).toEqual([{ n: trials.length }]);
      expect(await rawQuery(file, 'select count(*) as n from logs')).toEqual([{ n: 2 * trials.length }]);
    } finally {
      await store.close();
    }
  });
});
