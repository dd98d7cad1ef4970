import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output; defaults to true when stdout is a TTY, JSON otherwise. */
  pretty?: boolean;
  /** Where to write (defaults to stdout). */
  destination?: NodeJS.WritableStream;
}

/** The root logger. Modules take a logger and make children (`room` -> `peer` -> `track`). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const destination = options.destination ?? process.stdout;
  const wantPretty = options.pretty ?? Boolean((destination as NodeJS.WriteStream).isTTY);
  if (wantPretty) {
    // A synchronous in-process stream: no worker thread to outlive a short CLI run.
    return pino({ level }, pretty({ colorize: true, singleLine: true, destination: destination as NodeJS.WritableStream, sync: true, ignore: 'pid,hostname' }));
  }
  return pino({ level }, destination as NodeJS.WritableStream);
}

/** A logger that writes nothing (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
