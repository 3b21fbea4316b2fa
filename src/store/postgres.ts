import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { IsobenchError, errorMessage, redactSecrets } from '../core/index.js';
import type { Backend } from './backend.js';
import { redactUrl } from './location.js';
import type { IntegrityProblem } from './integrity.js';
import type { Database } from './schema.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** Advisory lock key of isobench migrations (any constant; 'isob' in ASCII). */
const MIGRATION_LOCK = 0x69736f62;

/** Connects to PostgreSQL at `url` and checks that it answers; the store's tables live in the current schema. */
export async function openPostgres(url: string): Promise<Backend> {
  const location = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle client that loses its server emits 'error' on the pool; unhandled it would crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new IsobenchError('E_STORE', `cannot connect to PostgreSQL at ${location}: ${redactSecrets(errorMessage(err) || String(err))}`, {
      hint: 'check that the server runs and that host, port, user, password and database in --store are right',
      cause: err,
    });
  }
  return new PostgresBackend(location, pool);
}

class PostgresBackend implements Backend {
  readonly kind = 'postgres';
  readonly db: Kysely<Database>;

  constructor(
    readonly location: string,
    pool: pg.Pool,
  ) {
    this.db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }

  write(statements: readonly CompiledQuery[], guardFirst = false): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < statements.length; i++) {
        const res = await trx.executeQuery(statements[i]!);
        if (i === 0 && guardFirst && res.numAffectedRows === 0n) return false;
      }
      return true;
    });
  }

  /**
   * Concurrent `CREATE TABLE IF NOT EXISTS` can fail in PostgreSQL (a race on the catalog), so openers take a
   * session advisory lock on one pooled connection while the migration statements run on others.
   */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    });
  }

  /** PostgreSQL checksums pages itself (a damaged page fails the read): the row checks read every row. */
  engineCheck(): Promise<{ engine: string; problems: IntegrityProblem[] }> {
    return Promise.resolve({ engine: 'row checks (PostgreSQL fails reads of damaged pages)', problems: [] });
  }

  async tableNames(): Promise<string[]> {
    const res = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(this.db);
    return res.rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
