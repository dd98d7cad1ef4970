/** What long-running commands share: durations, and waiting for whichever stop comes first. */
import { CallpeerError } from '../errors.js';

/** A positive number of seconds from a flag, or undefined when the flag is absent. */
export function parseSeconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new CallpeerError('INVALID_CONFIG', `${flag} must be a positive number of seconds (got ${value})`, { hint: `e.g. ${flag} 30` });
  return n;
}

export type StopReason = 'duration' | 'SIGINT' | 'SIGTERM' | 'ended' | 'connection lost' | 'removed';

/** Resolves with the first of: the duration elapsed, SIGINT/SIGTERM, the media ended, removed by the server, the connection closed. */
export function waitForStop(o: { durationSeconds?: number; ended?: Promise<void>; closed?: Promise<void>; removed?: Promise<unknown> }): Promise<StopReason> {
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const done = (r: StopReason) => {
      for (const t of timers) clearTimeout(t);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(r);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (o.durationSeconds !== undefined) timers.push(setTimeout(() => done('duration'), o.durationSeconds * 1000));
    o.ended?.then(() => done('ended'));
    // Kicked or the room deleted: the server says so before it lets go, so this wins over closed.
    o.removed?.then(() => done('removed'));
    o.closed?.then(() => done('connection lost'));
  });
}
