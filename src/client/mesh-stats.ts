/**
 * What a Node member of a mesh room tells the server about each participant it receives
 * (`stats {peer, …}`, PROTOCOL.md "Quality reports"): loss, jitter, bitrate and frame rate
 * over the interval since its last report, from what the RtpReceivers on the link's tracks
 * counted, and the round trip from the receiver reports the peer sends about our media.
 * Pure: MeshAgent samples the counts and passes the times.
 */
import { ntpFromUnixMs, ntpMiddle32, rttMs, type RtcpPacket } from '../media/rtcp.js';
import type { StatsMessage } from '../protocol/signaling.js';
import type { TrackReception } from '../rtc/rtp-receiver.js';

/** One link's cumulative counts at one moment (every track an RtpReceiver reads, summed). */
export interface ReceptionSample {
  /** Monotonic ms. */
  atMs: number;
  /** RTP packets expected and received (RFC 3550), and bytes with headers. */
  expected: number;
  received: number;
  bytes: number;
  /** The RFC 3550 jitter estimate now, ms: the audio's when audio arrives (what a call hears), else the video's. */
  jitterMs: number;
  /** Video frames completed; undefined when no video arrives on the link. */
  frames: number | undefined;
}

/** Counts before anything arrived: where a link's first interval starts. */
export function emptySample(atMs: number): ReceptionSample {
  return { atMs, expected: 0, received: 0, bytes: 0, jitterMs: 0, frames: undefined };
}

/** Sums what the receivers of one link counted. */
export function receptionSample(tracks: readonly { kind: 'audio' | 'video'; reception: TrackReception }[], atMs: number): ReceptionSample {
  const out = emptySample(atMs);
  let audioJitter: number | undefined;
  let videoJitter: number | undefined;
  for (const { kind, reception } of tracks) {
    const heard = reception.sources.filter((s) => s.received > 0);
    if (heard.length === 0) continue;
    for (const s of heard) {
      out.expected += s.expected;
      out.received += s.received;
      out.bytes += s.bytes;
    }
    const jitter = Math.max(...heard.map((s) => s.jitterMs));
    if (kind === 'audio') {
      audioJitter = Math.max(audioJitter ?? 0, jitter);
    } else {
      videoJitter = Math.max(videoJitter ?? 0, jitter);
      out.frames = (out.frames ?? 0) + reception.frames;
    }
  }
  out.jitterMs = audioJitter ?? videoJitter ?? 0;
  return out;
}

/** The protocol's bounds on `stats` figures (a report outside them is refused). */
const BOUNDS = { packetLoss: 100, jitterMs: 60_000, rttMs: 60_000, bitrateKbps: 1_000_000, framesPerSecond: 1000 } as const;

const fit = (x: number, max: number) => Math.round(Math.min(max, Math.max(0, Number.isFinite(x) ? x : 0)) * 10) / 10;

/**
 * The report about one participant for the interval from `prev` to `cur`, or undefined when
 * there is nothing fair to say: nothing received on the link yet, or the participant has its
 * camera or screen on (`video`) and we take only its audio (a bot), which would make its
 * bitrate look low. `rtt` is the last round trip measured on the link (undefined: we send
 * nothing it could time, reported as 0).
 */
export function meshStatsReport(prev: ReceptionSample, cur: ReceptionSample, rtt: number | undefined, video: boolean): Omit<StatsMessage, 'type' | 'peer'> | undefined {
  const dt = cur.atMs - prev.atMs;
  if (dt <= 0 || cur.received === 0) return undefined;
  if (video && cur.frames === undefined) return undefined;
  // A source that restarted (new sequence numbers) or a track gone shrinks the sums: no loss, not negative.
  const expected = cur.expected - prev.expected;
  const received = cur.received - prev.received;
  const packetLoss = expected > 0 ? (100 * Math.max(0, expected - received)) / expected : 0;
  const report: Omit<StatsMessage, 'type' | 'peer'> = {
    packetLoss: fit(packetLoss, BOUNDS.packetLoss),
    jitterMs: fit(cur.jitterMs, BOUNDS.jitterMs),
    rttMs: fit(rtt ?? 0, BOUNDS.rttMs),
    // bytes * 8 / ms = kbit/s
    bitrateKbps: fit(((cur.bytes - prev.bytes) * 8) / dt, BOUNDS.bitrateKbps),
  };
  if (video && cur.frames !== undefined) report.framesPerSecond = fit(((cur.frames - (prev.frames ?? 0)) * 1000) / dt, BOUNDS.framesPerSecond);
  return report;
}

/**
 * The round trip from the report blocks about our own streams (`ours`: the SSRCs we send on
 * the link) in received SRs and RRs, at wall-clock time `nowUnixMs` (our SRs carry the wall
 * clock too): the last one found, or undefined.
 */
export function roundTripMs(packets: readonly RtcpPacket[], ours: ReadonlySet<number>, nowUnixMs: number): number | undefined {
  const now = ntpFromUnixMs(nowUnixMs);
  const nowMiddle = ntpMiddle32(now.seconds, now.fraction);
  let out: number | undefined;
  for (const p of packets) {
    if (p.type !== 'sr' && p.type !== 'rr') continue;
    for (const block of p.reports) {
      if (!ours.has(block.ssrc)) continue;
      out = rttMs(nowMiddle, block.lsr, block.dlsr) ?? out;
    }
  }
  return out;
}
