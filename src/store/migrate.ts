import { IsobenchError } from '../core/index.js';
import type { Backend } from './backend.js';
import { LATEST_VERSION, MIGRATIONS, createMigrationsTable, recordMigration } from './migrations.js';
import { MIGRATIONS_TABLE, STORE_TABLES } from './schema.js';

/**
 * Brings the store to the latest schema version. Safe when several processes open the same store at once: each
 * migration runs in one transaction guarded by its row in the migrations table, so exactly one opener applies it.
 */
export function migrate(b: Backend, create: boolean): Promise<void> {
  return b.withMigrationLock(() => migrateLocked(b, create));
}

async function migrateLocked(b: Backend, create: boolean): Promise<void> {
  const tables = new Set(await b.tableNames());
  if (!tables.has(MIGRATIONS_TABLE)) {
    // An SQLite file is ours alone; a PostgreSQL database may hold other applications' tables beside ours.
    const foreign = b.kind === 'sqlite' ? [...tables] : STORE_TABLES.filter((t) => tables.has(t));
    if (foreign.length > 0) {
      throw new IsobenchError('E_STORE', `${b.location} is not an isobench store: it has tables (${foreign.slice(0, 5).join(', ')}) but no ${MIGRATIONS_TABLE}`, {
        hint: 'pass --store with a new file name or an empty database',
      });
    }
    if (!create) throw noStore(b.location);
    await b.write([createMigrationsTable(b.db)]);
  }
  const current = await currentVersion(b);
  if (current > LATEST_VERSION) {
    throw new IsobenchError('E_STORE', `store ${b.location} has schema version ${current}, newer than this isobench understands (${LATEST_VERSION})`, {
      hint: 'upgrade isobench to read this store',
    });
  }
  const now = new Date().toISOString();
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    const data = m.backfill ? await m.backfill(b.db) : [];
    await b.write([recordMigration(b.db, m, now), ...m.statements(b.db, b.kind), ...data], true);
  }
}

/** The schema version of the store (0 for a store with an empty migrations table). */
export async function currentVersion(b: Backend): Promise<number> {
  const row = await b.db.selectFrom('isobench_migrations').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
  return Number(row?.v ?? 0);
}

/** The error for a store that does not exist where `create: false` forbids making one. */
export function noStore(location: string): IsobenchError {
  return new IsobenchError('E_STORE', `no isobench store at ${location}`, {
    hint: 'run `isobench run` (or `isobench import`) first, or pass --store with the store to read',
  });
}
