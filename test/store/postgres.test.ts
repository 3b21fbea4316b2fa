import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { openStore } from '../../src/store/index.js';
import { defineStoreConformance } from './conformance.js';

// A real PostgreSQL: ISOBENCH_TEST_PG_URL from `scripts/ci-services.sh start` (CI), or one this file starts itself.
// In CI a missing URL fails the file loudly instead of skipping it.
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
let baseUrl = process.env.ISOBENCH_TEST_PG_URL ?? '';
let servicesDir: string | undefined;
const created: string[] = [];
const sh = promisify(execFile);

beforeAll(async () => {
  if (baseUrl) return;
  if (inCi) throw new Error('ISOBENCH_TEST_PG_URL is not set in CI: run `eval "$(bash scripts/ci-services.sh start)"` before the tests');
  servicesDir = mkdtempSync(path.join(tmpdir(), 'isobench-pg-'));
  const { stdout } = await sh('bash', [path.join(repoRoot, 'scripts/ci-services.sh'), 'start', 'pg'], {
    env: { ...process.env, ISOBENCH_SERVICES_DIR: servicesDir },
  });
  baseUrl = /ISOBENCH_TEST_PG_URL=(\S+)/.exec(stdout)?.[1] ?? '';
  if (!baseUrl) throw new Error(`scripts/ci-services.sh start pg printed no URL: ${stdout}`);
}, 120_000);

afterAll(async () => {
  const db = created[0];
  if (baseUrl && db !== undefined) await admin(baseUrl, (c) => c.query(`drop database if exists ${db} with (force)`));
  if (servicesDir !== undefined) {
    await sh('bash', [path.join(repoRoot, 'scripts/ci-services.sh'), 'stop', 'pg'], { env: { ...process.env, ISOBENCH_SERVICES_DIR: servicesDir } });
    rmSync(servicesDir, { recursive: true, force: true });
  }
}, 60_000);

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// One database per test file (parallel files never meet), one schema per store inside it: a schema is made in
// milliseconds where a database takes a second. The schema is chosen the libpq way, through `options` in the URL.
let fileDb = '';
async function fresh(): Promise<string> {
  if (!fileDb) {
    const name = `isobench_t_${process.pid}_${Date.now() % 1_000_000}`;
    await admin(baseUrl, (c) => c.query(`create database ${name}`));
    created.push(name);
    fileDb = withDatabase(baseUrl, name);
  }
  const schema = `s${created.length}_${Math.random().toString(36).slice(2, 8)}`;
  created.push(schema);
  await admin(fileDb, (c) => c.query(`create schema ${schema}`));
  const u = new URL(fileDb);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

function rawQuery(url: string, text: string): Promise<Record<string, unknown>[]> {
  return admin(url, async (c) => (await c.query<Record<string, unknown>>(text)).rows);
}

defineStoreConformance('postgres', { fresh, rawQuery });

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function storeError(p: Promise<unknown>): Promise<IsobenchError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(IsobenchError);
  expect((err as IsobenchError).code).toBe('E_STORE');
  return err as IsobenchError;
}

describe('postgres store', () => {
  it('reports an unreachable server with the URL but not the password', async () => {
    const port = await closedPort();
    const err = await storeError(openStore(`postgres://alice:s3cretpw@127.0.0.1:${port}/isobench`));
    expect(err.message).toContain(`cannot connect to PostgreSQL at postgres://alice@127.0.0.1:${port}/isobench`);
    expect(`${err.message} ${err.hint}`).not.toContain('s3cretpw');
  });

  it('reports a database that does not exist', async () => {
    const err = await storeError(openStore(withDatabase(baseUrl, 'isobench_no_such_db')));
    expect(err.message).toMatch(/cannot connect to PostgreSQL at .*isobench_no_such_db: .*does not exist/);
  });

  it('shows its location without the password and keeps samples and logs as bytea', async () => {
    const url = await fresh();
    const u = new URL(url);
    u.password = 'pw-not-checked-under-trust';
    const store = await openStore(u.toString().replace(/^postgres:/, 'postgresql:'));
    try {
      expect(store.kind).toBe('postgres');
      expect(store.location).not.toContain('pw-not-checked');
      expect(store.location).toContain(u.pathname);
      expect(store.location).toContain('search_path');
    } finally {
      await store.close();
    }
    const cols = await rawQuery(url, `select table_name, data_type from information_schema.columns where column_name = 'data' and table_schema = current_schema() order by table_name`);
    expect(cols).toEqual([
      { table_name: 'logs', data_type: 'bytea' },
      { table_name: 'samples', data_type: 'bytea' },
    ]);
  });
});
