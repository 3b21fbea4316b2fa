import { hostname } from 'node:os';

/** Who holds (or asks for) a run lease: the run and its process. */
export interface LeaseHolder {
  runId: string;
  host: string;
  pid: number | null;
}

/** A lease as stored: its holder, since when, and when it was last renewed. */
export interface HeldLease extends LeaseHolder {
  key: string;
  acquiredAt: string;
  heartbeatAt: string;
}

export type LeaseResult = { status: 'acquired' } | { status: 'held'; holder: HeldLease };

/** How long a lease lives without renewal; a running run renews it every LEASE_RENEW_MS. */
export const LEASE_TTL_MS = 60_000;
export const LEASE_RENEW_MS = 15_000;

/**
 * True when a process recorded as `pid` on `host` is known to be gone: only checkable on this host (ESRCH). EPERM
 * means it exists under another user; another host cannot be checked from here.
 */
export function processGone(host: string, pid: number | null | undefined): boolean {
  if (pid == null || host !== hostname()) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A lease whose holder died: its process is gone (this host), or it stopped renewing it (any host). */
export function leaseDead(lease: HeldLease, now: Date, ttlMs = LEASE_TTL_MS): boolean {
  if (processGone(lease.host, lease.pid)) return true;
  const beat = Date.parse(lease.heartbeatAt);
  return !Number.isFinite(beat) || now.getTime() - beat > ttlMs;
}
