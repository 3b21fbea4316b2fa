import { hostname } from 'node:os';

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
