/** What a simulated peer counts of each stream it receives and sends, whatever brought it (a room, WHEP). */
import { readOpusStamp } from '../media/opus-stamp.js';
import type { RtpPacketInfo } from '../media/rtp.js';
import type { OpusSender } from '../rtc/opus-sender.js';
import type { RtpReceiver } from '../rtc/rtp-receiver.js';
import { epochNow } from './media.js';
import { streamKbps, type LatencyHistogram, type StreamFigures } from './stats.js';

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

/**
 * Counts one received audio packet: its arrival, and its one-way latency from the send time
 * it carries (SharedAudio stamps every packet), into the stream's mean and the run's histogram.
 */
export function countPacket(c: StreamCounters, latency: LatencyHistogram, packet: Buffer, h: RtpPacketInfo): void {
  const now = performance.now();
  if (c.firstAt === 0) c.firstAt = now;
  c.lastAt = now;
  const sentAt = readOpusStamp(packet, h.payloadOffset, h.payloadLength);
  if (sentAt === undefined) return;
  const ms = epochNow() - sentAt;
  latency.add(ms);
  c.latencySum += ms;
  c.latencyCount++;
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
