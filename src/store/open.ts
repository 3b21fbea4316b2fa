import { storeError, type Backend } from './backend.js';
import { KyselyStore } from './kysely-store.js';
import { parseStoreLocation } from './location.js';
import { migrate } from './migrate.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';
import type { OpenStoreOptions, Store } from './types.js';

/**
 * Opens (and by default creates) the store at `location`: undefined → `isobench.sqlite` in the working directory,
 * a `postgres://` / `postgresql://` URL → PostgreSQL, anything else → an SQLite file. Migrations run on open.
 */
export async function openStore(location?: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const create = opts.create ?? true;
  const where = parseStoreLocation(location);
  const backend: Backend = where.kind === 'sqlite' ? openSqlite(where.file, create) : await openPostgres(where.url);
  try {
    await migrate(backend, create);
  } catch (err) {
    await backend.close().catch(() => undefined);
    throw storeError(backend.location, 'opening', err);
  }
  return new KyselyStore(backend);
}
