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
