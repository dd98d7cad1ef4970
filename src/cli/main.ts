import { Command, CommanderError } from 'commander';
import { CallpeerError } from '../errors.js';
import { registerServe } from './serve.js';
import { registerCerts } from './certs.js';
import { registerBot } from './bot.js';
import { registerBridge } from './bridge.js';
import { registerPcm } from './pcm.js';
import { registerRecord } from './record.js';
import { registerLoadtest } from './loadtest.js';
import { registerToken } from './token.js';

/** Builds the `callpeer` program. Each subcommand lives in its own file with a `register*` function. */
export function buildProgram(): Command {
  const program = new Command('callpeer')
    .description('WebRTC call rooms, bots, recorder and load tester on node-datachannel')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServe(program);
  registerCerts(program);
  registerBot(program);
  registerBridge(program);
  registerPcm(program);
  registerRecord(program);
  registerLoadtest(program);
  registerToken(program);
  return program;
}

/** Prints an error as one plain line (and the fix), and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message; help and version exit 0
    return err.exitCode;
  }
  if (err instanceof CallpeerError) {
    process.stderr.write(`callpeer: ${err.message}${err.hint ? `\n  fix: ${err.hint}` : ''}\n`);
    return 1;
  }
  const e = err as Error;
  process.stderr.write(`callpeer: unexpected error: ${e?.stack ?? String(err)}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<void> {
  // `callpeer ... | head` closes the pipe early: stop quietly, as command-line tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}
