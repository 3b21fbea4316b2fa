import { usageError } from '../core/index.js';

/** The default store: an SQLite file in the working directory. */
export const DEFAULT_STORE_FILE = 'isobench.sqlite';

export type StoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** Reads `--store`: a `postgres://` or `postgresql://` URL, else a file path (undefined: the default file). */
export function parseStoreLocation(location: string | undefined): StoreLocation {
  if (location === undefined) return { kind: 'sqlite', file: DEFAULT_STORE_FILE };
  if (location.trim() === '') throw usageError('--store', 'is empty', 'give a file path or a postgres:// URL');
  if (/^postgres(ql)?:\/\//i.test(location)) return { kind: 'postgres', url: location };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw usageError('--store', `unsupported URL scheme in ${redactUrl(location)}`, 'give a file path (SQLite) or a postgres:// URL');
  }
  return { kind: 'sqlite', file: location };
}

/** `url` without its password (in the authority or a `password=` parameter), for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@\s]+):[^@\s]*@/, '$1@');
  }
}
