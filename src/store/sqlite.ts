import { existsSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type CompiledQuery } from 'kysely';
import { IsobenchError, errorMessage } from '../core/index.js';
import { driverCode, storeError, type Backend } from './backend.js';
import { noStore } from './migrate.js';
import { MAX_LISTED, type IntegrityProblem } from './integrity.js';
import type { Database } from './schema.js';

/** How long a writer waits for another process's write transaction before failing (they last milliseconds). */
const BUSY_TIMEOUT_MS = 15_000;
const STATEMENT_CACHE = 256;

/**
 * Opens the SQLite file at `file`. WAL lets readers (status, dataset) run beside a writer. synchronous=NORMAL is
 * enough for kill -9: in WAL mode a commit has been written to the WAL file (the OS holds it) before COMMIT returns,
 * so a killed process loses nothing committed; only a power loss can drop the last commits, never corrupt the file.
 */
export function openSqlite(file: string, create: boolean): Backend {
  const location = path.resolve(file);
  if (!create && !existsSync(location)) throw noStore(location);
  let raw: BetterSqlite3.Database;
  try {
    raw = new BetterSqlite3(location, { fileMustExist: !create, timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new IsobenchError('E_STORE', `cannot open the SQLite store ${location}: ${errorMessage(err)}`, {
      hint: 'pass --store with a file in a directory that exists and is writable',
      cause: err,
    });
  }
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
  } catch (err) {
    raw.close();
    if (driverCode(err) === 'SQLITE_NOTADB') {
      throw new IsobenchError('E_STORE', `${location} is not an isobench store (not an SQLite database)`, {
        hint: 'pass --store with the path of an isobench store or of a file to create',
        cause: err,
      });
    }
    throw storeError(location, 'opening', err);
  }
  return new SqliteBackend(location, raw);
}

class SqliteBackend implements Backend {
  readonly kind = 'sqlite';
  readonly db: Kysely<Database>;
  readonly #raw: BetterSqlite3.Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    readonly location: string,
    raw: BetterSqlite3.Database,
  ) {
    this.#raw = raw;
    this.db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  }

  /**
   * Synchronous on purpose: the whole transaction runs without yielding to the event loop, so another store on the
   * same file in this process can never wait (blocking the loop) on a lock that this one holds across an await.
   * BEGIN IMMEDIATE takes the write lock up front, so a busy writer is waited for instead of failing mid-way.
   */
  write(statements: readonly CompiledQuery[], guardFirst = false): Promise<boolean> {
    try {
      const run = this.#raw.transaction(() => {
        for (let i = 0; i < statements.length; i++) {
          const q = statements[i]!;
          const changes = this.#prepare(q.sql).run(...q.parameters).changes;
          if (i === 0 && guardFirst && changes === 0) return false;
        }
        return true;
      });
      return Promise.resolve(run.immediate());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    // Each migration is one BEGIN IMMEDIATE transaction guarded by its version row: no lock beyond that is needed.
    return fn();
  }

  /**
   * `integrity_check` walks every page of the file (b-trees, free list, overflow chains, indexes against tables);
   * its messages name b-trees by root page (`Tree 7 page 12: ...`), mapped here to their table or index.
   */
  engineCheck(): Promise<{ engine: string; problems: IntegrityProblem[] }> {
    const problems: IntegrityProblem[] = [];
    try {
      const roots = new Map<number, string>();
      for (const r of this.#raw.prepare('select name, tbl_name, rootpage from sqlite_master where rootpage > 0').all() as { name: string; tbl_name: string; rootpage: number }[]) {
        roots.set(r.rootpage, r.name === r.tbl_name ? r.name : `${r.tbl_name} (index ${r.name})`);
      }
      const messages = (this.#raw.pragma(`integrity_check(${MAX_LISTED})`) as { integrity_check: string }[]).map((r) => r.integrity_check);
      for (const m of messages) {
        if (m === 'ok') continue;
        const tree = /(?:Tree|tree) (\d+)/.exec(m)?.[1];
        const index = /index (\S+)/.exec(m)?.[1];
        const part = tree !== undefined ? (roots.get(Number(tree)) ?? 'file') : index !== undefined ? `index ${index}` : 'file';
        problems.push({ part, key: null, problem: m });
      }
      for (const r of this.#raw.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[]) {
        problems.push({ part: r.table, key: `rowid ${r.rowid}`, problem: `refers to a missing row of ${r.parent}` });
      }
    } catch (err) {
      // Damage bad enough to stop integrity_check: find the tables whose pages cannot be read.
      problems.push({ part: 'file', key: null, problem: `integrity_check stopped: ${errorMessage(err)}` });
      for (const t of this.#raw.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]) {
        try {
          this.#raw.prepare(`select count(*) from "${t.name.replace(/"/g, '""')}"`).get();
        } catch (e) {
          problems.push({ part: t.name, key: null, problem: `its pages cannot be read (${errorMessage(e)})` });
        }
      }
    }
    return Promise.resolve({ engine: problems.length === 0 ? 'integrity_check ok' : 'integrity_check', problems });
  }

  async tableNames(): Promise<string[]> {
    const res = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(this.db);
    return res.rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    this.#statements.clear();
    await this.db.destroy();
  }

  #prepare(text: string): BetterSqlite3.Statement {
    let stmt = this.#statements.get(text);
    if (stmt === undefined) {
      // Multi-row inserts vary in shape; a bounded cache keeps the common statements compiled.
      if (this.#statements.size >= STATEMENT_CACHE) this.#statements.clear();
      stmt = this.#raw.prepare(text);
      this.#statements.set(text, stmt);
    }
    return stmt;
  }
}
