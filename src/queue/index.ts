/** The job queue of `run --queue` and `isobench worker`: graphile-worker jobs in the store's PostgreSQL, one per task. */
export { openQueue, queueExists, queueSchemaOf, type QueueDb } from './db.js';
export { enqueueRun, type EnqueuedTask, type EnqueueInput, type EnqueueResult } from './enqueue.js';
export { gpuNeedOf, gpuTypeOfConfig, gpuTypeOfName, identifiersFor, MAX_GPUS_PER_WORKER, taskIdentifier, type GpuNeed } from './gpus.js';
export { encodePayload, jobKeyOf, MAX_ATTEMPTS, readPayload, type JobPayload } from './jobs.js';
export { runWorker, type WorkerLogLine, type WorkerOptions, type WorkerResult } from './worker.js';
export { followRun, type FollowInput } from './follow.js';
export { readFleet, type FleetRun, type FleetStatus, type FleetWorker } from './fleet.js';
export { gpuGroups, k8sManifests, slurmScripts, type GpuGroup, type K8sInput, type LaunchInput, type SlurmInput } from './deploy.js';
