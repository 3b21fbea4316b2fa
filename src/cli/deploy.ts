import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { usageError } from '../core/index.js';
import type { LaunchInput } from '../queue/index.js';
import { addOptionsAction, opt, type OptionTable, type OptionsOf } from './options.js';
import { ENGINES } from './run.js';

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The options both launchers share. */
const COMMON_OPTIONS = {
  tasks: opt.text('--tasks <catalog>', 'task catalog: its gpu_config / perf commands decide the GPUs each worker requests', { required: 'the task catalog whose GPU needs the workers must meet' }),
  engine: opt.choice('--engine <kind>', 'engine of the workers (as the run)', ENGINES, { default: 'sim' }),
  engineConfig: opt.text('--engine-config <path>', 'engine settings path as the workers see it (in the image / on the cluster), passed through'),
  workers: opt.posInt('--workers <n>', 'workers per GPU group (default: one per task of the group)'),
  idleExit: opt.nonNegInt('--idle-exit <s>', 'a worker exits once the queue has had nothing for it this long', { default: 120 }),
  grace: opt.nonNegInt('--grace <s>', 'seconds the trial in flight may take after SIGTERM', { default: 60 }),
  name: opt.text('--name <name>', 'name prefix of the Jobs / array jobs', { default: 'isobench-worker', maxLength: 50, pattern: [NAME, 'lower-case letters, digits and -, starting and ending with a letter or digit'] }),
} satisfies OptionTable;
const K8S_OPTIONS = {
  ...COMMON_OPTIONS,
  image: opt.text('--image <image>', 'container image with isobench (and the engine)', { required: 'the container image with isobench and the engine' }),
  namespace: opt.text('--namespace <ns>', 'namespace of the Jobs', { pattern: [NAME, 'a Kubernetes namespace name'] }),
  secret: opt.text('--secret <name>', 'Secret holding the postgres:// URL', { default: 'isobench-store', pattern: [NAME, 'a Kubernetes Secret name'] }),
  secretKey: opt.text('--secret-key <key>', 'key of the URL in the Secret', { default: 'url', pattern: [/^[-._a-zA-Z0-9]+$/, 'a Secret key'] }),
  nodeSelector: opt.strings('--node-selector <key=value>', 'node label the pods need (repeatable)', { pattern: [/^[^=\s]+=[^=\s]*$/, 'give key=value, e.g. nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3'] }),
  command: opt.text('--command <cmd>', 'the container command that runs isobench', { default: 'isobench' }),
} satisfies OptionTable;
const SLURM_OPTIONS = {
  ...COMMON_OPTIONS,
  isobench: opt.text('--isobench <cmd>', 'how the cluster runs isobench', { default: 'isobench' }),
  partition: opt.text('--partition <name>', 'Slurm partition', { pattern: [/^[\w.-]+$/, 'a partition name'] }),
  time: opt.text('--time <limit>', 'time limit of each array task', { default: '24:00:00', pattern: [/^(\d+-)?\d{1,2}(:\d{2}){0,2}$/, 'a Slurm time limit such as 24:00:00 or 2-00:00:00'] }),
  cpusPerTask: opt.posInt('--cpus-per-task <n>', 'CPUs of each array task', { default: 8 }),
  storeFile: opt.text('--store-file <path>', 'file with the postgres:// URL (default $HOME/.isobench/store-url, or $ISOBENCH_STORE_FILE at submit)'),
  out: opt.text('--out <dir>', 'write one <name>-<gpus>.sbatch per GPU group here (needed when the catalog has several)'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { 'deploy k8s': K8S_OPTIONS, 'deploy slurm': SLURM_OPTIONS };

async function catalogOf(file: string) {
  if (!existsSync(file)) throw usageError('--tasks', `${file} does not exist`, 'give the path of a task catalog (JSON or YAML; see docs/tasks.md)');
  const { loadCatalog } = await import('../task/index.js');
  const tasks = await loadCatalog(file);
  if (tasks.length === 0) throw usageError('--tasks', `${file} holds no task`);
  return tasks;
}

/** The options both launchers share, as the queue's LaunchInput. */
function launchInput(tasks: LaunchInput['tasks'], opts: OptionsOf<typeof COMMON_OPTIONS>): LaunchInput {
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
  const k8s = deploy.command('k8s').description('Indexed Jobs (YAML on stdout) whose pods run workers; the store URL comes from a Secret');
  addOptionsAction(k8s, K8S_OPTIONS, async (opts) => {
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
  const slurm = deploy.command('slurm').description('Slurm array scripts (one per GPU group) whose array tasks run workers; the store URL comes from a file only you can read');
  addOptionsAction(slurm, SLURM_OPTIONS, async (opts) => {
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
