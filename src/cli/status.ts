import type { Command } from '@commander-js/extra-typings';
import { errorMessage, redactSecrets } from '../core/index.js';
import type { FleetStatus } from '../queue/index.js';
import type { IntegrityReport, StoreStatus } from '../store/index.js';
import { addOptionsAction, opt, type OptionTable } from './options.js';
import { failureText, seconds, short } from './reporters/format.js';
import { writeResult } from './output.js';

const STATUS_OPTIONS = {
  store: opt.text('--store <location>', 'SQLite file or postgres:// URL (default isobench.sqlite in the working directory)'),
  json: opt.bool('--json', 'print the status as JSON'),
  failures: opt.nonNegInt('--failures <n>', 'how many recent failures to show', { default: 10 }),
  check: opt.bool('--check', 'also read and decode the whole store (SQLite integrity_check, every record, samples blob and log) and say what is damaged; exit 1 if anything is'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { status: STATUS_OPTIONS };

/** `isobench status`: what a store holds: runs, trials per task and variant, the latest failures. */
export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description('Show the runs, trial counts per task and variant, and the most recent failures in a store');
  addOptionsAction(cmd, STATUS_OPTIONS, async (opts) => {
    const { openStore, readStoreStatus } = await import('../store/index.js');
    // create: false — looking at a store must never leave an empty one behind.
    const store = await openStore(opts.store, { create: false });
    try {
      // The check first: a store too damaged for the summary still gets its damage listed.
      const check = opts.check ? await store.checkIntegrity() : undefined;
      const reading = readStoreStatus(store, opts.failures);
      const status = check === undefined ? await reading : await reading.catch((err: unknown) => ({ error: errorMessage(err) }));
      if ('error' in status) {
        const head = `store   ${store.location} (${store.kind})\nstatus  cannot be read: ${status.error}\n`;
        writeResult(opts.json, { store: { kind: store.kind, location: store.location }, statusError: status.error, check }, () => head + (check === undefined ? '' : formatCheck(check)));
      } else {
        // The fleet of `run --queue` lives beside a PostgreSQL store; the queue code loads only then.
        const fleet = store.kind === 'postgres' && opts.store !== undefined ? await (await import('../queue/index.js')).readFleet(opts.store, store) : null;
        const verdicts = await readVerdicts(store, status.totals.trials);
        const shown = { ...status, verdicts, ...(fleet === null ? {} : { fleet }), ...(check === undefined ? {} : { check }) };
        writeResult(opts.json, shown, () => formatStatus(status) + formatVerdicts(verdicts) + (fleet === null ? '' : formatFleet(fleet)) + (check === undefined ? '' : formatCheck(check)));
      }
      if (check !== undefined && !check.ok) process.exitCode = 1;
    } finally {
      await store.close();
    }
  });
}

/** Above this many trials `status` leaves the verdicts to `dataset build` / `report` (they read every trial). */
const VERDICT_TRIALS_MAX = 50_000;

/** One comparison of a dataset row as `status` shows it. */
interface StatusVerdict {
  taskCommit: string;
  agent: string | null;
  metric: string | null;
  comparisons: { comparison: string; improvementPct: number | null; ciLow: number | null; ciHigh: number | null; n: number | null; verdict: string | null }[];
}

/**
 * The verdicts of the store's rows, from `dataset build`'s rows (one estimator everywhere: the paired geometric mean
 * of per-round ratios with its Student t interval); null above VERDICT_TRIALS_MAX trials.
 */
async function readVerdicts(store: import('../store/index.js').Store, trials: number): Promise<StatusVerdict[] | null> {
  if (trials === 0 || trials > VERDICT_TRIALS_MAX) return trials === 0 ? [] : null;
  const { buildDatasetRows, numberCell, V5_COMPARISONS } = await import('../dataset/index.js');
  const rows = await buildDatasetRows(store, { includeRaw: false });
  return rows.map((r) => ({
    taskCommit: String(r.commit_hash ?? ''),
    agent: typeof r.agent_name === 'string' ? r.agent_name : null,
    metric: typeof r.primary_metric === 'string' ? r.primary_metric : null,
    comparisons: V5_COMPARISONS.map((c) => ({
      comparison: c.prefix,
      improvementPct: numberCell(r, `${c.prefix}_primary`),
      ciLow: numberCell(r, `${c.prefix}_primary_ci_low`),
      ciHigh: numberCell(r, `${c.prefix}_primary_ci_high`),
      n: numberCell(r, `${c.prefix}_primary_n`),
      verdict: typeof r[`${c.prefix}_verdict`] === 'string' ? (r[`${c.prefix}_verdict`] as string) : null,
    })),
  }));
}

function verdictText(c: StatusVerdict['comparisons'][number]): string {
  if (c.verdict === null || c.improvementPct === null) return '-';
  if (c.ciLow === null || c.ciHigh === null) return `n=${c.n ?? 1}: no verdict`;
  const sg = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  return `${sg(c.improvementPct)}% [${sg(c.ciLow)}, ${sg(c.ciHigh)}] ${c.verdict} n=${c.n ?? '?'}`;
}

/** The verdicts section: per row (task, agent), human and agent vs baseline and agent vs human on the primary metric. */
export function formatVerdicts(v: StatusVerdict[] | null): string {
  if (v === null) return `\nverdicts: more than ${VERDICT_TRIALS_MAX} trials, see \`isobench report\`\n`;
  if (v.length === 0) return '';
  const out = ['', 'verdicts (paired geometric mean of per-round ratios, Student t 95% CI, tie band ±2%, positive = better)'];
  out.push(
    ...columns([
      ['task', 'agent', 'metric', 'human vs baseline', 'agent vs baseline', 'agent vs human'],
      ...v.map((r) => [short(r.taskCommit), r.agent ?? '-', r.metric ?? '-', ...r.comparisons.map(verdictText)]),
    ]),
  );
  return `${out.join('\n')}\n`;
}

/** The status as aligned plain text. */
export function formatStatus(s: StoreStatus): string {
  const out = [`store   ${s.store.location} (${s.store.kind})`, `trials  ${s.totals.trials}: ${s.totals.ok} ok, ${s.totals.failed} failed`];
  out.push('', `runs (${s.runs.length})`);
  out.push(
    ...columns([
      ['id', 'engine', 'status', 'started', 'finished'],
      ...s.runs.map((r) => [r.id, r.engine, r.status, r.startedAt, r.finishedAt ?? '-']),
    ]),
  );
  if (s.variants.length > 0) {
    out.push('', 'trials per task and variant');
    // Build time is the variant's build from source, apart from measuring (never in its metrics).
    const built = s.variants.some((v) => v.build !== null);
    const buildCell = (b: StoreStatus['variants'][number]['build']) => (b === null ? '-' : `${b.seconds.toFixed(1)} s${b.cached ? ' (cached)' : ''}`);
    out.push(
      ...columns([
        ['task', 'variant', 'ok', 'failed', ...(built ? ['build'] : [])],
        ...s.variants.map((v) => [short(v.taskCommit), variantLabel(v), String(v.ok), String(v.failed), ...(built ? [buildCell(v.build)] : [])]),
      ]),
    );
  }
  if (s.recentFailures.length > 0) {
    out.push('', `recent failures (${s.recentFailures.length})`);
    out.push(
      ...columns([
        ['finished', 'task', 'variant', 'trial', 'failure'],
        ...s.recentFailures.map((f) => [f.finishedAt, short(f.taskCommit), variantLabel(f), `#${f.trialIndex}`, evidence(f.failure)]),
      ]),
    );
  }
  if (s.deviations.length > 0) {
    out.push('', `deviations from the perf command (${s.deviations.length})`);
    out.push(...columns([['task', 'trials', 'deviation'], ...s.deviations.map((d) => [short(d.taskCommit), String(d.trials), d.deviation])]));
  }
  if (s.stops.length > 0) {
    out.push('', `--trials auto stops (${s.stops.length}; rounds = trials per variant, GPU-seconds vs --max-trials at the same rate)`);
    out.push(
      ...columns([
        ['task', 'config', 'reason', 'rounds', 'looks', 'alpha spent', 'GPU-s used/at max', 'run'],
        ...s.stops.map((t) => [
          short(t.taskCommit),
          t.configKey,
          t.reason,
          `${t.rounds}/${t.maxRounds}`,
          String(t.looks),
          t.alphaSpent.toFixed(4),
          `${t.gpuSeconds.toFixed(0)}/${t.gpuSecondsAtMax.toFixed(0)} (${t.gpuSecondsAtMax > 0 ? ((1 - t.gpuSeconds / t.gpuSecondsAtMax) * 100).toFixed(0) : '0'}% saved)`,
          t.runId,
        ]),
      ]),
    );
  }
  return `${out.join('\n')}\n`;
}

/** The queue section: job counts, each worker and what it runs, each open run with its rate and ETA. */
export function formatFleet(f: FleetStatus): string {
  const out = ['', `queue   ${f.queue}: ${f.jobs.queued} queued, ${f.jobs.running} running, ${f.jobs.failed} failed (attempts used up; run --queue again to retry)`];
  out.push('', `workers (${f.workers.length})`);
  if (f.workers.length > 0) {
    out.push(
      ...columns([
        ['worker', 'state', 'heartbeat', 'gpus', 'task', 'trials', 'tasks done'],
        ...f.workers.map((w) => [
          w.id,
          w.state,
          `${w.heartbeatAgeS.toFixed(0)}s ago`,
          `${w.gpus || '-'}${w.gpuType ? ` ${w.gpuType}` : ''}`,
          w.taskCommit === null ? '-' : `${short(w.taskCommit)} (${w.runId ?? ''})`,
          w.taskCommit === null ? '-' : `${w.trialsDone}/${w.trialsTotal}`,
          String(w.jobsDone),
        ]),
      ]),
    );
  }
  if (f.runs.length > 0) {
    out.push('', 'queued runs (ETA: remaining trials ÷ the run\'s trials per minute since its first task started)');
    out.push(
      ...columns([
        ['run', 'tasks done/all', 'running', 'queued', 'failed', 'trials stored/to run', 'trials/min', 'ETA'],
        ...f.runs.map((r) => [
          r.runId,
          `${r.done}/${r.tasks}`,
          String(r.running),
          String(r.queued),
          String(r.failed),
          `${r.trialsStored}/${r.trialsToRun}`,
          r.trialsPerMinute === null ? '-' : r.trialsPerMinute.toFixed(1),
          r.etaS === null ? '-' : r.etaS === 0 ? 'done' : seconds(r.etaS),
        ]),
      ]),
    );
    for (const r of f.runs) if (r.lastError !== null && r.failed + r.queued > 0) out.push(`  ${r.runId}: last error: ${redactSecrets(r.lastError)}`);
  }
  return `${out.join('\n')}\n`;
}

function variantLabel(v: { variantId: string; taskCommit: string; kind: string | null; agent: string | null }): string {
  if (v.kind === 'agent' && v.agent !== null) return `agent ${v.agent}`;
  if (v.kind !== null) return v.kind;
  return v.variantId.startsWith(`${v.taskCommit}:`) ? v.variantId.slice(v.taskCommit.length + 1) : v.variantId;
}

function evidence(f: StoreStatus['recentFailures'][number]['failure']): string {
  const where = f.source === undefined ? '' : ` (${f.source}${f.line === undefined ? '' : ` line ${f.line}`})`;
  return `${failureText(f, 100)}${where}`;
}

/** The integrity check as text: `check ok: ...`, or `check DAMAGED: N problems` and one line per problem. */
export function formatCheck(c: IntegrityReport): string {
  const read = `${c.read.trials} trials, ${c.read.samples} samples, ${c.read.logs} logs read`;
  if (c.ok) return `\ncheck   ok: ${c.engine}; ${read}\n`;
  const n = c.problems.length + c.more;
  const out = [`\ncheck   DAMAGED: ${n} problem${n === 1 ? '' : 's'} (${c.engine}; ${read})`];
  for (const p of c.problems) out.push(`  ${p.part}: ${p.problem}`);
  if (c.more > 0) out.push(`  ... and ${c.more} more`);
  return `${out.join('\n')}\n`;
}

/** Rows of cells as lines with every column padded to its widest cell. */
function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`);
}
