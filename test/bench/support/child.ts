import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { LoopStats } from './server-child.js';

export interface ChildStats { cpu: NodeJS.CpuUsage; mem: NodeJS.MemoryUsage }

/** A benchmark server in a child process (tsx, with --expose-gc). */
export class BenchServer {
  private constructor(readonly child: ChildProcess, readonly url: string) {}

  static async start(kind: 'callpeer' | 'sfu' | 'gateway' | 'auth' | 'bare' | 'bare-twilio'): Promise<BenchServer> {
    // BENCH_CPU_PROF=DIR: the server writes a V8 CPU profile there (stop() ends it cleanly).
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    // BENCH_PERF=1: JIT code is named in /tmp/perf-PID.map, so `perf record -p` on the child names JS frames.
    if (process.env.BENCH_PERF === '1') prof.push('--perf-basic-prof');
    const child = fork(path.join(import.meta.dirname, 'server-child.ts'), [kind], { execArgv: ['--import', 'tsx', '--expose-gc', ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: { url: string }) => resolve(m.url));
      child.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
    });
    return new BenchServer(child, url);
  }

  /** CPU and memory; `gc` (default true) collects first, for memory figures. */
  stats(gc = true): Promise<ChildStats> {
    return new Promise((resolve) => {
      this.child.once('message', (m) => resolve(m as ChildStats));
      this.child.send({ cmd: 'stats', gc });
    });
  }

  /** CPU, event-loop utilization and delay, mix tick times (server-child.ts LoopStats), never a GC. */
  loopStats(): Promise<LoopStats> {
    return new Promise((resolve) => {
      this.child.once('message', (m) => resolve(m as LoopStats));
      this.child.send({ cmd: 'loop-stats' });
    });
  }

  stop(): void {
    if (process.env.BENCH_CPU_PROF) this.child.send({ cmd: 'exit' });
    else this.child.kill('SIGKILL');
  }
}

export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}
