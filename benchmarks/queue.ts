// Queue benchmark: trials per minute for 1, 2 and 4 `isobench worker` processes draining a `run --queue` catalog on
// the sim engine, against a local `isobench run` of the same catalog (the reference, same run, same machine), and
// the queue's overhead per job. Prints numbers; asserts nothing.
//   npm run bench:queue [-- --tasks 8 --workers 1,2,4] [--pg postgres://...]   (default: a throw-away cluster from
//   scripts/ci-services.sh, or $ISOBENCH_TEST_PG_URL)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '8' }, workers: { type: 'string', default: '1,2,4' }, pg: { type: 'string' } } });
const root = path.resolve(import.meta.dirname, '..');
const CLI = path.join(root, 'bin/isobench.js');
const dir = mkdtempSync(path.join(tmpdir(), 'isobench-bench-queue-'));
const TASKS = Number(values.tasks);
const COUNTS = (values.workers ?? '1,2,4').split(',').map(Number);
const TINY =
  'python benchmarks/benchmark_serving.py --model sim/tiny --dataset-name random --random-input-len 32 --random-output-len 4 --num-prompts 4 --max-concurrency 2 --seed 1';
const RUN_ARGS = ['--variants', 'baseline,human', '--trials', '2', '--warmups', '1', '--oom-fallback-max-model-len', '0', '--order-seed', '1'];

function pgUrl(): { url: string; stop: () => void } {
  const given = values.pg ?? process.env.ISOBENCH_TEST_PG_URL;
  if (given) return { url: given, stop: () => undefined };
  const env = { ...process.env, ISOBENCH_SERVICES_DIR: path.join(dir, 'services') };
  const out = execFileSync('bash', [path.join(root, 'scripts/ci-services.sh'), 'start', 'pg'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const url = /ISOBENCH_TEST_PG_URL=(\S+)/.exec(out)?.[1];
  if (!url) throw new Error(`ci-services.sh start pg printed no URL: ${out}`);
  return { url, stop: () => execFileSync('bash', [path.join(root, 'scripts/ci-services.sh'), 'stop', 'pg'], { env, stdio: 'ignore' }) };
}

/** A URL of a new empty schema (the store and its queue live there). */
async function freshSchema(base: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`drop schema if exists ${name} cascade; drop schema if exists ${name}_queue cascade; create schema ${name}`);
  await c.end();
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${name}`);
  return u.toString();
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Stamped {
  at: number;
  e: Record<string, unknown>;
}

/** Starts a worker; its JSON lines with the time they arrived. */
function worker(url: string): { lines: Stamped[]; exited: Promise<number | null> } {
  const p = spawn(process.execPath, [CLI, 'worker', '--store', url, '--gpus', '0', '--heartbeat', '1', '--idle-exit', '3', '--json-events'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
  const lines: Stamped[] = [];
  createInterface({ input: p.stdout }).on('line', (l) => {
    try {
      lines.push({ at: performance.now(), e: JSON.parse(l) as Record<string, unknown> });
    } catch {
      /* not an event */
    }
  });
  return { lines, exited: new Promise((resolve) => p.on('exit', resolve)) };
}

async function runFinished(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query<{ status: string }>('select status from runs');
  await c.end();
  return r.rows.length > 0 && r.rows.every((x) => x.status !== 'running');
}

/**
 * Per job on a worker: the time between the end of one of its jobs and the end of the next, less the runner's own
 * time for the job (run_end.durationS): fetching the job, the ledger and heartbeat rows, the engine, completing it.
 */
function overheadsMs(lines: Stamped[]): number[] {
  const out: number[] = [];
  let lastEnd: number | null = null;
  let runnerS = 0;
  for (const { at, e } of lines) {
    if (e.type === 'run_end') runnerS = Number(e.durationS);
    if (e.type === 'worker_job_end') {
      if (lastEnd !== null) out.push(at - lastEnd - runnerS * 1000);
      lastEnd = at;
    }
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const catalog = path.join(dir, 'tasks.json');
writeFileSync(
  catalog,
  JSON.stringify({ version: 1, tasks: Array.from({ length: TASKS }, (_, i) => ({ commit: (i + 1).toString(16).repeat(40).slice(0, 40), parent: 'e'.repeat(40), subject: `bench ${i + 1}`, perf_command: TINY })) }),
);
const trials = TASKS * 4;
const { url: base, stop } = pgUrl();
const rows: string[][] = [];
try {
  process.stdout.write(`queue benchmark: ${TASKS} sim tasks x 2 variants x 2 trials = ${trials} trials; ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  const localUrl = await freshSchema(base, 'bench_local');
  const t0 = performance.now();
  const local = await cli(['run', '--tasks', catalog, '--store', localUrl, '--json-events', ...RUN_ARGS]);
  if (local.code !== 0) throw new Error(`local run failed: ${local.stderr}`);
  const localMin = (performance.now() - t0) / 60_000;
  const reference = trials / localMin;
  rows.push(['local `isobench run` (reference)', '-', (localMin * 60).toFixed(1), reference.toFixed(1), '1.00', '-']);
  let single: number | null = null;
  for (const n of COUNTS) {
    const url = await freshSchema(base, `bench_w${n}`);
    const queued = await cli(['run', '--tasks', catalog, '--store', url, '--queue', '--json-events', ...RUN_ARGS]);
    if (queued.code !== 0) throw new Error(`run --queue failed: ${queued.stderr}`);
    const start = performance.now();
    const workers = Array.from({ length: n }, () => worker(url));
    let end = 0;
    while (!(await runFinished(url))) await new Promise((r) => setTimeout(r, 100));
    end = performance.now();
    await Promise.all(workers.map((w) => w.exited));
    const minutes = (end - start) / 60_000;
    const rate = trials / minutes;
    single ??= n === 1 ? rate : null;
    const over = workers.flatMap((w) => overheadsMs(w.lines));
    rows.push([
      `${n} worker(s)`,
      String(workers.map((w) => w.lines.filter((l) => l.e.type === 'worker_job_end').length).join('+')),
      (minutes * 60).toFixed(1),
      rate.toFixed(1),
      (rate / reference).toFixed(2),
      over.length === 0 ? '-' : `${median(over).toFixed(0)} (${over.length} jobs, max ${Math.max(...over).toFixed(0)})`,
    ]);
    if (single !== null && n > 1) rows[rows.length - 1]!.push(`${(rate / (n * single)).toFixed(2)} x N x single`);
  }
  const widths = [34, 12, 8, 12, 14, 30];
  const head = ['', 'jobs/worker', 'wall s', 'trials/min', 'vs reference', 'queue overhead/job ms (median)', 'scaling'];
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
  process.stdout.write(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  process.stdout.write(
    'wall: from the workers\' start (after `run --queue`) to the run record finished; workers start in parallel with tsx, so start-up is included.\n' +
      'overhead/job: time between two job ends on one worker less the runner\'s own time for the second job (fetch, ledger, lease, engine, complete).\n',
  );
} finally {
  stop();
  rmSync(dir, { recursive: true, force: true });
}
