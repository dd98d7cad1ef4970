import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { buildRtcp, ntpFromUnixMs, ntpMiddle32, parseRtcp, type SenderReport } from '../../../src/media/rtcp.js';
import { parseRtpHeader, writeRtpHeader } from '../../../src/media/rtp.js';
import type { MediaTrack } from '../../../src/rtc/media-track.js';
import { OpusSender } from '../../../src/rtc/opus-sender.js';
import { PacketListSource } from '../../../src/media/opus-sources.js';
import { ManualClock } from '../../helpers/clock.js';
import { RtpReceiver } from '../../../src/rtc/rtp-receiver.js';

/** A MediaTrack stand-in that records what is sent. */
class FakeTrack extends EventEmitter {
  sent: Buffer[] = [];
  open = true;
  onRtp: ((p: Buffer) => void) | undefined;
  readonly mid = '0';
  readonly localSsrc: number;
  readonly cname = 'cname-x';
  codec = { payloadType: 109, name: 'opus', clockRate: 48000, channels: 2, fmtp: '', rtcpFb: [] };
  constructor(ssrc = 0x11223344) { super(); this.localSsrc = ssrc; }
  isOpen(): boolean { return this.open; }
  send(p: Buffer): boolean { if (!this.open) return false; this.sent.push(Buffer.from(p)); return true; }
  asTrack(): MediaTrack { return this as unknown as MediaTrack; }
}

const opus = (n: number) => Buffer.alloc(n, 0xab);

describe('OpusSender', () => {
  it('builds RTP headers: our SSRC and PT, seq +1, timestamp +960, marker only on the first packet', () => {
    const track = new FakeTrack();
    const sender = new OpusSender(track.asTrack(), { clock: new ManualClock() });
    for (let i = 0; i < 3; i++) expect(sender.sendFrame(opus(80))).toBe(true);
    const h = track.sent.map((p) => parseRtpHeader(p));
    expect(h.map((x) => [x.ssrc, x.payloadType, x.marker, x.payloadLength])).toEqual([
      [0x11223344, 109, true, 80], [0x11223344, 109, false, 80], [0x11223344, 109, false, 80],
    ]);
    expect(((h[1]!.sequenceNumber - h[0]!.sequenceNumber) & 0xffff)).toBe(1);
    expect(((h[2]!.timestamp - h[1]!.timestamp) >>> 0)).toBe(960);
    expect(track.sent[0]!.subarray(12)).toEqual(opus(80));
    sender.close();
  });

  it('writes its headers with writeRtpHeader, byte for byte: V=2, M+PT, seq, timestamp, SSRC, then the payload', () => {
    const track = new FakeTrack();
    const sender = new OpusSender(track.asTrack(), { clock: new ManualClock() });
    sender.sendFrame(opus(3));
    sender.sendFrame(opus(3));
    const [a, b] = track.sent;
    const seq = a!.readUInt16BE(2);
    const ts = a!.readUInt32BE(4);
    const hex16 = (v: number) => (v & 0xffff).toString(16).padStart(4, '0');
    const hex32 = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
    //                          V=2   M=1 PT=109  sequence       timestamp       SSRC         payload
    expect(a!.toString('hex')).toBe('80' + 'ed' + hex16(seq) + hex32(ts) + '11223344' + 'ababab');
    //                          V=2   M=0 PT=109  +1                +960
    expect(b!.toString('hex')).toBe('80' + '6d' + hex16(seq + 1) + hex32(ts + 960) + '11223344' + 'ababab');
    const expected = Buffer.alloc(12);
    writeRtpHeader({
      padding: false, marker: true, payloadType: 109, sequenceNumber: seq, timestamp: ts, ssrc: 0x11223344,
      csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined,
    }, expected, 0);
    expect(a!.subarray(0, 12)).toEqual(expected);
    sender.close();
  });

  it('refuses a payload type outside 0..127 with TypeError instead of sending corrupt headers', () => {
    const track = new FakeTrack();
    expect(() => new OpusSender(track.asTrack(), { payloadType: 128, clock: new ManualClock() })).toThrow(TypeError);
    expect(track.listenerCount('rtcp')).toBe(0); // nothing left attached
    expect(track.sent).toEqual([]);
  });

  it('a gap (skipped frames) advances the timestamp and sets the marker; a closed track consumes no sequence number', () => {
    const track = new FakeTrack();
    const sender = new OpusSender(track.asTrack(), { clock: new ManualClock() });
    sender.sendFrame(opus(10));
    track.open = false;
    expect(sender.sendFrame(opus(10))).toBe(false);
    track.open = true;
    sender.skipFrames(5);
    sender.sendFrame(opus(10));
    const [a, b] = track.sent.map((p) => parseRtpHeader(p));
    expect(((b!.sequenceNumber - a!.sequenceNumber) & 0xffff)).toBe(1);
    expect(((b!.timestamp - a!.timestamp) >>> 0)).toBe(960 * 7);
    expect(b!.marker).toBe(true);
    expect(sender.stats()).toMatchObject({ packetsSent: 2, octetsSent: 20 });
    sender.close();
  });

  it('plays a source on the 20 ms pacer: silence makes a talk spurt with the marker, then it ends', () => {
    const track = new FakeTrack();
    const clock = new ManualClock();
    const sender = new OpusSender(track.asTrack(), { clock, reportIntervalMs: 1e9 });
    let ended = false;
    sender.on('ended', () => { ended = true; });
    sender.play(new PacketListSource([opus(5), opus(5), undefined, undefined, opus(5)]));
    clock.advance(200);
    const h = track.sent.map((p) => parseRtpHeader(p));
    expect(h.map((x) => x.marker)).toEqual([true, false, true]);
    expect(((h[2]!.timestamp - h[0]!.timestamp) >>> 0)).toBe(4 * 960);
    expect(((h[2]!.sequenceNumber - h[0]!.sequenceNumber) & 0xffff)).toBe(2);
    expect(ended).toBe(true);
    expect(sender.playing).toBe(false);
    sender.close();
  });

  it('sends an SR with NTP time, the extrapolated RTP timestamp, packet and octet counts, and SDES CNAME', () => {
    const track = new FakeTrack();
    const clock = new ManualClock();
    const wall = 1_700_000_000_000;
    const sender = new OpusSender(track.asTrack(), { clock, wallClock: () => wall, reportIntervalMs: 1e9 });
    expect(sender.sendReport()).toBe(false); // nothing sent yet
    sender.sendFrame(opus(50));
    sender.sendFrame(opus(30));
    const lastTs = parseRtpHeader(track.sent[1]!).timestamp;
    clock.time += 10; // 10 ms after the last packet: +480 ticks
    expect(sender.sendReport()).toBe(true);
    const [sr, sdes] = parseRtcp(track.sent[2]!);
    const ntp = ntpFromUnixMs(wall);
    expect(sr).toEqual({
      type: 'sr', ssrc: 0x11223344, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction,
      rtpTimestamp: (lastTs + 480) >>> 0, packetCount: 2, octetCount: 80, reports: [],
    });
    expect(sdes).toMatchObject({ type: 'sdes', chunks: [{ ssrc: 0x11223344, items: [{ type: 1, text: 'cname-x' }] }] });
    sender.close();
  });

  it('turns the remote report block about our SSRC into loss, jitter and RTT', () => {
    const track = new FakeTrack();
    let wall = 1_700_000_000_000;
    const sender = new OpusSender(track.asTrack(), { clock: new ManualClock(), wallClock: () => wall, reportIntervalMs: 1e9 });
    const reports: unknown[] = [];
    sender.on('report', (r) => reports.push(r));
    const sentAt = ntpFromUnixMs(wall);
    wall += 150; // RR arrives 150 ms after our SR; the remote held it 100 ms: RTT 50 ms
    const rr = buildRtcp([{ type: 'rr', ssrc: 5, reports: [
      { ssrc: 999, fractionLost: 0, packetsLost: 0, highestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 },
      { ssrc: 0x11223344, fractionLost: 26, packetsLost: 7, highestSeq: 1234, jitter: 96, lsr: ntpMiddle32(sentAt.seconds, sentAt.fraction), dlsr: 6554 },
    ] }]);
    track.emit('rtcp', rr);
    track.emit('rtcp', Buffer.from([0x80, 201, 0, 9])); // truncated: ignored
    expect(reports).toHaveLength(1);
    const r = sender.stats().remote!;
    expect(r.fractionLost).toBeCloseTo(26 / 256, 6);
    expect([r.cumulativeLost, r.highestSeq, r.jitterMs]).toEqual([7, 1234, 2]);
    expect(r.rttMs).toBeGreaterThan(49);
    expect(r.rttMs).toBeLessThan(51);
    sender.close();
  });
});

describe('RtpReceiver', () => {
  function rtp(seq: number, ts: number, ssrc = 0xaabbccdd): Buffer {
    const b = Buffer.alloc(20);
    b[0] = 0x80; b[1] = 111; b.writeUInt16BE(seq, 2); b.writeUInt32BE(ts, 4); b.writeUInt32BE(ssrc, 8);
    return b;
  }

  it('counts per SSRC, hands packets on, and reports RR blocks with LSR/DLSR from the last SR', () => {
    const track = new FakeTrack(0x55);
    const clock = new ManualClock();
    const seen: number[] = [];
    const rx = new RtpReceiver(track.asTrack(), { clock, reportIntervalMs: 1e9, onPacket: (_p, h) => seen.push(h.sequenceNumber) });
    expect(rx.sendReport()).toBe(false);
    for (let i = 0; i < 10; i++) { if (i !== 4) track.onRtp!(rtp(i, i * 960)); clock.time += 20; }
    track.onRtp!(Buffer.from([1, 2, 3]));
    expect(rx.malformed).toBe(1);
    expect(seen).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    const sr: SenderReport = { type: 'sr', ssrc: 0xaabbccdd, ntpSeconds: 0x00010002, ntpFraction: 0x00030000, rtpTimestamp: 0, packetCount: 1, octetCount: 1, reports: [] };
    track.emit('rtcp', buildRtcp([sr]));
    clock.time += 250;
    expect(rx.sendReport()).toBe(true);
    const [rr, sdes] = parseRtcp(track.sent[0]!);
    expect(rr).toEqual({ type: 'rr', ssrc: 0x55, reports: [{
      ssrc: 0xaabbccdd, fractionLost: Math.floor(256 / 10), packetsLost: 1, highestSeq: 9, jitter: 0, lsr: 0x00020003, dlsr: 16384,
    }] });
    expect(sdes).toMatchObject({ type: 'sdes', chunks: [{ ssrc: 0x55, items: [{ text: 'cname-x' }] }] });
    rx.close();
    expect(track.onRtp).toBeUndefined();
  });

  it('sends receiver reports on its own timer', () => {
    const track = new FakeTrack();
    const clock = new ManualClock();
    const rx = new RtpReceiver(track.asTrack(), { clock, reportIntervalMs: 1000 });
    track.onRtp!(rtp(1, 0));
    clock.advance(3100); // intervals randomised in 500..1500 ms: at least 2 reports
    expect(track.sent.length).toBeGreaterThanOrEqual(2);
    rx.close();
    const n = track.sent.length;
    clock.advance(5000);
    expect(track.sent.length).toBe(n);
  });
});
