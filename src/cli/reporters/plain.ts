import type { RunEvent, VariantInfo } from '../../run/index.js';
import { failureText, outcomeText, seconds, short } from './format.js';
import type { Reporter } from './types.js';

/** Plain lines for logs and CI (no TTY): one line per task, preparation, trial start and trial result. */
export function plainReporter(out: NodeJS.WritableStream = process.stderr): Reporter {
  const labels = new Map<string, string>();
  const started = new Set<string>();
  const building = new Set<string>();
  const line = (text: string) => out.write(`${text}\n`);
  const label = (id: string) => labels.get(id) ?? id;
  const remember = (variants: VariantInfo[]) => {
    for (const v of variants) labels.set(v.id, v.label);
  };
  return {
    onEvent(e: RunEvent) {
      switch (e.type) {
        case 'run_start':
          line(`run ${e.runId}: ${e.tasks} task(s), ${e.trialsToRun} trial(s) to run, ${e.resumed} already stored (engine ${e.engine}, store ${e.store})`);
          break;
        case 'task_start':
          remember(e.variants);
          line(`task ${short(e.taskCommit)} ${e.subject ?? ''} [${e.mode ?? 'no mode'}]${e.sweepPoint === undefined ? '' : ` ${e.sweepPoint}`} variants: ${e.variants.map((v) => v.label).join(', ')}`);
          break;
        case 'task_invalid':
          line(`  task ${short(e.taskCommit)} cannot run: ${e.code}: ${e.evidence}`);
          break;
        case 'variant_prepare':
          if (e.status === 'ready') line(`  ${label(e.variantId)}: prepared (${e.environment ?? ''})`);
          if (e.status === 'failed' && e.failure) line(`  ${label(e.variantId)}: prepare failed ${failureText(e.failure)}`);
          break;
        case 'variant_build':
          // One line when a variant's build starts; its progress is the terminal reporter's and the JSON events'.
          if (!building.has(e.variantId)) line(`  ${label(e.variantId)}: building from source (${e.line})`);
          building.add(e.variantId);
          break;
        case 'oom_precheck':
          if (e.result === 'oom') line(`  ${label(e.variantId)}: out of memory at start; every variant runs with --max-model-len ${e.fallbackMaxModelLen ?? ''}`);
          break;
        case 'trial_phase':
          if (!started.has(e.trialKey)) line(`  ${label(e.variantId)} #${e.trialIndex}: ${e.phase}`);
          started.add(e.trialKey);
          break;
        case 'workload':
          line(`  workload ${e.hash.slice(0, 12)}: ${e.describe}`);
          break;
        case 'trial_requests':
          break;
        case 'trial_end':
          line(`  ${label(e.variantId)} #${e.outcome.trialIndex}: ${outcomeText(e.outcome)}`);
          break;
        case 'task_stop':
          line(`  task ${short(e.taskCommit)} stops after ${e.rounds} of ${e.maxRounds} rounds (${e.reason})`);
          break;
        case 'task_end':
          break;
        case 'run_end':
          line(`run ${e.runId} ${e.status} in ${seconds(e.durationS)}${e.buildS === undefined ? '' : ` (${seconds(e.buildS)} building from source)`}: ${e.ok} ok, ${e.failed} failed, ${e.skipped} already stored`);
          break;
      }
    },
    close() {},
  };
}
