import { existsSync } from 'node:fs';
import { parseEngineConfig, type EngineConfig } from './config.js';
import { cleanupContainerLeftovers, dockerClient } from './docker-client.js';
import { DockerEngine } from './docker.js';
import { cleanupBuildLeftovers } from './docker-build.js';
import { cleanupProcessLeftovers } from './leftovers.js';
import { ProcessEngine } from './process.js';
import { defaultRegistryDir } from './registry.js';
import { SimEngine } from './sim.js';
import { cleanupWorkLeftovers } from './work-dirs.js';
import type { Engine } from './types.js';

/** Builds the engine a config names, after validating it (a bad config is an E_USAGE error naming the key). */
export function createEngine(config: EngineConfig): Engine {
  const c = parseEngineConfig(config);
  switch (c.kind) {
    case 'sim':
      return new SimEngine(c);
    case 'process':
      return new ProcessEngine(c);
    case 'docker':
      return new DockerEngine(c);
  }
}

/** What `cleanupLeftovers` stopped and removed. */
export interface LeftoversReport {
  processes: number[];
  containers: string[];
  /** Run folders of patched source copies and patch files whose run is gone, removed. */
  workDirs: string[];
  /** Untagged images (and containers) of docker builds whose isobench process is gone, removed. */
  buildLeftovers?: string[];
  /** Why containers were not looked at (no Docker reachable), when so. */
  dockerSkipped?: string;
}

/**
 * Finds and removes what engines left behind: processes and containers of `runId`, or, without one, those whose
 * isobench process is gone (a crashed run), and the run folders under `workDir` (patched copies, patch files) whose
 * owning process is gone; a live run's servers and folders are left alone.
 */
export async function cleanupLeftovers(
  runId?: string,
  opts: { registryDir?: string; dockerHost?: string; graceMs?: number; workDir?: string } = {},
): Promise<LeftoversReport> {
  const processes = await cleanupProcessLeftovers(opts.registryDir ?? defaultRegistryDir(), runId, opts.graceMs ?? 5000);
  // After the processes: a killed run's server may still have been running from its patched copy.
  const workDirs = opts.workDir === undefined ? [] : await cleanupWorkLeftovers(opts.workDir);
  const host = opts.dockerHost ?? process.env.DOCKER_HOST;
  if ((host === undefined || host === '') && !existsSync('/var/run/docker.sock')) {
    return { processes, containers: [], workDirs, dockerSkipped: 'no Docker daemon configured' };
  }
  try {
    const docker = dockerClient(host);
    const containers = await cleanupContainerLeftovers(docker, runId);
    const built = await cleanupBuildLeftovers(docker);
    return { processes, containers: [...containers, ...built.containers], workDirs, buildLeftovers: built.images };
  } catch (err) {
    return { processes, containers: [], workDirs, dockerSkipped: `Docker not reachable: ${err instanceof Error ? err.message : String(err)}` };
  }
}
