import { performance } from 'node:perf_hooks';
import type WebSocket from 'ws';

/**
 * Every socket sends one `frameBytes` frame per 20 ms, each on its own 1 ms slot of the period
 * (as independent clients would, not all at once), the send time (performance.now(), a double)
 * in the frame's first 8 bytes. setInterval(1) fires about once per ms; ticks, not wall time,
 * decide the slots, so each sender keeps its 20 ms period on average. Returns stop().
 */
export function spreadSenders(sockets: readonly WebSocket[], frameBytes: number, onSent: () => void): () => void {
  const frame = Buffer.alloc(frameBytes, 1);
  let tick = 0;
  const pacer = setInterval(() => {
    for (let i = tick++ % 20; i < sockets.length; i += 20) {
      frame.writeDoubleLE(performance.now(), 0);
      sockets[i]!.send(frame, { binary: true });
      onSent();
    }
  }, 1);
  return () => clearInterval(pacer);
}
