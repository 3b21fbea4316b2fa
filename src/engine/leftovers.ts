import { signalGroup } from './child.js';
import { isAlive, listEntries, ownerAlive, pidsWithRunId, processRunId, unregister } from './registry.js';

/**
 * Stops processes an engine started and nobody stopped: those of `runId`, or, without a run id, those whose owning
 * isobench process is gone (a crashed run). A live run's servers are never touched by the second form.
 * Returns the pids that were signalled.
 */
export async function cleanupProcessLeftovers(registryDir: string, runId: string | undefined, graceMs: number): Promise<number[]> {
  const entries = await listEntries(registryDir);
  const targets = new Set<number>();
  for (const e of entries) {
    const mine = runId === undefined ? !ownerAlive(e) : e.runId === runId;
    if (!mine) continue;
    // A reused pid is not ours: the process must still carry the run id (when /proc can tell).
    const envRunId = await processRunId(e.pid);
    if (isAlive(e.pid) && (envRunId === undefined || envRunId === e.runId)) targets.add(e.pid);
    await unregister(registryDir, e.runId, e.pid);
  }
  // Grandchildren that left their group still carry the run id in their environment.
  if (runId !== undefined) for (const pid of await pidsWithRunId(runId)) targets.add(pid);
  if (targets.size === 0) return [];
  for (const pid of targets) {
    signalGroup(pid, 'SIGTERM');
    signalPid(pid, 'SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [...targets].some((p) => isAlive(p))) await new Promise((r) => setTimeout(r, 50));
  for (const pid of targets) {
    signalGroup(pid, 'SIGKILL');
    signalPid(pid, 'SIGKILL');
  }
  return [...targets];
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}
