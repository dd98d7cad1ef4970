import { describe, expect, it } from 'vitest';
import { buildRtcp, parseRtcp, type RtcpPacket } from '../../../src/media/rtcp.js';
import { KeyframeRequester } from '../../../src/sfu/keyframe-requester.js';
import { NackResponder } from '../../../src/sfu/nack-responder.js';
import { PacketCache } from '../../../src/sfu/packet-cache.js';
import { buildForwardedSenderReport } from '../../../src/sfu/sender-report.js';
import { ManualClock } from '../../helpers/clock.js';

describe('FIR and REMB wire format', () => {
  it('FIR (RFC 5104 §4.3.1) byte for byte, and back', () => {
    const fir: RtcpPacket = { type: 'fir', senderSsrc: 0x01020304, entries: [{ ssrc: 0xaabbccdd, seq: 7 }] };
    const bytes = buildRtcp([fir]);
    expect(bytes.toString('hex')).toBe('84ce0004' + '01020304' + '00000000' + 'aabbccdd' + '07000000');
    expect(parseRtcp(bytes)).toEqual([fir]);
  });

  it('REMB byte for byte: 1,500,000 bit/s is mantissa 187500 << 3', () => {
    const remb: RtcpPacket = { type: 'remb', senderSsrc: 1, bitrate: 1_500_000, ssrcs: [0x11111111, 0x22222222] };
    const bytes = buildRtcp([remb]);
    // FMT 15, PT 206, length 6; sender; media 0; "REMB"; n=2, exp 3, mantissa 187500 (0x2dc6c)
    expect(bytes.toString('hex')).toBe('8fce0006' + '00000001' + '00000000' + '52454d42' + '020edc6c' + '11111111' + '22222222');
    expect(parseRtcp(bytes)).toEqual([remb]);
  });

  it('a REMB bitrate that does not fit 18 bits is rounded down, never up', () => {
    const [p] = parseRtcp(buildRtcp([{ type: 'remb', senderSsrc: 1, bitrate: 1_000_001, ssrcs: [] }]));
    expect(p).toMatchObject({ type: 'remb' });
    const bitrate = (p as { bitrate: number }).bitrate;
    expect(bitrate).toBeLessThanOrEqual(1_000_001);
    expect(bitrate).toBeGreaterThan(999_990);
  });

  it('a truncated FIR is PARSE_ERROR; PLI still parses as before', () => {
    expect(() => parseRtcp(Buffer.from('84ce000101020304', 'hex'))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
    expect(parseRtcp(Buffer.from('81ce00020000000100000002', 'hex'))).toEqual([{ type: 'pli', senderSsrc: 1, mediaSsrc: 2 }]);
  });
});

describe('PacketCache and NackResponder', () => {
  it('answers a NACK with the cached packets in order, once per 100 ms, nothing older than a second', () => {
    const clock = new ManualClock(0);
    const cache = new PacketCache(8);
    for (let seq = 0xfffe; seq !== 4; seq = (seq + 1) & 0xffff) cache.put(seq, Buffer.from([seq & 0xff, 1, 2]), clock.now());
    const nacks = new NackResponder({ clock });
    // PID 0xffff with BLP bits 0 and 1: 0xffff, 0, 1 (across the wrap); 9 was never sent.
    const nack = { type: 'nack' as const, senderSsrc: 1, mediaSsrc: 2, items: [{ pid: 0xffff, blp: 0b11 }, { pid: 9, blp: 0 }] };
    expect(nacks.packetsFor(nack, cache).map((b) => b.toString('hex'))).toEqual(['ff0102', '000102', '010102']);
    expect(nacks.counters).toEqual({ resent: 3, missing: 1, suppressed: 0 });
    clock.advance(50);
    expect(nacks.packetsFor(nack, cache)).toEqual([]);
    expect(nacks.counters.suppressed).toBe(3);
    clock.advance(60);
    expect(nacks.packetsFor(nack, cache)).toHaveLength(3);
    clock.advance(1000);
    expect(nacks.packetsFor(nack, cache)).toEqual([]); // too old to help
  });

  it('a slot reused by a newer sequence number no longer answers for the old one', () => {
    const cache = new PacketCache(4);
    cache.put(1, Buffer.from([1]), 0);
    cache.put(5, Buffer.from([5, 5]), 0);
    expect(cache.get(1, 0)).toBeUndefined();
    expect([...cache.get(5, 0)!]).toEqual([5, 5]);
    expect(() => new PacketCache(6)).toThrow(TypeError);
  });
});

describe('KeyframeRequester', () => {
  it('coalesces requests while one is outstanding, retries after 500 ms, and asks again once the key frame came', () => {
    const clock = new ManualClock(0);
    const sent: RtcpPacket[] = [];
    const k = new KeyframeRequester({ send: (b) => sent.push(...parseRtcp(b)), senderSsrc: 9, fir: false, clock });
    k.request(100);
    k.request(100);
    k.request(200);
    expect(sent).toEqual([{ type: 'pli', senderSsrc: 9, mediaSsrc: 100 }, { type: 'pli', senderSsrc: 9, mediaSsrc: 200 }]);
    clock.advance(499);
    k.request(100);
    expect(sent).toHaveLength(2);
    clock.advance(1);
    k.request(100);
    expect(sent).toHaveLength(3);
    k.keyframeArrived(100);
    k.request(100);
    expect(sent).toHaveLength(4);
    expect(k.counters()).toEqual({ sent: 4, coalesced: 2 });
  });

  it('FIR carries an increasing command sequence number; nothing after close', () => {
    const clock = new ManualClock(0);
    const sent: RtcpPacket[] = [];
    const k = new KeyframeRequester({ send: (b) => sent.push(...parseRtcp(b)), senderSsrc: 9, fir: true, clock });
    k.request(1);
    k.keyframeArrived(1);
    k.request(1);
    k.close();
    k.request(2);
    expect(sent).toEqual([
      { type: 'fir', senderSsrc: 9, entries: [{ ssrc: 1, seq: 0 }] },
      { type: 'fir', senderSsrc: 9, entries: [{ ssrc: 1, seq: 1 }] },
    ]);
  });
});

describe('buildForwardedSenderReport', () => {
  it('carries the publisher’s NTP↔RTP mapping into our timestamps, moved on to now', () => {
    // Publisher SR at Unix 1,000,000.5 s: NTP seconds 2208988800 + 1000000, fraction 2^31.
    const source = { ntpSeconds: 2208988800 + 1_000_000, ntpFraction: 2 ** 31, rtpTimestamp: 90_000 };
    const sr = buildForwardedSenderReport({
      ssrc: 5, packets: 10, octets: 1000, clockRate: 90000, lastTimestamp: 1, source, timestampOffset: 1000,
      nowMs: 1_000_000_500 + 2000,
    });
    expect(sr).toEqual({
      type: 'sr', ssrc: 5, ntpSeconds: 2208988800 + 1_000_002, ntpFraction: 2 ** 31, rtpTimestamp: 90_000 + 1000 + 180_000,
      packetCount: 10, octetCount: 1000, reports: [],
    });
  });

  it('without a publisher SR, the newest forwarded timestamp stands for now', () => {
    const sr = buildForwardedSenderReport({ ssrc: 5, packets: 1, octets: 2, clockRate: 48000, lastTimestamp: 4242, source: undefined, timestampOffset: 0, nowMs: 0 });
    expect(sr.rtpTimestamp).toBe(4242);
  });
});
