import { gpuCount, v5BenchmarkMode, type V5Mode } from '../core/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { expandSweep, parsePerfCommand, refusedServingFlags, type PerfCommand, type PerfMode } from '../vllm/index.js';
import type { Task } from './schema.js';

/** What kind of problem a task has. */
export type ContradictionKind =
  | 'no_perf_command'
  | 'command_unparsable'
  | 'unknown_script'
  | 'invalid_value'
  | 'mode_label'
  | 'model_mismatch'
  | 'short_hash'
  | 'gpu_count'
  | 'unknown_flag'
  | 'unsupported_flag';

export interface Contradiction {
  kind: ContradictionKind;
  /** `error`: the task cannot run as written; `warning`: it runs, the source disagrees with itself. */
  severity: 'error' | 'warning';
  message: string;
}

/** A task normalized and checked. */
export interface TaskCheck {
  id: string;
  /** `invalid` when any contradiction is an error. */
  status: 'ok' | 'warning' | 'invalid';
  task: Task;
  command: PerfCommand | undefined;
  mode: PerfMode;
  /** The v5 dataset's mode column for this task. */
  v5Mode: V5Mode | null;
  contradictions: Contradiction[];
}

/** Labels a source may use for a mode, mapped to the modes they allow. */
const LABEL_MODES: Record<string, readonly PerfMode[]> = {
  serving: ['serving'],
  standalone: ['latency', 'throughput'],
  latency: ['latency'],
  throughput: ['throughput'],
  prefix_caching: ['prefix_caching'],
};

/** Parses the task's command and lists every contradiction between the command and the task's other fields. */
export function checkTask(task: Task): TaskCheck {
  const id = task.commit_short ?? task.commit.slice(0, 8);
  const found: Contradiction[] = [];
  const add = (kind: ContradictionKind, severity: 'error' | 'warning', message: string) => found.push({ kind, severity, message });
  if (task.commit_short !== undefined && !task.commit.startsWith(task.commit_short)) {
    add('short_hash', 'error', `short hash ${task.commit_short} does not prefix commit ${task.commit}`);
  }
  // A sweep (vllm bench sweep serve, several load values) is checked point by point, each point's serving command.
  const sweep = task.perf_command === undefined ? null : expandSweep(task.perf_command, (p) => (existsSync(p) ? { text: readFileSync(p, 'utf8'), file: p } : { looked: [p] }));
  let command = task.perf_command === undefined ? undefined : parsePerfCommand(task.perf_command);
  if (sweep?.status === 'refused') {
    if (sweep.code === 'dataset_missing') add('unsupported_flag', 'warning', `${sweep.reason} (run looks for it in --dataset-dir)`);
    else add(sweep.code === 'unsupported_mode' ? 'unknown_script' : 'unsupported_flag', 'error', `the perf command asks for a sweep isobench cannot run as asked: ${sweep.reason}`);
  } else if (sweep?.status === 'sweep') {
    sweep.points.forEach((point, i) => {
      const parsed = parsePerfCommand(point.bench);
      if (i === 0) command = parsed;
      const tag: Add = (kind, severity, message) => add(kind, severity, `sweep point ${i + 1} (${point.label}): ${message}`);
      if (parsed.status === 'error') tag('command_unparsable', 'error', `cannot be parsed: ${parsed.message}`);
      else checkCommand(task, parsed, tag);
    });
  } else if (command === undefined) add('no_perf_command', 'error', 'no perf_command: nothing to benchmark');
  else if (command.status === 'error') add('command_unparsable', 'error', `perf_command cannot be parsed: ${command.message}`);
  else checkCommand(task, command, add);
  const mode = command?.status === 'ok' ? command.mode : 'unknown';
  const status = found.some((c) => c.severity === 'error') ? 'invalid' : found.length > 0 ? 'warning' : 'ok';
  return { id, status, task, command, mode, v5Mode: v5BenchmarkMode(mode), contradictions: found };
}

type Add = (kind: ContradictionKind, severity: 'error' | 'warning', message: string) => void;

function checkCommand(task: Task, cmd: Extract<PerfCommand, { status: 'ok' }>, add: Add): void {
  if (cmd.mode === 'unknown') add('unknown_script', 'error', `unsupported benchmark: ${cmd.modeReason}`);
  for (const problem of cmd.invalid) add('invalid_value', 'error', problem);
  // A serving command's client flags are the contract: one isobench cannot send as the script would refuses the task.
  const refused = refusedServingFlags(cmd);
  for (const problem of refused) add('unsupported_flag', 'error', `${problem} (the task is refused at run time)`);
  for (const flag of cmd.unknownArgs.filter((a) => a.startsWith('-'))) {
    if (cmd.mode !== 'unknown' && refused.length === 0) add('unknown_flag', 'warning', `${flag} is not a flag of ${cmd.script}: kept aside, not passed on`);
  }
  const label = task.benchmark_mode;
  if (label !== undefined && cmd.mode !== 'unknown') {
    const allowed = LABEL_MODES[label];
    if (allowed === undefined) add('mode_label', 'warning', `benchmark_mode "${label}" is not a known mode label`);
    else if (!allowed.includes(cmd.mode)) add('mode_label', 'warning', `benchmark_mode says "${label}" but the command runs ${cmd.script} (${cmd.mode})`);
  }
  if (cmd.model !== undefined && task.models.length > 0 && !task.models.includes(cmd.model)) {
    add('model_mismatch', 'warning', `models says ${task.models.join(', ')} but the command's --model is ${cmd.model}`);
  }
  const gpus = gpuCount(task.gpu_config);
  if (gpus !== undefined && gpus < cmd.server.gpus) {
    add('gpu_count', 'error', `gpu_config ${task.gpu_config ?? ''} has ${gpus} GPU(s) but the command needs ${cmd.server.gpus} (tensor × pipeline × data parallel)`);
  }
}
