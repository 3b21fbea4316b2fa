import type { CompiledQuery, Kysely } from 'kysely';
import { IsobenchError, errorMessage } from '../core/index.js';
import type { Dialect } from './migrations.js';
import type { IntegrityProblem } from './integrity.js';
import type { Database } from './schema.js';

/** What a database gives the store: a kysely instance for reads and single statements, and atomic write batches. */
export interface Backend {
  readonly kind: Dialect;
  /** Path or URL, password removed. */
  readonly location: string;
  readonly db: Kysely<Database>;
  /**
   * Runs `statements` in order in one write transaction. With `guardFirst`, when the first statement changes no row
   * (an insert that met its conflict target) nothing else runs and the result is false.
   */
  write(statements: readonly CompiledQuery[], guardFirst?: boolean): Promise<boolean>;
  /** Runs `fn` while holding the store-wide migration lock (other openers wait); SQLite's write lock suffices there. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Names of the tables in the store's schema. */
  tableNames(): Promise<string[]>;
  /**
   * What the database engine can check of the whole store by itself (SQLite: `integrity_check` and
   * `foreign_key_check`, damage named by table), with a line that says what was checked.
   */
  engineCheck(): Promise<{ engine: string; problems: IntegrityProblem[] }>;
  close(): Promise<void>;
}

/** The SQLSTATE (PostgreSQL) or extended result code (SQLite) of a driver error, if any. */
export function driverCode(err: unknown): string | undefined {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

const CONSTRAINT_HINTS: Record<string, string> = {
  SQLITE_CONSTRAINT_FOREIGNKEY: 'it refers to a run or variant that is not in the store (createRun / upsertVariant first)',
  '23503': 'it refers to a run or variant that is not in the store (createRun / upsertVariant first)',
  SQLITE_CONSTRAINT_CHECK: 'a value is outside the allowed set (status, kind or failure code)',
  '23514': 'a value is outside the allowed set (status, kind or failure code)',
  SQLITE_CONSTRAINT_UNIQUE: 'its id is already used by another record',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'its id is already used by another record',
  '23505': 'its id is already used by another record',
};

/** Turns a driver error into an E_STORE error that says where and what; IsobenchErrors pass through. */
export function storeError(location: string, what: string, err: unknown): IsobenchError {
  if (err instanceof IsobenchError) return err;
  const code = driverCode(err);
  const hint = code === undefined ? undefined : CONSTRAINT_HINTS[code];
  const why = hint === undefined ? errorMessage(err) : `${hint} (${errorMessage(err)})`;
  return new IsobenchError('E_STORE', `store ${location}: ${what} failed: ${why}`, { cause: err });
}
