import Docker from 'dockerode';
import { LABELS, ownerGone } from './docker-labels.js';

/** A Docker client for `unix:///path`, `tcp://host:port`, or $DOCKER_HOST / the default socket when none is given. */
export function dockerClient(host?: string): Docker {
  const h = host ?? process.env.DOCKER_HOST;
  if (h === undefined || h === '') return new Docker({ socketPath: '/var/run/docker.sock' });
  if (h.startsWith('unix://')) return new Docker({ socketPath: h.slice('unix://'.length) });
  const url = new URL(h.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
}

/**
 * Removes containers labelled by isobench: those of `runId`, or, without a run id, those whose owning isobench
 * process on this host is gone. Returns the removed containers' names.
 */
export async function cleanupContainerLeftovers(docker: Docker, runId: string | undefined): Promise<string[]> {
  const label = runId === undefined ? [`${LABELS.marker}=1`] : [`${LABELS.marker}=1`, `${LABELS.run}=${runId}`];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  const removed: string[] = [];
  for (const c of containers) {
    if (runId === undefined && !ownerGone(c.Labels[LABELS.owner])) continue;
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    removed.push(c.Names[0]?.replace(/^\//, '') ?? c.Id);
  }
  return removed;
}
