import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupRtc, type Peer } from '../../src/rtc/peer.js';
import { makePair, until, wire } from '../helpers/rtc.js';

afterAll(() => cleanupRtc());

const openFds = () => readdirSync('/proc/self/fd').length;
const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

/**
 * 10 pairs (20 Peers) with an audio track and a data channel each, run until connected (or
 * failed: with 10 handshakes at once node-datachannel fails a few, "certificate verify failed"), then
 * all closed. Returns how many pairs connected.
 */
async function round(): Promise<number> {
  const peers: Peer[] = [];
  const settled: Promise<boolean>[] = [];
  for (let i = 0; i < 10; i++) {
    const [a, b] = makePair();
    peers.push(a, b);
    wire(a, b);
    settled.push(Promise.all([a, b].map((p) => new Promise<boolean>((resolve) => {
      p.once('connected', () => resolve(true));
      p.once('closed', () => resolve(false));
    }))).then((both) => both.every(Boolean)));
    a.addAudioTrack();
    a.createDataChannel('x');
  }
  const connected = (await Promise.all(settled)).filter(Boolean).length;
  for (const p of peers) p.close();
  expect(peers.every((p) => p.closed)).toBe(true);
  return connected;
}

describe('Peer resources', () => {
  it('creating and closing 20 peers repeatedly returns fds and threads to their baseline', async () => {
    await round(); // warm-up: node-datachannel starts its fixed thread pool on first use
    await new Promise((r) => setTimeout(r, 300));
    const fd0 = openFds();
    const th0 = threads();
    let connected = 0;
    for (let i = 0; i < 3; i++) connected += await round();
    // Most pairs connect; the rest failed their first DTLS handshake (a library issue under
    // concurrent setups, 1-15 % depending on load) and were closed with reason 'failed'.
    expect(connected).toBeGreaterThanOrEqual(20);
    // Sockets and timers wind down on the library's threads shortly after close().
    await until(() => openFds() <= fd0 && threads() <= th0, 5000, `fds ${openFds()}/${fd0}, threads ${threads()}/${th0}`);
    expect(openFds()).toBeLessThanOrEqual(fd0);
    expect(threads()).toBeLessThanOrEqual(th0);
  }, 60_000);
});
