import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A file per process an engine started, so that a later run finds what a crashed run left behind.
 * The process itself also carries ISOBENCH_RUN_ID in its environment, which is checked before anything is killed
 * (a pid can be reused by an unrelated process).
 */
export interface RegistryEntry {
  pid: number;
  runId: string;
  variant: string;
  /** The isobench process that started it, to tell a crashed run's leftovers from a live run's servers. */
  owner: number;
  host: string;
  argv0: string;
  startedAt: string;
}

/** The default directory of the process registry. */
export function defaultRegistryDir(): string {
  return path.join(tmpdir(), 'isobench-engine', 'processes');
}

function entryFile(dir: string, runId: string, pid: number): string {
  return path.join(dir, `${encodeURIComponent(runId)}--${pid}.json`);
}

/** Records a started process. */
export async function register(dir: string, entry: RegistryEntry): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(entryFile(dir, entry.runId, entry.pid), JSON.stringify(entry));
}

/** Forgets a process that is gone. */
export async function unregister(dir: string, runId: string, pid: number): Promise<void> {
  await rm(entryFile(dir, runId, pid), { force: true });
}

/** Every recorded entry; unreadable files are skipped. */
export async function listEntries(dir: string): Promise<RegistryEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: RegistryEntry[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      out.push(JSON.parse(await readFile(path.join(dir, name), 'utf8')) as RegistryEntry);
    } catch {
      // A half-written entry from a crash: the /proc scan still finds its process.
    }
  }
  return out;
}

/** True when `pid` is a live process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return true;
}

/** True when the entry's owner is this host's live process, i.e. not a leftover. */
export function ownerAlive(entry: RegistryEntry): boolean {
  return entry.host === hostname() && isAlive(entry.owner);
}

/** The ISOBENCH_RUN_ID in a process's environment (Linux /proc), undefined when unreadable or absent. */
export async function processRunId(pid: number): Promise<string | undefined> {
  try {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1');
    const hit = environ.split('\0').find((kv) => kv.startsWith('ISOBENCH_RUN_ID='));
    return hit?.slice('ISOBENCH_RUN_ID='.length);
  } catch {
    return undefined;
  }
}

/** Pids of live processes whose environment carries ISOBENCH_RUN_ID=`runId` (Linux; empty elsewhere). */
export async function pidsWithRunId(runId: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    if ((await processRunId(pid)) === runId && !(await isZombie(pid))) out.push(pid);
  }
  return out;
}

async function isZombie(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return /\) Z /.test(stat);
  } catch {
    return true;
  }
}
