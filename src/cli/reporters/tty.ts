import pc from 'picocolors';
import type { RunEvent, TrialPhase, VariantInfo } from '../../run/index.js';
import { failureText, outcomeText, seconds, short } from './format.js';
import type { Reporter } from './types.js';

/** The live view redraws at most this often. */
const REDRAW_MS = 100;

interface VariantView {
  info: VariantInfo;
  status: string;
  phase: { name: TrialPhase; trialIndex: number; since: number } | null;
  requests: { done: number; total: number; failed: number } | null;
  results: string[];
}

interface TaskView {
  /** The workload's hash and tokenizer, once built. */
  workload?: string;
  commit: string;
  title: string;
  variants: Map<string, VariantView>;
  done: boolean;
}

function bar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/**
 * A live task tree on a TTY: task → variant → trial phase with elapsed time and a request bar while measuring.
 * Finished tasks are printed once above the live area, which is redrawn in place when a trial phase begins and
 * otherwise at most every 100 ms.
 */
export function ttyReporter(out: NodeJS.WriteStream = process.stderr): Reporter {
  const tasks: TaskView[] = [];
  let header = '';
  let drawnLines = 0;
  let lastDraw = 0;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const current = () => tasks.find((t) => !t.done) ?? null;
  // The newest entry of a commit: a sweep's points are entries of one commit, one after the other.
  const taskOf = (commit: string) => [...tasks].reverse().find((t) => t.commit === commit);
  const variant = (commit: string, id: string) => taskOf(commit)?.variants.get(id);

  function taskLines(t: TaskView, live: boolean): string[] {
    const lines = [`${t.done ? pc.green('✔') : pc.cyan('▸')} ${t.title}`, ...(t.workload ? [`   ${pc.dim(t.workload)}`] : [])];
    for (const v of t.variants.values()) {
      let detail = v.status;
      if (live && v.phase) {
        const el = seconds((performance.now() - v.phase.since) / 1000);
        detail = `trial ${v.phase.trialIndex}: ${v.phase.name} ${el}`;
        if (v.phase.name === 'measure' && v.requests) detail += ` ${bar(v.requests.done, v.requests.total)}${v.requests.failed ? pc.red(` ${v.requests.failed} failed`) : ''}`;
      }
      lines.push(`   ${pc.bold(v.info.label.padEnd(12))} ${detail}`);
      for (const r of v.results) lines.push(`      ${r}`);
    }
    return lines;
  }

  function clear() {
    if (drawnLines > 0) out.write(`\x1b[${drawnLines}A\x1b[0J`);
    drawnLines = 0;
  }

  function draw() {
    timer = null;
    lastDraw = performance.now();
    clear();
    const t = current();
    const lines = [header, ...(t ? taskLines(t, true) : [])].filter((l) => l !== '');
    const width = out.columns || 120;
    out.write(lines.map((l) => (l.length > width ? l.slice(0, width - 1) : l)).join('\n') + '\n');
    drawnLines = lines.length;
  }

  function schedule() {
    if (timer || closed) return;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - lastDraw));
    timer = setTimeout(draw, wait);
  }

  const ticker = setInterval(schedule, 500);
  ticker.unref();

  return {
    onEvent(e: RunEvent) {
      switch (e.type) {
        case 'run_start':
          header = pc.dim(`run ${e.runId} · ${e.trialsToRun} trial(s) to run, ${e.resumed} stored · ${e.engine} · ${e.store}`);
          break;
        case 'task_start':
          tasks.push({
            commit: e.taskCommit,
            title: `${pc.bold(short(e.taskCommit))} ${e.subject ?? ''} ${pc.dim(`[${e.mode ?? 'no mode'}]`)}${e.sweepPoint === undefined ? '' : ` ${pc.cyan(e.sweepPoint)}`}`,
            variants: new Map(e.variants.map((v) => [v.id, { info: v, status: pc.dim('waiting'), phase: null, requests: null, results: [] }])),
            done: false,
          });
          break;
        case 'task_invalid': {
          const t = taskOf(e.taskCommit);
          if (t) for (const v of t.variants.values()) v.status = pc.red(`${e.code}: ${e.evidence}`);
          break;
        }
        case 'variant_prepare': {
          const v = variant(e.taskCommit, e.variantId);
          if (v) v.status = e.status === 'start' ? 'preparing' : e.status === 'ready' ? pc.dim(e.environment ?? 'ready') : pc.red(e.failure ? failureText(e.failure) : 'failed');
          break;
        }
        case 'variant_build': {
          const v = variant(e.taskCommit, e.variantId);
          if (v) v.status = `building: ${pc.dim(e.line.slice(0, 100))}`;
          break;
        }
        case 'oom_precheck': {
          const v = variant(e.taskCommit, e.variantId);
          if (v && e.result === 'oom') v.status = pc.yellow(`out of memory at start → --max-model-len ${e.fallbackMaxModelLen ?? ''} for every variant`);
          break;
        }
        case 'trial_phase': {
          const v = variant(e.taskCommit, e.variantId);
          if (v) {
            v.phase = { name: e.phase, trialIndex: e.trialIndex, since: performance.now() - e.elapsedS * 1000 };
            if (e.phase !== 'measure') v.requests = null;
          }
          // A phase is drawn as it begins, not only when the 100 ms throttle next allows: a short phase (a probe
          // or a measurement of a few requests) would otherwise never be seen.
          if (!closed) {
            if (timer) clearTimeout(timer);
            draw();
          }
          return;
        }
        case 'workload': {
          const t = taskOf(e.taskCommit);
          if (t) t.workload = `workload ${e.hash.slice(0, 12)}, tokenizer ${e.tokenizer}`;
          break;
        }
        case 'trial_requests': {
          const v = variant(e.taskCommit, e.variantId);
          if (v) v.requests = { done: e.done, total: e.total, failed: e.failed };
          break;
        }
        case 'trial_end': {
          const v = variant(e.taskCommit, e.variantId);
          if (v) {
            v.phase = null;
            v.requests = null;
            const text = outcomeText(e.outcome);
            v.results.push(`#${e.outcome.trialIndex} ${e.outcome.status === 'ok' ? pc.green(text) : pc.red(text)}`);
          }
          break;
        }
        case 'task_stop':
          break;
        case 'task_end': {
          const t = taskOf(e.taskCommit);
          if (t) {
            clear();
            t.done = true;
            out.write(taskLines(t, false).join('\n') + '\n');
          }
          break;
        }
        case 'run_end':
          header = '';
          break;
      }
      schedule();
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      if (timer) clearTimeout(timer);
      timer = null;
      clear();
      const t = current();
      if (t) out.write(taskLines(t, false).join('\n') + '\n');
    },
  };
}
