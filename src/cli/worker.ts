import { execFileSync } from 'node:child_process';
import type { Command } from '@commander-js/extra-typings';
import { IsobenchError, usageError } from '../core/index.js';
import { addOptionsAction, opt, type OptionTable, type OptionsOf } from './options.js';
import { createReporter } from './reporters/index.js';
import { ENGINES, resolveEngineConfig } from './run.js';

/** Every option of `isobench worker`. */
const WORKER_OPTIONS = {
  store: opt.text('--store <postgres://...>', 'the PostgreSQL store whose queue to serve (default: $ISOBENCH_STORE)'),
  engine: opt.choice('--engine <kind>', 'engine that runs the variants (as the run was planned with)', ENGINES, { default: 'sim' }),
  engineConfig: opt.text('--engine-config <file>', 'engine settings (the same as the run: only jobs planned with them are taken)'),
  gpus: opt.list('--gpus <ids>', 'GPU ids this worker owns, comma-separated (default: $CUDA_VISIBLE_DEVICES, else nvidia-smi; sim: unchecked)', { pattern: /^[A-Za-z0-9:-]+$/, problem: 'give GPU ids as CUDA_VISIBLE_DEVICES does, comma-separated (0,1 or GPU-uuid,...)' }),
  gpuType: opt.text('--gpu-type <model>', 'GPU model, matched against gpu_config such as H100:2 (default: from nvidia-smi)', { pattern: [/^[A-Za-z][A-Za-z0-9-]*$/, 'give a GPU model such as H100 or A100'] }),
  heartbeat: opt.num('--heartbeat <s>', 'seconds between heartbeats', { gt: 0, default: 10 }),
  lease: opt.num('--lease <s>', 'seconds without a heartbeat after which this worker counts as lost and its task is retried (default: 3 heartbeats)', { gt: 0 }),
  grace: opt.nonNegInt('--grace <s>', 'seconds the trial in flight may take to finish after SIGTERM before it is cancelled', { default: 60 }),
  idleExit: opt.nonNegInt('--idle-exit <s>', 'exit once no job has come for this many seconds (launchers: the job ends when the queue is drained)'),
  jsonEvents: opt.bool('--json-events', 'print progress and worker events as one JSON object per line on stdout'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { worker: WORKER_OPTIONS };

/** The GPUs of this host from `nvidia-smi`: ids and the model of the first; null when there is no nvidia-smi. */
function detectHostGpus(): { ids: string[]; name: string | null } | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,name', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const rows = out.split('\n').map((l) => l.split(',').map((c) => c.trim())).filter((r) => r[0] !== undefined && r[0] !== '');
    return { ids: rows.map((r) => r[0] ?? ''), name: rows[0]?.[1] ?? null };
  } catch {
    return null;
  }
}

async function workerCommand(opts: OptionsOf<typeof WORKER_OPTIONS>): Promise<void> {
  // The URL usually comes from a secret in the environment (Kubernetes, Slurm), so it never shows in `ps` or logs.
  const url = opts.store ?? process.env.ISOBENCH_STORE;
  if (url === undefined) throw usageError('--store', 'is required: the postgres:// URL of the store', 'give --store or set ISOBENCH_STORE');
  if (!/^postgres(ql)?:\/\//i.test(url)) throw usageError('--store', 'must be a postgres:// URL: the job queue lives in PostgreSQL');
  const leaseS = opts.lease ?? opts.heartbeat * 3;
  if (leaseS <= opts.heartbeat) throw usageError('--lease', `must be longer than --heartbeat (${opts.heartbeat} s)`, 'give at least twice the heartbeat, so one late beat does not lose the lease');
  const { gpuTypeOfName, runWorker } = await import('../queue/index.js');
  const host = opts.gpus === undefined || opts.gpuType === undefined ? detectHostGpus() : null;
  const visible = process.env.CUDA_VISIBLE_DEVICES?.split(',').filter(Boolean);
  const gpus = opts.gpus ?? (visible && visible.length > 0 ? visible : undefined) ?? host?.ids ?? null;
  if (gpus === null && opts.engine !== 'sim') throw usageError('--gpus', 'is required: nvidia-smi found no GPU on this host', 'give the GPU ids this worker owns, e.g. --gpus 0,1');
  const gpuType = opts.gpuType?.toUpperCase() ?? (host?.name ? gpuTypeOfName(host.name) : null);
  const engine = await resolveEngineConfig(opts.engine, opts.engineConfig, 'worker');
  if (gpus !== null) process.env.CUDA_VISIBLE_DEVICES = gpus.join(',');
  const stop = new AbortController();
  const kill = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) kill.abort(new IsobenchError('E_CANCELLED', `cancelled by a second ${sig}`));
    else stop.abort(new IsobenchError('E_CANCELLED', `stopping on ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A worker's log is a sequence of tasks: plain lines, never the live tree.
  const reporter = createReporter({ jsonEvents: opts.jsonEvents, live: false });
  const line = (l: { type: string }) => {
    if (opts.jsonEvents) process.stdout.write(`${JSON.stringify(l)}\n`);
    else process.stderr.write(`${describe(l as Parameters<typeof describe>[0])}\n`);
  };
  try {
    const result = await runWorker({
      url,
      engine: engine.config,
      engineKey: engine.key,
      gpus: opts.engine === 'sim' && opts.gpus === undefined ? null : gpus,
      gpuType,
      heartbeatS: opts.heartbeat,
      leaseS,
      graceS: opts.grace,
      idleExitS: opts.idleExit ?? null,
      stop: stop.signal,
      kill: kill.signal,
      onEvent: (e) => reporter.onEvent(e),
      onLog: line,
    });
    process.exitCode = result.reason === 'lost' ? 1 : 0;
  } finally {
    reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function describe(l: import('../queue/index.js').WorkerLogLine): string {
  switch (l.type) {
    case 'worker_start':
      return `worker ${l.workerId}: GPUs ${l.gpus}${l.gpuType ? ` (${l.gpuType})` : ''}, queue ${l.queue}`;
    case 'worker_job':
      return `worker ${l.workerId}: task ${l.taskCommit.slice(0, 12)} of ${l.runId} (attempt ${l.attempt})`;
    case 'worker_job_end':
      return `worker ${l.workerId}: task ${l.taskCommit.slice(0, 12)} ${l.result.replace('_', ' ')}${l.detail ? `: ${l.detail}` : ''}`;
    case 'worker_swept':
      return `worker ${l.workerId}: lease expired for ${l.lost.join(', ')}; their tasks go back to the queue`;
    case 'worker_other_settings':
      return `worker ${l.workerId}: ${l.jobs} queued job(s) were planned with other engine settings (${l.keys.join(', ')}; this worker's: ${l.engineKey}) and are not for it: give the workers the run's --engine-config, with the same paths`;
    case 'worker_queue_log':
      return `worker ${l.workerId}: ${l.message}`;
    case 'worker_stop':
      return `worker ${l.workerId}: stopped (${l.reason}), ${l.jobsDone} task(s) done`;
  }
}

/** `isobench worker`: takes queued tasks whose GPU needs this host meets and runs them like a local run. */
export function register(program: Command): void {
  const cmd = program
    .command('worker')
    .description('Run tasks queued by `run --queue` on this host: GPU needs matched, heartbeats, SIGTERM hands the task back');
  addOptionsAction(cmd, WORKER_OPTIONS, workerCommand);
}
