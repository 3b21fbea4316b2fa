import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { openStore } from '../../src/store/index.js';
import { defineStoreConformance } from './conformance.js';
import { pgAdmin, usePostgres, withDatabase } from './pg-service.js';

const pgService = usePostgres();

function rawQuery(url: string, text: string): Promise<Record<string, unknown>[]> {
  return pgAdmin(url, async (c) => (await c.query<Record<string, unknown>>(text)).rows);
}

defineStoreConformance('postgres', { fresh: pgService.fresh, rawQuery });

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
    const err = await storeError(openStore(withDatabase(pgService.baseUrl(), 'isobench_no_such_db')));
    expect(err.message).toMatch(/cannot connect to PostgreSQL at .*isobench_no_such_db: .*does not exist/);
  });

  it('shows its location without the password and keeps samples and logs as bytea', async () => {
    const url = await pgService.fresh();
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
