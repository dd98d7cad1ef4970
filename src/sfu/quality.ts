/**
 * Quality in an SFU room, measured where the server stands (PROTOCOL.md "Quality reports"): a
 * member's uplink from the RTP it publishes (loss over the interval from the sequence numbers,
 * jitter, bitrate), its downlink from the receiver reports it sends about what we forward to it
 * (loss, jitter, and the round trip from our sender reports). Its reading takes the worse of
 * the two directions for loss and jitter.
 */
import { IntervalLoss, type QualitySample } from '../media/quality.js';
import type { Participant } from '../protocol/signaling.js';
import type { Publication } from './publication.js';
import type { Subscription } from './subscription.js';

/** One member's uplink counters between two readings. */
export class UplinkMeter {
  private readonly loss = new IntervalLoss();
  private bytes = 0;
  private atMs: number | undefined;

  /**
   * Cumulative counters of everything the member publishes now → the interval's figures;
   * undefined on the first call (an interval needs two ends).
   */
  read(publications: Iterable<Publication>, nowMs: number): { packetLoss: number; jitterMs: number; bitrateKbps: number } | undefined {
    let expected = 0, received = 0, bytes = 0, jitterMs = 0;
    for (const p of publications) {
      const u = p.uplink();
      expected += u.expected;
      received += u.received;
      bytes += u.bytes;
      jitterMs = Math.max(jitterMs, u.jitterMs);
    }
    // A publication that ended takes its counters with it: start the interval over.
    if (bytes < this.bytes) { this.bytes = 0; this.loss.next(0, 0); }
    const packetLoss = this.loss.next(expected, received);
    const first = this.atMs === undefined;
    const seconds = first ? 0 : (nowMs - this.atMs!) / 1000;
    const bitrateKbps = seconds > 0 ? ((bytes - this.bytes) * 8) / 1000 / seconds : 0;
    this.bytes = bytes;
    this.atMs = nowMs;
    return first ? undefined : { packetLoss, jitterMs, bitrateKbps };
  }
}

/** A member's reading: its uplink measured here, its downlink as it reports it. */
export function memberSample(participant: Participant, up: { packetLoss: number; jitterMs: number; bitrateKbps: number }, subscriptions: Iterable<Subscription>): QualitySample {
  let downLoss = 0, downJitter = 0;
  const rtts: number[] = [];
  for (const s of subscriptions) {
    const r = s.received;
    if (!r || !s.receiving()) continue;
    downLoss = Math.max(downLoss, r.lossPercent);
    downJitter = Math.max(downJitter, r.jitterMs);
    if (r.rttMs !== undefined) rtts.push(r.rttMs);
  }
  return {
    packetLoss: Math.max(up.packetLoss, downLoss),
    jitterMs: Math.max(up.jitterMs, downJitter),
    rttMs: rtts.length === 0 ? 0 : rtts.reduce((a, b) => a + b, 0) / rtts.length,
    bitrateKbps: up.bitrateKbps,
    video: participant.video || participant.screen,
    expectingMedia: participant.audio || participant.video || participant.screen,
  };
}
