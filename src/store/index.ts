export type * from './types.js';
export { DEFAULT_STORE_FILE, parseStoreLocation, redactUrl, type StoreLocation } from './location.js';
export { LATEST_VERSION as STORE_SCHEMA_VERSION } from './migrations.js';
export { LEASE_RENEW_MS, LEASE_TTL_MS, type HeldLease, type LeaseHolder, type LeaseResult } from './lease.js';
export type { IntegrityProblem, IntegrityReport } from './integrity.js';
export { openStore } from './open.js';
export { readStoreStatus, type StoreStatus } from './status.js';
export { storedRequests } from './requests.js';
