import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { isAlive } from './registry.js';

/** The file in a run's work folder that says which isobench process owns it. */
const OWNER_FILE = '.isobench-owner.json';

interface WorkOwner {
  runId: string;
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * The run's folder under `workDir` (patched source copies, patch files), created with its owner recorded before
 * anything goes in, so that the next run can tell a killed run's copies from a live run's (cleanupWorkLeftovers).
 */
export async function claimWorkDir(workDir: string, runId: string): Promise<string> {
  const dir = path.join(workDir, runId);
  await mkdir(dir, { recursive: true });
  const owner: WorkOwner = { runId, pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  await writeFile(path.join(dir, OWNER_FILE), JSON.stringify(owner), { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return dir;
}

/**
 * Removes the run folders under `workDir` whose owning isobench process is gone (kill -9 during agent preparation, a
 * crash); a live run's folder, one owned on another host and one without an owner file are left alone. Returns the
 * folders removed.
 */
export async function cleanupWorkLeftovers(workDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(workDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(workDir, name);
    let owner: WorkOwner;
    try {
      owner = JSON.parse(await readFile(path.join(dir, OWNER_FILE), 'utf8')) as WorkOwner;
    } catch {
      continue;
    }
    if (owner.host !== hostname() || isAlive(owner.pid)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
