/**
 * /ws/pcm over `serve --workers 2` without Redis (issue 17): the primary is the cluster's
 * directory and bus, relayed frames cross between the workers over its IPC channel. The primary
 * hands connections to the workers in turn, so consecutive clients land on different workers;
 * the debug log says when a client was relayed to the other one.
 */
import { describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { PcmProbe, sleep, until } from './pcm-harness.js';

/** `n` distinct 20 ms PCM frames. */
const framesOf = (n: number, seed: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.alloc(1920, (seed + i) & 0xff));

describe('PCM pairing over serve --workers 2', { timeout: 60_000 }, () => {
  it('pairs by code and first come first served across the workers, byte-identical both ways; PAIR_FULL for a third', async () => {
    const server = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--log-level', 'debug'], /callpeer listening[\s\S]*callpeer listening/, { timeoutMs: 15_000 });
    const probes: PcmProbe[] = [];
    try {
      const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(server.output())![1];
      const node = { url: `http://127.0.0.1:${port}` };
      const open = async (query: Record<string, string>) => {
        const p = await PcmProbe.open(node, query);
        probes.push(p);
        return p;
      };
      for (const query of [{ pair: 'w-code' }, {}] as Record<string, string>[]) {
        const x = await open(query);
        await x.waitFor('waiting');
        const y = await open(query);
        await y.waitFor('connected', 1, 5000);
        await x.waitFor('connected');
        const fromX = framesOf(30, 1);
        const fromY = framesOf(30, 100);
        for (let i = 0; i < 30; i++) {
          x.sendAudio(fromX[i]!);
          y.sendAudio(fromY[i]!);
          await sleep(20);
        }
        await until(() => x.audio.length >= 30 && y.audio.length >= 30, '30 frames each way', 5000);
        expect(Buffer.concat(y.audio).equals(Buffer.concat(fromX))).toBe(true);
        expect(Buffer.concat(x.audio).equals(Buffer.concat(fromY))).toBe(true);
      }
      const third = await open({ pair: 'w-code' });
      await third.waitFor('error');
      expect(third.last('error').code).toBe('PAIR_FULL');
      // The two clients of a pair were on different workers: one was relayed to the other's.
      await until(() => /pcm client relayed to another node/.test(server.output()), 'a relayed client in the log', 3000);
    } finally {
      for (const p of probes) p.close();
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    }
  });
});
