/**
 * 20 bots in one process (10 rooms of 2, each pair connected and sending a tone) join and
 * leave in rounds; threads and open file descriptors must come back to where they were.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { useTestServer } from '../helpers/server.js';

const fds = () => readdirSync('/proc/self/fd').length;
const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ctx = useTestServer({}, { rtc: true });

/** Bots that heard nothing, with their view of each link (for the failure message). */
async function round(n: number): Promise<string[]> {
  const bots: Bot[] = [];
  for (let i = 0; i < 20; i++) {
    bots.push(new Bot({ wsUrl: ctx.server.wsUrl, room: `soak-${n}-${i >> 1}`, name: `bot ${i}`, source: new ToneSource(300 + 10 * i), peer: { bindAddress: '127.0.0.1' } }));
  }
  for (const b of bots) await b.start();
  const deadline = Date.now() + 10_000;
  while (bots.some((b) => !b.stats().some((s) => s.received.packets > 0)) && Date.now() < deadline) await sleep(50);
  const deaf = bots.flatMap((b, i) => (b.stats().some((s) => s.received.packets > 0) ? [] : [`bot ${i}: ${JSON.stringify(b.stats())}`]));
  await Promise.all(bots.map((b) => b.close()));
  await sleep(300);
  return deaf;
}

describe('bots at scale', () => {
  it('20 bots join, hear each other and leave, three times, without leaking threads or fds', async () => {
    expect(await round(0)).toEqual([]); // warm-up: the library starts its thread pool once
    const base = { fds: fds(), threads: threads() };
    for (let n = 1; n <= 3; n++) expect(await round(n)).toEqual([]);
    expect(ctx.server.rooms.size).toBe(0);
    expect(threads()).toBeLessThanOrEqual(base.threads);
    expect(fds()).toBeLessThanOrEqual(base.fds + 2);
  }, 90_000);
});
