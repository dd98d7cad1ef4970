/** What a Node mesh member reports about each link (`stats`), from its RtpReceivers' counts. */
import { describe, expect, it } from 'vitest';
import { emptySample, meshStatsReport, receptionSample, roundTripMs } from '../../../src/client/mesh-stats.js';
import { ntpFromUnixMs, ntpMiddle32, parseRtcp, buildRtcp } from '../../../src/media/rtcp.js';
import { writeRtpHeader } from '../../../src/media/rtp.js';
import { LocalTrack } from '../../../src/rtc/local-track.js';
import { RtpReceiver } from '../../../src/rtc/rtp-receiver.js';
import { ManualClock } from '../../helpers/clock.js';

const OPUS = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: '', rtcpFb: [] };
const VP8 = { payloadType: 96, name: 'VP8', clockRate: 90000, channels: 1, fmtp: '', rtcpFb: [] };

/** One RTP packet: 12-byte header and `payload` bytes. */
function rtp(ssrc: number, pt: number, seq: number, timestamp: number, payload: number, marker = false): Buffer {
  const out = Buffer.alloc(12 + payload);
  writeRtpHeader({ padding: false, marker, payloadType: pt, sequenceNumber: seq, timestamp, ssrc, csrcs: [], extensions: [], extensionProfile: 0, extensionData: undefined } as unknown as Parameters<typeof writeRtpHeader>[0], out, 0);
  return out;
}

describe('a link\'s reception, as an RtpReceiver counts it', () => {
  it('an RtpReceiver puts its counts on its track and takes them away when it closes', () => {
    const clock = new ManualClock(1000);
    const track = new LocalTrack('0', 'video', VP8);
    const receiver = new RtpReceiver(track, { clock });
    // Three frames of two packets, the marker on the last of each.
    for (let seq = 0; seq < 6; seq++) {
      clock.advance(5);
      track.deliver(rtp(7, 96, seq, 3000 * (seq >> 1), 1000, seq % 2 === 1));
    }
    expect(track.reception!()).toMatchObject({ frames: 3, sources: [{ ssrc: 7, received: 6, expected: 6, bytes: 6 * 1012 }] });
    receiver.close();
    expect(track.reception).toBeUndefined();
  });

  it('10 % of 50 packets a second lost over 2 s of Opus: a report of 10 % loss and the bitrate received', () => {
    const clock = new ManualClock(0);
    const track = new LocalTrack('0', 'audio', OPUS);
    const receiver = new RtpReceiver(track, { clock });
    const start = emptySample(clock.now());
    for (let seq = 0; seq < 100; seq++) {
      clock.advance(20);
      // Every tenth packet lost; never the last, or the loss would not show yet.
      if (seq % 10 !== 5) track.deliver(rtp(9, 111, seq, seq * 960, 88));
    }
    const cur = receptionSample([{ kind: 'audio', reception: track.reception!() }], clock.now());
    expect(cur).toMatchObject({ expected: 100, received: 90, bytes: 90 * 100, frames: undefined });
    // 90 packets of 100 bytes in 2 s: 36 kbit/s; steady arrival: no jitter.
    expect(meshStatsReport(start, cur, 42.26, false)).toEqual({ packetLoss: 10, jitterMs: 0, rttMs: 42.3, bitrateKbps: 36 });
    // Only the interval counts: 50 more packets, none lost.
    for (let seq = 100; seq < 150; seq++) {
      clock.advance(20);
      track.deliver(rtp(9, 111, seq, seq * 960, 88));
    }
    const next = receptionSample([{ kind: 'audio', reception: track.reception!() }], clock.now());
    expect(meshStatsReport(cur, next, undefined, false)).toEqual({ packetLoss: 0, jitterMs: 0, rttMs: 0, bitrateKbps: 40 });
    receiver.close();
  });

  it('jitter is the audio\'s when audio arrives, frames a second come from video, and nothing is said before media arrives', () => {
    const audio = { sources: [{ ssrc: 1, received: 100, expected: 100, extendedHighestSeq: 99, cumulativeLost: 0, jitter: 96, jitterMs: 2, bytes: 10_000 }], frames: 0 };
    const video = { sources: [{ ssrc: 2, received: 300, expected: 310, extendedHighestSeq: 309, cumulativeLost: 10, jitter: 1800, jitterMs: 20, bytes: 240_000 }], frames: 60 };
    const cur = receptionSample([{ kind: 'audio', reception: audio }, { kind: 'video', reception: video }], 2000);
    expect(cur).toEqual({ atMs: 2000, expected: 410, received: 400, bytes: 250_000, jitterMs: 2, frames: 60 });
    // 250 kB in 2 s = 1000 kbit/s, 60 frames in 2 s = 30 fps, 10 of 410 lost = 2.4 %.
    expect(meshStatsReport(emptySample(0), cur, 5, true)).toEqual({ packetLoss: 2.4, jitterMs: 2, rttMs: 5, bitrateKbps: 1000, framesPerSecond: 30 });
    // Video only: its jitter.
    expect(receptionSample([{ kind: 'video', reception: video }], 1).jitterMs).toBe(20);
    // Nothing heard yet, or a camera on and only audio taken (a bot): no report.
    const silent = { sources: [{ ...audio.sources[0]!, received: 0, expected: 0, bytes: 0 }], frames: 0 };
    expect(meshStatsReport(emptySample(0), receptionSample([{ kind: 'audio', reception: silent }], 2000), 5, false)).toBeUndefined();
    expect(meshStatsReport(emptySample(0), receptionSample([{ kind: 'audio', reception: audio }], 2000), 5, true)).toBeUndefined();
    // The same moment twice: no interval, no report.
    expect(meshStatsReport(cur, cur, 5, true)).toBeUndefined();
  });

  it('figures stay within the protocol\'s bounds: a restarted source shrinks the counts without negative loss or bitrate', () => {
    const prev = { atMs: 0, expected: 1000, received: 990, bytes: 100_000, jitterMs: 0, frames: undefined };
    const restarted = { atMs: 2000, expected: 20, received: 20, bytes: 102_000, jitterMs: 1e9, frames: undefined };
    expect(meshStatsReport(prev, restarted, 1e12, false)).toEqual({ packetLoss: 0, jitterMs: 60_000, rttMs: 60_000, bitrateKbps: 8 });
  });
});

describe('roundTripMs', () => {
  it('times the report blocks about our own streams in the peer\'s SRs and RRs', () => {
    const now = 1_700_000_000_000;
    const sentAt = ntpFromUnixMs(now - 130);
    const lsr = ntpMiddle32(sentAt.seconds, sentAt.fraction);
    // They held our SR 100 ms before reporting: 30 ms of round trip.
    const block = (ssrc: number) => ({ ssrc, fractionLost: 0, packetsLost: 0, highestSeq: 0, jitter: 0, lsr, dlsr: 6554 });
    const packets = parseRtcp(buildRtcp([
      { type: 'rr', ssrc: 5, reports: [block(111)] },
      { type: 'sr', ssrc: 5, ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [block(222)] },
    ]));
    expect(roundTripMs(packets, new Set([111]), now)).toBeCloseTo(30, 0);
    expect(roundTripMs(packets, new Set([222]), now)).toBeCloseTo(30, 0);
    // Blocks about others' streams, or before they had an SR from us (LSR 0): nothing.
    expect(roundTripMs(packets, new Set([333]), now)).toBeUndefined();
    expect(roundTripMs(parseRtcp(buildRtcp([{ type: 'rr', ssrc: 5, reports: [{ ...block(111), lsr: 0 }] }])), new Set([111]), now)).toBeUndefined();
  });
});
