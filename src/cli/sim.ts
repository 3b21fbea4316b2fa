import type { Command } from '@commander-js/extra-typings';
import { IsobenchError } from '../core/index.js';
import type { SimProfile, SimScriptKind } from '../sim/index.js';

type SimStage = typeof import('../sim/index.js');

const SCRIPT_KINDS: Record<string, SimScriptKind> = { latency: 'latency', throughput: 'throughput', 'prefix-caching': 'prefix_caching', prefix_caching: 'prefix_caching' };

/** The help of `sim serve`, generated from the profile's knob table so it cannot drift from the code. */
function serveHelp({ SIM_KNOBS, defaultSimProfile }: SimStage): string {
  const knobs = Object.entries(SIM_KNOBS).map(([key, kind]) => {
    const value = (defaultSimProfile as Record<string, unknown>)[key];
    const arg = kind === 'bool' ? '' : kind === 'strs' ? ' <name...>' : ` <${kind}>`;
    return `  --${key.replace(/_/g, '-')}${arg}${value === undefined ? '' : `  (default ${JSON.stringify(value)})`}`;
  });
  return [
    'Usage: isobench sim serve [model] [options]',
    '',
    'A simulated vLLM OpenAI-compatible server (see docs/sim.md).',
    '',
    'Options:',
    '  --host <host>          (default "127.0.0.1")',
    '  --port <port>          0 picks a free port, printed in the "Uvicorn running on" line (default 8000)',
    '  --profile <file>       profile file, JSON or YAML; flags override it',
    '  -tp <int>              same as --tensor-parallel-size',
    '  other vLLM server flags (--dtype, --trust-remote-code, ...) are accepted and ignored; unknown flags print a warning',
    '',
    'Profile knobs (every profile key is a flag; booleans also take --no-<flag>):',
    ...knobs,
  ].join('\n');
}

/** Profile = defaults < profile file < flags; errors name the file key or the flag. */
async function resolveProfile({ parseSimProfile, readSimProfileFile }: SimStage, profileFile: string | undefined, overrides: Record<string, unknown>): Promise<SimProfile> {
  const fromFile = profileFile === undefined ? {} : await readSimProfileFile(profileFile);
  if (profileFile !== undefined) parseSimProfile(fromFile, `profile file ${profileFile}`);
  return parseSimProfile({ ...fromFile, ...overrides }, profileFile === undefined ? 'flags' : `flags over ${profileFile}`, true);
}

async function serve(argv: readonly string[]): Promise<number> {
  const sim = await import('../sim/index.js');
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(serveHelp(sim) + '\n');
    return 0;
  }
  const args = sim.parseSimServeArgs(argv);
  for (const w of args.warnings) process.stdout.write(w + '\n');
  const profile = await resolveProfile(sim, args.profileFile, args.overrides);
  const port = args.port ?? 8000;
  if (port < 0 || port > 65535) throw new IsobenchError('E_USAGE', `--port: ${port} is not a port number (0-65535; 0 picks a free port)`);
  const server = await sim.startSimServer(profile, {
    host: args.host ?? '127.0.0.1',
    port,
    onLog: (line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(line + '\n'),
  });
  const stop = () => void server.close();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const exit = await server.exited;
    if (exit.reason === 'closed') process.stdout.write(`INFO:     Finished server process [${process.pid}]\n`);
    return exit.code ?? 1;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

const BENCH_HELP = [
  'Usage: isobench sim bench <latency|throughput|prefix-caching> [script args] [--sim-profile <file>]',
  '',
  "Prints what vLLM's benchmark_latency.py / benchmark_throughput.py / benchmark_prefix_caching.py would, from the",
  'sim performance model (times computed, not slept; see docs/sim.md).',
  '',
  'Options:',
  "  [script args]          the script's vLLM flags (--input-len, --output-len, --batch-size, --num-prompts, ...)",
  '  --sim-profile <file>   sim profile, JSON or YAML (default: the built-in profile)',
  '  -h, --help             print this help',
].join('\n');

async function bench(kindName: string, argv: readonly string[]): Promise<number> {
  if ([kindName, ...argv].some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(BENCH_HELP + '\n');
    return 0;
  }
  const kind = SCRIPT_KINDS[kindName];
  if (kind === undefined) throw new IsobenchError('E_USAGE', `sim bench: unknown script "${kindName}"`, { hint: 'use one of: latency, throughput, prefix-caching' });
  const rest = [...argv];
  const at = rest.indexOf('--sim-profile');
  let file: string | undefined;
  if (at >= 0) {
    file = rest[at + 1];
    if (file === undefined) throw new IsobenchError('E_USAGE', '--sim-profile: expects a file');
    rest.splice(at, 2);
  }
  const sim = await import('../sim/index.js');
  const profile = await resolveProfile(sim, file, {});
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  try {
    const result = await sim.runSimScript(kind, rest, profile, ac.signal);
    (result.exitCode === 0 ? process.stdout : process.stderr).write(result.output);
    return result.exitCode;
  } finally {
    process.off('SIGINT', stop);
  }
}

/** Registers `sim serve` and `sim bench latency|throughput|prefix-caching`. */
export function register(program: Command): void {
  const sim = program.command('sim').description('Simulated vLLM: an OpenAI-compatible server and the standalone benchmark scripts');
  sim
    .command('serve')
    .description('Start a simulated vLLM server (vLLM flags accepted; --help lists every knob)')
    .argument('[args...]', 'model, vLLM server flags and sim knobs')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(async (argv) => {
      process.exitCode = await serve(argv);
    });
  sim
    .command('bench')
    .description('Print what vLLM benchmark_latency.py / benchmark_throughput.py / benchmark_prefix_caching.py would, from the sim model')
    .argument('<script>', 'latency | throughput | prefix-caching')
    .argument('[args...]', "the script's arguments (vLLM flags); --sim-profile <file> picks a sim profile")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(async (script, argv) => {
      process.exitCode = await bench(script, argv);
    });
}
