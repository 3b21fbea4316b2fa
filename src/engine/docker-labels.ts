import { hostname } from 'node:os';
import { isAlive } from './registry.js';

/** The labels on every container isobench starts; `cleanupLeftovers` finds containers by them. */
export const LABELS = {
  marker: 'isobench',
  run: 'isobench.run',
  variant: 'isobench.variant',
  /** `host:pid` of the isobench process that started it: a container whose owner is gone is a leftover. */
  owner: 'isobench.owner',
} as const;

/** The labels of a container of `runId` / `variant`, started by this process. */
export function containerLabels(runId: string, variant: string): Record<string, string> {
  return { [LABELS.marker]: '1', [LABELS.run]: runId, [LABELS.variant]: variant, [LABELS.owner]: `${hostname()}:${process.pid}` };
}

/**
 * The labels of variant images built by the docker engine (docker-build.ts), set by the Dockerfile's first step so
 * that the intermediate images of a failed or cancelled build carry them too. Not the container marker: a container
 * of such an image inherits these, and only its own LABELS make it a run's container.
 */
export const BUILD_LABELS = {
  marker: 'isobench.build',
  /** Hash of (base image id, patch bytes, build config): the image tag's name. */
  key: 'isobench.build.key',
  base: 'isobench.build.base',
  patch: 'isobench.build.patch',
  /** `host:pid` of the isobench process building it. */
  owner: 'isobench.build.owner',
  /** Seconds the build took and when it finished, set once it succeeded. */
  seconds: 'isobench.build.seconds',
  builtAt: 'isobench.build.at',
} as const;

/** True when an owner label (`host:pid`) names a process of this host that is gone, or there is no owner. */
export function ownerGone(owner: string | undefined): boolean {
  if (owner === undefined) return true;
  const i = owner.lastIndexOf(':');
  const host = owner.slice(0, i);
  const pid = Number(owner.slice(i + 1));
  return host === hostname() && Number.isInteger(pid) && !isAlive(pid);
}
