/**
 * A real redis-server for a test, on a free loopback port, with nothing saved to disk.
 *
 *   const redis = await startRedis();   // redis.url: redis://127.0.0.1:<port>
 *   ...
 *   await redis.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const hasRedis = (): boolean => existsSync(REDIS_SERVER);
/** Appended to a test's name: why it is skipped on a machine without redis-server (empty with it). */
export const redisSkipNote = (): string => (hasRedis() ? '' : ` (skipped: no ${REDIS_SERVER}; apt-get install -y redis-server)`);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestRedis {
  url: string;
  port: number;
  child: ChildProcess;
  close(): Promise<void>;
}

/** Starts redis-server on a free port, or on `port` (a restart where a killed one was). */
export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const port = options.port ?? await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
    const onData = (d: Buffer) => {
      output += d;
      if (/Ready to accept connections/.test(output)) { clearTimeout(timer); resolve(); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited ${code}: ${output}`)); });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
