/** What a simulated peer counts of each stream it receives and sends, whatever brought it (a room, WHEP). */
import type { OpusSender } from '../rtc/opus-sender.js';
import type { RtpReceiver } from '../rtc/rtp-receiver.js';
import { streamKbps, type StreamFigures } from './stats.js';

export interface StreamCounters {
  /** Packets seen on the track before the drop hook (its n). */
  arrived: number;
  firstAt: number;
  lastAt: number;
  latencySum: number;
  latencyCount: number;
}

export interface Stream extends StreamCounters {
  receiver: RtpReceiver;
}

const RTP_HEADER_BYTES = 12;

export function newCounters(): StreamCounters {
  return { arrived: 0, firstAt: 0, lastAt: 0, latencySum: 0, latencyCount: 0 };
}

/** What a sender put on the wire: packets, and bytes with their RTP headers. */
export function sentBy(s: OpusSender): { packets: number; bytes: number } {
  const st = s.stats();
  return { packets: st.packetsSent, bytes: st.octetsSent + RTP_HEADER_BYTES * st.packetsSent };
}

/** One received track's counters as StreamFigures. */
export function streamFigures(from: string, s: Stream): StreamFigures {
  const rx = s.receiver.stats();
  const packets = rx.reduce((n, r) => n + r.received, 0);
  const expected = rx.reduce((n, r) => n + r.expected, 0);
  const lost = rx.reduce((n, r) => n + Math.max(0, r.cumulativeLost), 0);
  const bytes = rx.reduce((n, r) => n + r.bytes, 0);
  return {
    from,
    packets,
    expected,
    lost,
    lossPercent: expected > 0 ? (100 * lost) / expected : 0,
    bytes,
    kbps: streamKbps(bytes, s.firstAt, s.lastAt),
    jitterMs: rx.length ? Math.max(...rx.map((r) => r.jitterMs)) : 0,
    latencyMeanMs: s.latencyCount > 0 ? s.latencySum / s.latencyCount : null,
  };
}
