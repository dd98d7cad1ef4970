import type { EventEmitter } from 'node:events';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { toCallpeerError } from './errors.js';

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

/**
 * Emits an event whose listeners are user code: one that throws is logged (under `err`, with
 * the event's name), never thrown into the emitter, so a caller's bug is not taken for ours.
 */
export function safeEmit<E extends Record<keyof E, unknown[]>, K extends keyof E & string>(emitter: EventEmitter<E>, log: Logger, event: K, ...args: E[K]): void {
  try {
    (emitter.emit as unknown as (e: K, ...a: E[K]) => boolean).call(emitter, event, ...args);
  } catch (err) {
    log.error({ err: toCallpeerError(err), event }, 'listener threw');
  }
}
