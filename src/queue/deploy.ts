import YAML from 'yaml';
import { perfInfoOf } from '../run/index.js';
import type { Task } from '../task/index.js';
import { gpuNeedOf, type GpuNeed } from './gpus.js';

/** What both launchers need: the catalog's GPU groups and the worker's command line (never the store URL). */
export interface LaunchInput {
  tasks: readonly Task[];
  engine: string;
  /** Passed to the worker as given (a path inside the image / on the cluster), not read here. */
  engineConfig?: string;
  /** Workers per GPU group; default one per task of the group. */
  workers?: number;
  idleExitS: number;
  graceS: number;
  name: string;
}

/** Tasks that need the same GPUs; one Kubernetes Job or Slurm array starts the workers of a group. */
export interface GpuGroup {
  need: GpuNeed;
  tasks: number;
  /** `any-0`, `h100-2`: a name part (lower case, DNS-safe). */
  slug: string;
}

/** The catalog's tasks grouped by GPU need, largest need first. */
export function gpuGroups(tasks: readonly Task[], engine: string): GpuGroup[] {
  const groups = new Map<string, GpuGroup>();
  for (const task of tasks) {
    const perf = perfInfoOf(task);
    const need = gpuNeedOf({ task, perf: 'code' in perf ? null : perf }, engine);
    const slug = `${(need.type ?? 'any').toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${need.count}`;
    const g = groups.get(slug) ?? { need, tasks: 0, slug };
    g.tasks++;
    groups.set(slug, g);
  }
  return [...groups.values()].sort((a, b) => b.need.count - a.need.count || a.slug.localeCompare(b.slug));
}

/** The worker's arguments for a group: engine, GPU type, idle exit and grace; the URL comes from ISOBENCH_STORE. */
function workerArgs(input: LaunchInput, g: GpuGroup): string[] {
  return [
    'worker',
    '--engine',
    input.engine,
    ...(input.engineConfig === undefined ? [] : ['--engine-config', input.engineConfig]),
    ...(g.need.type === null ? [] : ['--gpu-type', g.need.type]),
    '--idle-exit',
    String(input.idleExitS),
    '--grace',
    String(input.graceS),
  ];
}

const workersOf = (input: LaunchInput, g: GpuGroup) => Math.max(1, input.workers ?? g.tasks);

/** Kubernetes: the options of `deploy k8s`. */
export interface K8sInput extends LaunchInput {
  image: string;
  namespace?: string;
  /** The Secret that holds the PostgreSQL URL, and its key. */
  secret: string;
  secretKey: string;
  nodeSelector: Record<string, string>;
  /** The container's command before the worker arguments (default `isobench`). */
  command: string[];
}

/**
 * One Indexed Job per GPU group (multi-document YAML for `kubectl apply -f -`): `completions = parallelism =`
 * workers, each pod requests the group's GPUs (`nvidia.com/gpu`), the store URL reaches the worker as ISOBENCH_STORE
 * from the Secret, and a worker exits 0 once the queue has had nothing for it for `--idle-exit` seconds, so the Job
 * completes when the queue is drained. SIGTERM (pod deletion, node drain) gives the worker `--grace` seconds for the
 * trial in flight before Kubernetes kills it.
 */
export function k8sManifests(input: K8sInput): string {
  const docs = gpuGroups(input.tasks, input.engine).map((g) => {
    const workers = workersOf(input, g);
    const gpus = g.need.count > 0 ? { 'nvidia.com/gpu': String(g.need.count) } : undefined;
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: `${input.name}-${g.slug}`.slice(0, 63).replace(/-+$/, ''),
        ...(input.namespace === undefined ? {} : { namespace: input.namespace }),
        labels: { 'app.kubernetes.io/name': 'isobench-worker', 'isobench/gpus': g.slug },
      },
      spec: {
        completionMode: 'Indexed',
        completions: workers,
        parallelism: workers,
        backoffLimit: workers * 2,
        template: {
          metadata: { labels: { 'app.kubernetes.io/name': 'isobench-worker', 'isobench/gpus': g.slug } },
          spec: {
            restartPolicy: 'OnFailure',
            terminationGracePeriodSeconds: input.graceS + 30,
            ...(Object.keys(input.nodeSelector).length > 0 ? { nodeSelector: input.nodeSelector } : {}),
            containers: [
              {
                name: 'worker',
                image: input.image,
                command: input.command,
                args: workerArgs(input, g),
                env: [{ name: 'ISOBENCH_STORE', valueFrom: { secretKeyRef: { name: input.secret, key: input.secretKey } } }],
                ...(gpus === undefined ? {} : { resources: { limits: { ...gpus }, requests: { ...gpus } } }),
              },
            ],
          },
        },
      },
    };
  });
  return docs.map((d) => YAML.stringify(d)).join('---\n');
}

/** Slurm: the options of `deploy slurm`. */
export interface SlurmInput extends LaunchInput {
  /** The command that runs isobench on the cluster (default `isobench`). */
  isobench: string;
  partition?: string;
  time: string;
  cpusPerTask: number;
  /** A file readable only by the user that holds the URL; default `$HOME/.isobench/store-url`. */
  storeFile?: string;
}

/** One Slurm array script per GPU group: `--array=0-(workers-1)`, `--gres=gpu:<count>`, the URL read from a file. */
export function slurmScripts(input: SlurmInput): { group: GpuGroup; file: string; script: string }[] {
  return gpuGroups(input.tasks, input.engine).map((g) => {
    const workers = workersOf(input, g);
    const args = workerArgs(input, g).map(shellQuote).join(' ');
    const lines = [
      '#!/bin/bash',
      `# isobench deploy slurm: ${workers} worker(s) for the ${g.tasks} task(s) that need ${g.need.count} GPU(s)${g.need.type ? ` of type ${g.need.type}` : ''}.`,
      '# Submit with sbatch; each array task runs one `isobench worker`, which exits 0 once the queue is drained.',
      `#SBATCH --job-name=${input.name}-${g.slug}`,
      `#SBATCH --array=0-${workers - 1}`,
      ...(g.need.count > 0 ? [`#SBATCH --gres=gpu:${g.need.count}`] : []),
      `#SBATCH --cpus-per-task=${input.cpusPerTask}`,
      `#SBATCH --time=${input.time}`,
      ...(input.partition === undefined ? [] : [`#SBATCH --partition=${input.partition}`]),
      // TERM to the batch shell (the worker, through exec) this long before the time limit: the trial in flight finishes, the task is handed back.
      `#SBATCH --signal=B:TERM@${input.graceS + 30}`,
      `#SBATCH --output=${input.name}-${g.slug}-%A_%a.log`,
      'set -euo pipefail',
      '# The PostgreSQL URL comes from a file only you can read (chmod 600): never from this script, the command line or the log.',
      `store_file=\${ISOBENCH_STORE_FILE:-${input.storeFile === undefined ? '$HOME/.isobench/store-url' : shellQuote(input.storeFile)}}`,
      'if [ ! -r "$store_file" ]; then echo "isobench: $store_file is missing: write the postgres:// URL into it (chmod 600)" >&2; exit 2; fi',
      'ISOBENCH_STORE=$(cat "$store_file")',
      'export ISOBENCH_STORE',
      '# Slurm sets CUDA_VISIBLE_DEVICES to the GPUs of this array task; the worker owns exactly those.',
      `exec ${input.isobench} ${args}`,
      '',
    ];
    return { group: g, file: `${input.name}-${g.slug}.sbatch`, script: lines.join('\n') };
  });
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
