/**
 * Quality in an SFU room, measured where the server stands (PROTOCOL.md "Quality reports"): a
 * member's uplink from the RTP it publishes (loss over the interval from the sequence numbers,
 * jitter, bitrate), its downlink from the receiver reports it sends about what we forward to it
 * (loss, jitter, and the round trip from our sender reports). Its reading takes the worse of
 * the two directions for loss and jitter.
 *
 * Jitter comes from audio only: a video frame's packets share one timestamp and leave in a
 * burst, so RFC 3550 jitter on video measures the encoder's frame sizes, not the network (it
 * read 30-70 ms on loopback). Video's bitrate is judged only once it has flowed for
 * VIDEO_RAMP_MS: browsers start a camera low and ramp up over the first seconds.
 */
import { IntervalLoss, type QualitySample } from '../media/quality.js';
import type { Participant } from '../protocol/signaling.js';
import type { Publication } from './publication.js';
import type { Subscription } from './subscription.js';

/** How long a video track flows before its bitrate can say anything (a browser's ramp-up). */
export const VIDEO_RAMP_MS = 15_000;

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
      if (p.kind === 'audio') jitterMs = Math.max(jitterMs, u.jitterMs);
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
export function memberSample(
  participant: Participant, up: { packetLoss: number; jitterMs: number; bitrateKbps: number }, subscriptions: Iterable<Subscription>,
  publications: Iterable<Publication>, nowMs: number,
): QualitySample {
  let downLoss = 0, downJitter = 0;
  const rtts: number[] = [];
  for (const s of subscriptions) {
    const r = s.received;
    if (!r || !s.receiving()) continue;
    downLoss = Math.max(downLoss, r.lossPercent);
    if (s.publication.kind === 'audio') downJitter = Math.max(downJitter, r.jitterMs);
    if (r.rttMs !== undefined) rtts.push(r.rttMs);
  }
  return {
    packetLoss: Math.max(up.packetLoss, downLoss),
    jitterMs: Math.max(up.jitterMs, downJitter),
    rttMs: rtts.length === 0 ? 0 : rtts.reduce((a, b) => a + b, 0) / rtts.length,
    bitrateKbps: up.bitrateKbps,
    video: (participant.video || participant.screen) && [...publications].some((p) => p.kind === 'video' && p.flowingSince !== undefined && nowMs - p.flowingSince >= VIDEO_RAMP_MS),
    expectingMedia: participant.audio || participant.video || participant.screen,
  };
}
