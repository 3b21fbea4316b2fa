import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/**
 * A real PostgreSQL for a test file: ISOBENCH_TEST_PG_URL (from `scripts/ci-services.sh start`, as CI does), or,
 * outside CI, a cluster this file starts through that script and stops afterwards. In CI a missing URL fails the
 * file loudly instead of skipping it. Call at the top level of a test file; `fresh()` (inside tests) returns the URL
 * of a new empty store location: a schema of its own in a database of the file's own, dropped after the file.
 */
export function usePostgres(): { fresh: () => Promise<string>; baseUrl: () => string } {
  const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  const script = path.join(repoRoot, 'scripts/ci-services.sh');
  const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
  const sh = promisify(execFile);
  let baseUrl = process.env.ISOBENCH_TEST_PG_URL ?? '';
  let servicesDir: string | undefined;
  let fileDb: { name: string; url: string } | undefined;
  let schemas = 0;

  beforeAll(async () => {
    if (baseUrl) return;
    if (inCi) throw new Error('ISOBENCH_TEST_PG_URL is not set in CI: run `eval "$(bash scripts/ci-services.sh start)"` before the tests');
    servicesDir = mkdtempSync(path.join(tmpdir(), 'isobench-pg-'));
    const { stdout } = await sh('bash', [script, 'start', 'pg'], { env: { ...process.env, ISOBENCH_SERVICES_DIR: servicesDir } });
    baseUrl = /ISOBENCH_TEST_PG_URL=(\S+)/.exec(stdout)?.[1] ?? '';
    if (!baseUrl) throw new Error(`scripts/ci-services.sh start pg printed no URL: ${stdout}`);
  }, 120_000);

  afterAll(async () => {
    const db = fileDb?.name;
    if (baseUrl && db !== undefined) await pgAdmin(baseUrl, (c) => c.query(`drop database if exists ${db} with (force)`));
    if (servicesDir !== undefined) {
      await sh('bash', [script, 'stop', 'pg'], { env: { ...process.env, ISOBENCH_SERVICES_DIR: servicesDir } });
      rmSync(servicesDir, { recursive: true, force: true });
    }
  }, 60_000);

  // A schema is made in milliseconds where a database takes a second; the schema is chosen the libpq way, through
  // `options` in the URL, so the store under test needs no knowledge of it.
  async function fresh(): Promise<string> {
    if (fileDb === undefined) {
      const name = `isobench_t_${process.pid}_${Date.now() % 1_000_000}`;
      await pgAdmin(baseUrl, (c) => c.query(`create database ${name}`));
      fileDb = { name, url: withDatabase(baseUrl, name) };
    }
    const schema = `s${++schemas}_${Math.random().toString(36).slice(2, 8)}`;
    await pgAdmin(fileDb.url, (c) => c.query(`create schema ${schema}`));
    const u = new URL(fileDb.url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    return u.toString();
  }

  return { fresh, baseUrl: () => baseUrl };
}

/** `url` with its database replaced by `db`. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Runs `fn` with a client connected to `url`, closed afterwards. */
export async function pgAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
