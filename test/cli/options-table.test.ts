import { afterEach, describe, expect, it, vi } from 'vitest';
import { Command } from '@commander-js/extra-typings';
import { captureCli } from '../cli-capture.js';
import { addOptions, flagName, helpDefault, opt, readOptions, type OptionTable } from '../../src/cli/options.js';
import { COMMAND_TABLES } from '../../src/cli/commands.js';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** --help with every line wrap undone, so that a long help text and its default read as one line. */
async function helpOf(path: readonly string[]): Promise<string> {
  const r = await captureCli([...path, '--help']);
  expect(r.code).toBe(0);
  return r.out.replace(/\s+/g, ' ');
}

describe('options tables: --help comes from the table', () => {
  it.each(Object.entries(COMMAND_TABLES))('%s: every option of the table is in --help, with its default', async (name, table) => {
    const help = await helpOf(name.split(' '));
    for (const spec of Object.values(table as OptionTable)) {
      expect(help, spec.flag).toContain(` ${spec.flag} `);
      const shown = helpDefault(spec);
      if (shown !== undefined) expect(help, spec.flag).toMatch(new RegExp(`${escape(spec.flag)} ${escape(spec.help)} \\((?:choices: [^)]*, )?default: ${escape(shown)}\\)`));
      if (spec.refused !== undefined) expect(help, spec.flag).toContain(`refused: ${spec.refused}`);
    }
  });

  it('every command of the CLI with options has its table listed (a command added without one fails here)', async () => {
    const { buildProgram } = await import('../../src/cli/program.js');
    type Node = { name(): string; commands: readonly Node[]; options: readonly unknown[] };
    const seen: string[] = [];
    const walk = (c: Node, prefix: string[]): void => {
      for (const sub of c.commands) {
        const path = [...prefix, sub.name()];
        if (sub.options.length > 0) seen.push(path.join(' '));
        walk(sub, path);
      }
    };
    walk(buildProgram(), []);
    expect(seen.sort()).toEqual(Object.keys(COMMAND_TABLES).sort());
  });

  it('the same defaults as the stages that own them', async () => {
    const [{ DEFAULT_TIE_THRESHOLD, DEFAULT_BOOTSTRAP_SEED }, { defaultWorkloadConfig, defaultServeBenchConfig }] = await Promise.all([import('../../src/analysis/index.js'), import('../../src/loadgen/index.js')]);
    const serve = COMMAND_TABLES['bench serve'];
    const w = defaultWorkloadConfig();
    const c = defaultServeBenchConfig({ baseUrl: 'http://x', model: 'm' });
    expect([serve.numPrompts.default, serve.seed.default, serve.randomInputLen.default, serve.sonnetPrefixLen.default, serve.timedTraceLabelHashIds.default]).toEqual([w.numPrompts, w.seed, w.randomInputLen, w.sonnetPrefixLen, w.timedTraceLabels.hashIds]);
    expect([serve.requestRate.default, serve.burstiness.default, (serve.requestTimeout.default ?? 0) * 1000, serve.percentileMetrics.default]).toEqual([c.requestRate, c.burstiness, c.requestTimeoutMs, c.percentileMetrics]);
    expect([COMMAND_TABLES.report.tieThreshold.default, COMMAND_TABLES.report.seed.default, COMMAND_TABLES['dataset build'].tieThreshold.default]).toEqual([DEFAULT_TIE_THRESHOLD, DEFAULT_BOOTSTRAP_SEED, DEFAULT_TIE_THRESHOLD]);
  });
});

describe('readOptions', () => {
  const table = {
    n: opt.posInt('--n <n>', 'a count', { max: 10, default: 3 }),
    rate: opt.num('--rate <x>', 'a rate', { gt: 0, inf: true }),
    kinds: opt.list('--kinds <list>', 'kinds', { choices: ['a', 'b'] }),
    name: opt.text('--name <s>', 'a name', { pattern: [/^[a-z]+$/, 'lower-case letters'] }),
    raw: opt.bool('--no-raw', 'no raw'),
    many: opt.strings('--many <v>', 'repeatable'),
  } satisfies OptionTable;

  it('fills defaults and reads what was typed strictly, every problem at once, naming the option and the range', () => {
    expect(readOptions(table, {})).toEqual({ n: 3, raw: true, many: [] });
    expect(readOptions(table, { n: '10', rate: 'inf', kinds: 'a, b', name: 'x', raw: false, many: ['p', 'q'] })).toEqual({ n: 10, rate: Infinity, kinds: ['a', 'b'], name: 'x', raw: false, many: ['p', 'q'] });
    expect(() => readOptions(table, { n: '0x10', rate: '0', kinds: 'a,c', name: 'X' })).toThrow(
      ['--n: --n must be a whole number in decimal digits, e.g. 3 (got "0x10")', '--rate: --rate must be > 0', '--kinds: "c" is not allowed: give a comma-separated subset of a,b', '--name: lower-case letters'].join('\n'),
    );
    expect(() => readOptions(table, { n: '11' })).toThrow('--n: --n must be <= 10');
  });

  it('registers on commander: the parsed values read back to the same options', async () => {
    const cmd = new Command('x').exitOverride();
    addOptions(cmd, table);
    let seen: unknown;
    cmd.action((raw) => {
      seen = readOptions(table, raw);
    });
    await cmd.parseAsync(['node', 'x', '--n', '4', '--many', 'a', '--many', 'b', '--no-raw']);
    expect(seen).toEqual({ n: 4, raw: false, many: ['a', 'b'] });
    expect(Object.values(table).map(flagName)).toEqual(['--n', '--rate', '--kinds', '--name', '--no-raw', '--many']);
  });

  it('a table key that is not the flag is a programming error', () => {
    expect(() => addOptions(new Command('x'), { count: opt.posInt('--n <n>', 'a count') })).toThrow(/key count does not match --n <n>/);
  });
});

function escape(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
