import { Command, CommanderError } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { addSecretValues, IsobenchError, redactSecrets, secretsOfArgs } from '../core/index.js';
import { registerCommands } from './commands.js';

/** Builds the whole command tree; tests call it to run the real program in-process. */
export function buildProgram(): Command {
  const program = new Command('isobench')
    .description('Measure whether a code change to an LLM inference engine makes it serve faster without breaking it')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code; the one place that turns errors into messages and exit codes. */
export async function runCli(argv: readonly string[]): Promise<number> {
  // Every token, key and header value on the command line is a secret from here on, wherever it is echoed back.
  addSecretValues(secretsOfArgs(argv));
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed the message (or help/version, which exit 0).
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof IsobenchError) {
    process.stderr.write(`${pc.red('error')} ${redactSecrets(err.message)}\n`);
    if (err.hint) process.stderr.write(`${pc.dim('hint:')} ${redactSecrets(err.hint)}\n`);
    return err.exitCode;
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${pc.red('internal error')} ${redactSecrets(text)}\n`);
  return 1;
}
