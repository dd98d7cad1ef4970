/**
 * In-process signaling for node-datachannel Peers: two Peers wired to each other directly
 * (no server), so rtc tests exercise negotiation and media alone.
 */
import { Peer, type PeerOptions, type PeerSignal } from '../../src/rtc/peer.js';

/** Loopback-only options every test Peer uses (TESTING.md). */
export const LOOPBACK: PeerOptions = { iceServers: [], bindAddress: '127.0.0.1' };

export function deliver(to: Peer, s: PeerSignal): void {
  if (to.closed) return;
  if (s.kind === 'description') to.handleRemoteDescription(s.sdp, s.type);
  else to.addRemoteCandidate(s.candidate, s.mid);
}

/** Forwards each Peer's signals to the other; `filter` may drop or reorder (return false to drop). */
export function wire(a: Peer, b: Peer, filter: (from: Peer, s: PeerSignal) => boolean = () => true): void {
  a.on('signal', (s) => { if (filter(a, s)) deliver(b, s); });
  b.on('signal', (s) => { if (filter(b, s)) deliver(a, s); });
}

export function once<T extends unknown[]>(peer: Peer, event: 'connected' | 'negotiated' | 'closed' | 'track', timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    (peer as unknown as { once(e: string, f: (...a: T) => void): void }).once(event, (...args: T) => { clearTimeout(timer); resolve(args); });
  });
}

export function makePair(a: PeerOptions = {}, b: PeerOptions = {}): [Peer, Peer] {
  const pa = new Peer({ ...LOOPBACK, id: 'a', polite: false, ...a });
  const pb = new Peer({ ...LOOPBACK, id: 'b', polite: true, ...b });
  return [pa, pb];
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
