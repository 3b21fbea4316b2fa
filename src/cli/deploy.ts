import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { z } from 'zod';
import { usageError } from '../core/index.js';
import type { LaunchInput } from '../queue/index.js';
import { opt, parseOptions } from './options.js';

const ENGINES = ['sim', 'process', 'docker'] as const;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const Common = {
  tasks: z.string({ error: 'is required: the task catalog whose GPU needs the workers must meet' }).min(1),
  engine: z.enum(ENGINES, { error: `must be one of ${ENGINES.join(', ')}` }).default('sim'),
  engineConfig: z.string().min(1).optional(),
  workers: opt.posInt('--workers').optional(),
  idleExit: opt.nonNegInt('--idle-exit').default(120),
  grace: opt.nonNegInt('--grace').default(60),
  name: z.string().max(50, 'at most 50 characters').regex(NAME, 'lower-case letters, digits and -, starting and ending with a letter or digit').default('isobench-worker'),
};
const K8sOptions = z.object({
  ...Common,
  image: z.string({ error: 'is required: the container image with isobench and the engine' }).min(1),
  namespace: z.string().regex(NAME, 'a Kubernetes namespace name').optional(),
  secret: z.string().regex(NAME, 'a Kubernetes Secret name').default('isobench-store'),
  secretKey: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'a Secret key').default('url'),
  nodeSelector: z.array(z.string().regex(/^[^=\s]+=[^=\s]*$/, 'give key=value, e.g. nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3')).default([]),
  command: z.string().min(1).default('isobench'),
});
const SlurmOptions = z.object({
  ...Common,
  isobench: z.string().min(1).default('isobench'),
  partition: z.string().regex(/^[\w.-]+$/, 'a partition name').optional(),
  time: z.string().regex(/^(\d+-)?\d{1,2}(:\d{2}){0,2}$/, 'a Slurm time limit such as 24:00:00 or 2-00:00:00').default('24:00:00'),
  cpusPerTask: opt.posInt('--cpus-per-task').default(8),
  storeFile: z.string().min(1).optional(),
  out: z.string().min(1).optional(),
});

async function catalogOf(file: string) {
  if (!existsSync(file)) throw usageError('--tasks', `${file} does not exist`, 'give the path of a task catalog (JSON or YAML; see docs/tasks.md)');
  const { loadCatalog } = await import('../task/index.js');
  const tasks = await loadCatalog(file);
  if (tasks.length === 0) throw usageError('--tasks', `${file} holds no task`);
  return tasks;
}

/** The options both launchers share, as the queue's LaunchInput. */
function launchInput(tasks: LaunchInput['tasks'], opts: z.output<z.ZodObject<typeof Common>>): LaunchInput {
  return {
    tasks,
    engine: opts.engine,
    ...(opts.engineConfig === undefined ? {} : { engineConfig: opts.engineConfig }),
    ...(opts.workers === undefined ? {} : { workers: opts.workers }),
    idleExitS: opts.idleExit,
    graceS: opts.grace,
    name: opts.name,
  };
}

/** `isobench deploy k8s|slurm`: launchers that start `isobench worker` processes for a catalog's GPU needs. */
export function register(program: Command): void {
  const deploy = program.command('deploy').description('Print launchers that start `isobench worker` processes: a Kubernetes Indexed Job or a Slurm array script per GPU need');
  const common = (c: Command) =>
    c
      .requiredOption('--tasks <catalog>', 'task catalog: its gpu_config / perf commands decide the GPUs each worker requests')
      .addOption(new Option('--engine <kind>', 'engine of the workers (as the run)').choices(ENGINES).default('sim' as const))
      .option('--engine-config <path>', 'engine settings path as the workers see it (in the image / on the cluster), passed through')
      .option('--workers <n>', 'workers per GPU group (default: one per task of the group)')
      .option('--idle-exit <s>', 'a worker exits once the queue has had nothing for it this long', '120')
      .option('--grace <s>', 'seconds the trial in flight may take after SIGTERM', '60')
      .option('--name <name>', 'name prefix of the Jobs / array jobs', 'isobench-worker');
  common(deploy.command('k8s').description('Indexed Jobs (YAML on stdout) whose pods run workers; the store URL comes from a Secret'))
    .requiredOption('--image <image>', 'container image with isobench (and the engine)')
    .option('--namespace <ns>', 'namespace of the Jobs')
    .option('--secret <name>', 'Secret holding the postgres:// URL', 'isobench-store')
    .option('--secret-key <key>', 'key of the URL in the Secret', 'url')
    .option('--node-selector <key=value>', 'node label the pods need (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--command <cmd>', 'the container command that runs isobench', 'isobench')
    .action(async (raw) => {
      const opts = parseOptions(K8sOptions, raw);
      const tasks = await catalogOf(opts.tasks);
      const { k8sManifests } = await import('../queue/index.js');
      const nodeSelector = Object.fromEntries(opts.nodeSelector.map((kv) => kv.split('=') as [string, string]));
      process.stdout.write(
        k8sManifests({
          ...launchInput(tasks, opts),
          image: opts.image,
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          secret: opts.secret,
          secretKey: opts.secretKey,
          nodeSelector,
          command: opts.command.split(/\s+/),
        }),
      );
    });
  common(deploy.command('slurm').description('Slurm array scripts (one per GPU group) whose array tasks run workers; the store URL comes from a file only you can read'))
    .option('--isobench <cmd>', 'how the cluster runs isobench', 'isobench')
    .option('--partition <name>', 'Slurm partition')
    .option('--time <limit>', 'time limit of each array task', '24:00:00')
    .option('--cpus-per-task <n>', 'CPUs of each array task', '8')
    .option('--store-file <path>', 'file with the postgres:// URL (default $HOME/.isobench/store-url, or $ISOBENCH_STORE_FILE at submit)')
    .option('--out <dir>', 'write one <name>-<gpus>.sbatch per GPU group here (needed when the catalog has several)')
    .action(async (raw) => {
      const opts = parseOptions(SlurmOptions, raw);
      const tasks = await catalogOf(opts.tasks);
      const { slurmScripts } = await import('../queue/index.js');
      const scripts = slurmScripts({
        ...launchInput(tasks, opts),
        isobench: opts.isobench,
        ...(opts.partition === undefined ? {} : { partition: opts.partition }),
        time: opts.time,
        cpusPerTask: opts.cpusPerTask,
        ...(opts.storeFile === undefined ? {} : { storeFile: opts.storeFile }),
      });
      if (opts.out === undefined) {
        if (scripts.length > 1) throw usageError('--out', `the catalog has ${scripts.length} GPU groups (${scripts.map((s) => s.group.slug).join(', ')}): one script each`, 'give --out <dir> to write them all');
        process.stdout.write(scripts[0]?.script ?? '');
        return;
      }
      mkdirSync(opts.out, { recursive: true });
      for (const s of scripts) {
        writeFileSync(path.join(opts.out, s.file), s.script, { mode: 0o755 });
        process.stderr.write(`${path.join(opts.out, s.file)}: ${s.group.tasks} task(s), ${s.group.need.count} GPU(s)${s.group.need.type ? ` ${s.group.need.type}` : ''}\n`);
      }
    });
}
