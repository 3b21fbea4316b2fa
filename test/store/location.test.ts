import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { parseStoreLocation, redactUrl } from '../../src/store/index.js';

describe('store locations', () => {
  it('reads files, postgres URLs and the default', () => {
    expect(parseStoreLocation(undefined)).toEqual({ kind: 'sqlite', file: 'isobench.sqlite' });
    expect(parseStoreLocation('runs/a.sqlite')).toEqual({ kind: 'sqlite', file: 'runs/a.sqlite' });
    expect(parseStoreLocation('postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(parseStoreLocation('postgresql://u@h:5433/db')).toEqual({ kind: 'postgres', url: 'postgresql://u@h:5433/db' });
  });

  it('refuses an empty value and other URL schemes, naming --store and hiding the password', () => {
    for (const bad of ['', 'mysql://root:hunter2@h/db']) {
      let err: unknown;
      try {
        parseStoreLocation(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IsobenchError);
      expect((err as IsobenchError).code).toBe('E_USAGE');
      expect((err as IsobenchError).message).toMatch(/^--store: /);
      expect((err as IsobenchError).message).not.toContain('hunter2');
    }
  });

  it('removes passwords from URLs for messages', () => {
    expect(redactUrl('postgres://alice:s3cret@db.example:5432/isobench')).toBe('postgres://alice@db.example:5432/isobench');
    expect(redactUrl('postgresql://alice@h/db?sslmode=require&password=s3cret')).toBe('postgresql://alice@h/db?sslmode=require&password=***');
    expect(redactUrl('postgres://bob:p%40ss@h/db')).toBe('postgres://bob@h/db');
  });
});
