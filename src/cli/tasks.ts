import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { IsobenchError, redactEnv, redactSecrets, v5BenchmarkMode } from '../core/index.js';
import type { CatalogRead, checkTask as checkTaskFn, TaskCheck, TaskEntry } from '../task/index.js';
import { parsePerfCommand } from '../vllm/index.js';
import { addOptions, opt, readOptions, type OptionTable } from './options.js';
import { formatPerfCommand } from './perf-command.js';
import { writeResult } from './output.js';


const CHECK_OPTIONS = { json: opt.bool('--json', 'print the result as JSON') } satisfies OptionTable;
const IMPORT_OPTIONS = {
  out: opt.text('--out <file>', 'the catalog to write: .json writes JSON, anything else YAML', { required: 'the catalog file to write (.yaml or .json)' }),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { 'tasks check': CHECK_OPTIONS, 'tasks import': IMPORT_OPTIONS };

/** One task's result in `tasks check`: checked, or rejected by the schema (with what its command says anyway). */
export type CheckedEntry =
  | { status: 'ok' | 'warning' | 'invalid'; id: string; notes: string[]; check: TaskCheck }
  | { status: 'invalid'; id: string; notes: string[]; errors: string[]; check: undefined; command: ReturnType<typeof parsePerfCommand> | undefined };

/** `isobench tasks check|import`. */
export function register(program: Command): void {
  const tasks = program.command('tasks').description('Read, check and convert task catalogs');
  const check = tasks
    .command('check')
    .description('Check every task of a catalog: normalized command (mode, server/client args, env, fixes) and every contradiction; exit 1 if a task is invalid')
    .argument('<file>', 'our catalog (.yaml/.json), or ISO-Bench benchmark_mode_mapping.json / matched_commits_for_benchmark.json');
  addOptions(check, CHECK_OPTIONS);
  check.action(async (file, raw) => {
    const opts = readOptions(CHECK_OPTIONS, raw);
    const { checkTask, readCatalog } = await import('../task/index.js');
    const read = await readCatalog(file);
    const checked = read.entries.map((e) => checkEntry(e, checkTask));
    writeResult(opts.json, checkJson(read, checked), () => formatCheck(read, checked));
    if (checked.some((c) => c.status === 'invalid')) process.exitCode = 1;
  });
  const imp = tasks
    .command('import')
    .description('Convert a catalog (ISO-Bench mapping formats or ours) into our catalog format; invalid tasks are listed and left out')
    .argument('<file>', 'ISO-Bench benchmark_mode_mapping.json / matched_commits_for_benchmark.json, or our catalog');
  addOptions(imp, IMPORT_OPTIONS);
  imp.action(async (file, raw) => {
    const opts = readOptions(IMPORT_OPTIONS, raw);
    const { readCatalog, writeCatalog } = await import('../task/index.js');
    const read = await readCatalog(file);
    const ok = read.entries.flatMap((e) => (e.status === 'ok' ? [e.task] : []));
    const bad = read.entries.filter((e) => e.status === 'invalid');
    if (ok.length === 0) throw new IsobenchError('E_TASK_INVALID', `${file}: no valid task to import (${bad.length} invalid)`);
    await writeCatalog(ok, opts.out);
    process.stdout.write(`${opts.out}: ${ok.length} task(s) from ${file} (${read.format})\n`);
    for (const e of bad) process.stdout.write(`${pc.yellow('skipped')} ${e.id}: ${e.errors.join('; ')}\n`);
  });
}

function checkEntry(entry: TaskEntry, checkTask: typeof checkTaskFn): CheckedEntry {
  if (entry.status === 'ok') {
    const check = checkTask(entry.task);
    return { status: check.status, id: entry.id, notes: entry.notes, check };
  }
  const cmd = typeof entry.input === 'object' && entry.input !== null ? (entry.input as Record<string, unknown>).perf_command : undefined;
  return { status: 'invalid', id: entry.id, notes: entry.notes, errors: entry.errors, check: undefined, command: typeof cmd === 'string' ? parsePerfCommand(cmd) : undefined };
}

function checkJson(read: CatalogRead, checked: readonly CheckedEntry[]) {
  return {
    file: read.path,
    format: read.format,
    summary: summarize(checked),
    tasks: checked.map((c) => {
      const cmd = c.check ? c.check.command : c.command;
      const parsed = cmd?.status === 'ok' ? cmd : undefined;
      return {
        id: c.id,
        status: c.status,
        ...(c.check ? {} : { errors: c.errors }),
        notes: c.notes,
        mode: parsed?.mode ?? 'unknown',
        v5_mode: v5BenchmarkMode(parsed?.mode ?? 'unknown'),
        label: c.check?.task.benchmark_mode ?? null,
        script: parsed?.script ?? null,
        model: parsed?.model ?? null,
        env: parsed ? redactEnv(parsed.env) : {},
        server_args: parsed?.serverArgs ?? [],
        client_args: parsed?.clientArgs ?? [],
        unknown_args: parsed?.unknownArgs ?? [],
        gpus: parsed?.server.gpus ?? null,
        fixes: parsed?.fixes ?? [],
        warnings: parsed?.warnings ?? [],
        invalid_values: parsed?.invalid ?? [],
        command_error: cmd?.status === 'error' ? cmd.message : null,
        contradictions: c.check?.contradictions ?? [],
      };
    }),
  };
}

function summarize(checked: readonly CheckedEntry[]) {
  const count = (pred: (c: CheckedEntry) => boolean) => checked.filter(pred).length;
  const modes: Record<string, number> = {};
  const contradictions: Record<string, number> = {};
  for (const c of checked) {
    const cmd = c.check ? c.check.command : c.command;
    const mode = cmd?.status === 'ok' ? cmd.mode : 'unknown';
    modes[mode] = (modes[mode] ?? 0) + 1;
    for (const k of c.check?.contradictions ?? []) contradictions[k.kind] = (contradictions[k.kind] ?? 0) + 1;
    if (!c.check) contradictions.schema = (contradictions.schema ?? 0) + 1;
  }
  return { tasks: checked.length, ok: count((c) => c.status === 'ok'), warning: count((c) => c.status === 'warning'), invalid: count((c) => c.status === 'invalid'), modes, contradictions };
}

function formatCheck(read: CatalogRead, checked: readonly CheckedEntry[]): string {
  const out: string[] = [`${read.path} (${read.format}): ${checked.length} task(s)`];
  for (const c of checked) {
    const tag = c.status === 'ok' ? pc.green('ok     ') : c.status === 'warning' ? pc.yellow('warning') : pc.red('invalid');
    out.push('', `${pc.bold(c.id)} ${tag}${c.check?.task.subject ? ` ${c.check.task.subject}` : ''}`);
    const cmd = c.check ? c.check.command : c.command;
    if (cmd?.status === 'ok') out.push(redactSecrets(formatPerfCommand({ ...cmd, env: redactEnv(cmd.env) }, '  ')).trimEnd());
    else if (cmd?.status === 'error') out.push(`  ${pc.red('command')}  ${cmd.message}`);
    if (!c.check) for (const e of c.errors) out.push(`  ${pc.red('schema')}   ${e}`);
    for (const k of c.check?.contradictions ?? []) out.push(`  ${k.severity === 'error' ? pc.red('error  ') : pc.yellow('contra ')}  ${k.kind}: ${k.message}`);
    for (const n of c.notes) out.push(`  ${pc.dim(`note     ${n}`)}`);
  }
  const s = summarize(checked);
  out.push('', `${s.tasks} tasks: ${s.ok} ok, ${s.warning} with warnings, ${s.invalid} invalid`);
  out.push(`modes: ${Object.entries(s.modes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const contra = Object.entries(s.contradictions);
  if (contra.length > 0) out.push(`contradictions: ${contra.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}
