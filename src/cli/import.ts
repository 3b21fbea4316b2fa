import type { Command } from '@commander-js/extra-typings';
import { stat } from 'node:fs/promises';
import { IsobenchError } from '../core/index.js';
import type { ImportSummary } from '../import/index.js';
import { addOptions, opt, readOptions, type OptionTable } from './options.js';
import { writeResult } from './output.js';

const IMPORT_OPTIONS = {
  store: opt.text('--store <file.sqlite|postgres://...>', 'store to import into (default: isobench.sqlite here)'),
  agentName: opt.text('--agent-name <name>', 'agent label of the agent results in this folder (default claude-code)'),
  agentModel: opt.text('--agent-model <model>', 'agent model label (default sonnet-4.5)'),
  mappings: opt.strings('--mappings <files...>', 'benchmark_mode_mapping.json / matched_commits_for_benchmark.json (default: data/mappings found upward)'),
  json: opt.bool('--json', 'print the summary as JSON'),
} satisfies OptionTable;

/** The options table of each command of this file, by command path (the --help test walks them). */
export const TABLES = { 'import iso-bench': IMPORT_OPTIONS };

/** `isobench import iso-bench <dir>`. */
export function register(program: Command): void {
  const imp = program.command('import').description('Import results of other systems into the store');
  const cmd = imp
    .command('iso-bench')
    .description('Import the original ISO-Bench result files (docker, modal, separate, reruns) as trials with provenance')
    .argument('<dir>', 'folder of an ISO-Bench results tree, e.g. .../omniperf_results_3way_claude_code');
  addOptions(cmd, IMPORT_OPTIONS);
  cmd.action(async (dir, raw) => {
    const opts = readOptions(IMPORT_OPTIONS, raw);
    // Check the folder before opening (and maybe creating) the store.
    if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new IsobenchError('E_INPUT', `import iso-bench: ${dir} is not a directory`, { hint: 'give the folder of an ISO-Bench results tree' });
    const [{ importIsoBench }, { openStore }] = await Promise.all([import('../import/index.js'), import('../store/index.js')]);
    const store = await openStore(opts.store);
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const live = process.stderr.isTTY;
      const summary = await importIsoBench(dir, store, {
        signal: controller.signal,
        ...(opts.agentName === undefined ? {} : { agentName: opts.agentName }),
        ...(opts.agentModel === undefined ? {} : { agentModel: opts.agentModel }),
        ...(opts.mappings === undefined ? {} : { mappings: opts.mappings }),
        onProgress: (e) => {
          if (e.kind === 'read') process.stderr.write(`reading ${e.files} JSON files\n`);
          else if (live && (e.done % 25 === 0 || e.done === e.total)) process.stderr.write(`\rsaved ${e.done}/${e.total}${e.done === e.total ? '\n' : ''}`);
        },
      });
      writeResult(opts.json, summary, () => formatImportSummary(summary, store.location));
    } finally {
      process.off('SIGINT', onSigint);
      await store.close();
    }
  });
}

/** The import summary as text. */
export function formatImportSummary(s: ImportSummary, location: string): string {
  const lines = [
    `imported ${s.dir} into ${location} (run ${s.runId})`,
    `${s.filesRead} JSON files, ${s.records} variant measurements: ${s.inserted} new, ${s.existing} already stored; ${s.tasks} tasks`,
    `by source: ${Object.entries(s.bySource).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `${s.skipped.length} files are not measurements (exports, logs, dataset copies) and were left alone`,
  ];
  for (const e of s.fileErrors) lines.push(`unreadable: ${e.file}: ${e.message}`);
  for (const u of s.unresolved) lines.push(`not stored: ${u.file} (${u.role}): ${u.reason}`);
  return `${lines.join('\n')}\n`;
}
