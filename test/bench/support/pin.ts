/** Pinning a benchmark to one core, so "% of a core" means one core. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function idleTicks(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).map((l) => Number(l.split(/\s+/)[4]));
}

/**
 * Pins every thread of this process (later ones inherit it) to the core that was idlest over
 * the last second; returns that core (undefined when not pinned) and a line saying so.
 * LOADTEST_BENCH_PIN=0 leaves it unpinned, for a machine whose cores are all busy.
 */
export async function pinToIdlestCore(): Promise<{ core: number | undefined; note: string }> {
  if (process.env.LOADTEST_BENCH_PIN === '0') return { core: undefined, note: 'not pinned (LOADTEST_BENCH_PIN=0): CPU is still counted as a share of one core' };
  const a = idleTicks();
  await new Promise((r) => setTimeout(r, 1000));
  const idle = idleTicks().map((v, i) => v - a[i]!);
  const core = idle.indexOf(Math.max(...idle));
  try {
    execFileSync('taskset', ['-a', '-c', '-p', String(core), String(process.pid)], { stdio: 'ignore' });
    return { core, note: `pinned to core ${core} (idle ${idle.join('/')} % over the last second)` };
  } catch {
    return { core: undefined, note: 'NOT pinned (taskset failed)' };
  }
}

/** Pins another process (every thread) to `core`; false if it could not. */
export function pinProcess(pid: number, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-c', '-p', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The other core of a 2-core machine (or the next one). */
export function otherCore(core: number): number {
  const cores = readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length;
  return (core + 1) % Math.max(1, cores);
}

/**
 * How long the main thread of `pid` (default: this process) has been runnable but waiting for
 * a CPU since it started, ms (/proc/PID/schedstat, field 2). Over a window, the difference is
 * what other threads took from it: other work on the machine, or the process's own helper
 * threads when it is pinned to one core and saturates it. NaN where /proc has no schedstat.
 */
export function runQueueWaitMs(pid: number | 'self' = 'self'): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * Time `core` has spent idle so far, ms (/proc/stat: idle and iowait). Over a window, the wall
 * time less this is what ran on the core (idle time is measured on entering and leaving idle;
 * the busy fields are sampled at the scheduler tick and read ±5 % off over 8 s), and that less
 * the CPU of the processes pinned there is what other work on the machine took of it.
 */
export function coreIdleMs(core: number): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `));
  if (!line) return NaN;
  const [, , , idle, iowait] = line.split(/\s+/).slice(1).map(Number);
  return ((idle ?? 0) + (iowait ?? 0)) * 10; // USER_HZ: 100 ticks a second
}

/** CPU time of every thread of `pid` so far, ms (/proc/PID/stat utime + stime, 10 ms ticks). */
export function processCpuMs(pid: number | 'self' = 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
