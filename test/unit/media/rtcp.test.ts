import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  buildRtcp, fractionLost, nackItemsFromSeqs, ntpFromUnixMs, ntpMiddle32, parseRtcp, rttMs, seqsFromNackItems, updateJitter,
} from '../../../src/media/rtcp.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

function roundTrip(bytes: Buffer): ReturnType<typeof parseRtcp> {
  const packets = parseRtcp(bytes);
  expect(buildRtcp(packets).toString('hex')).toBe(bytes.toString('hex'));
  return packets;
}

describe('RTCP', () => {
  it('parses and rebuilds a compound SR + SDES byte-exactly', () => {
    const packets = roundTrip(hex(`
      80 c8 0006  # V=2 RC=0 PT=200 SR, 7 words
      11223344    # SSRC
      e1a2b3c4    # NTP seconds
      80000000    # NTP fraction (0.5 s)
      0000f000    # RTP timestamp
      00000032    # 50 packets
      00001f40    # 8000 octets
      81 ca 0006  # V=2 SC=1 PT=202 SDES, 7 words
      11223344    # chunk SSRC
      01 10 6162636465666768696a6b6c6d6e6f70  # CNAME, 16 bytes "abcdefghijklmnop"
      00 00       # end of items, pad to the word
    `));
    expect(packets).toEqual([
      { type: 'sr', ssrc: 0x11223344, ntpSeconds: 0xe1a2b3c4, ntpFraction: 0x80000000, rtpTimestamp: 0xf000, packetCount: 50, octetCount: 8000, reports: [] },
      { type: 'sdes', chunks: [{ ssrc: 0x11223344, items: [{ type: 1, text: 'abcdefghijklmnop' }] }] },
    ]);
  });

  it('parses a receiver report block with a negative cumulative loss', () => {
    const [rr] = roundTrip(hex(`
      81 c9 0007  # RC=1 PT=201 RR, 8 words
      00000001    # reporter SSRC
      deadbeef    # reportee SSRC
      40          # fraction lost 64/256
      ffffff      # cumulative lost -1 (duplicates)
      00011388    # extended highest seq: 1 cycle, seq 5000
      00000010    # jitter 16
      b7052000    # LSR
      00054000    # DLSR 5.25 s
    `));
    expect(rr).toEqual({ type: 'rr', ssrc: 1, reports: [{ ssrc: 0xdeadbeef, fractionLost: 64, packetsLost: -1, highestSeq: 0x11388, jitter: 16, lsr: 0xb7052000, dlsr: 0x54000 }] });
  });

  it('parses BYE with a reason, NACK, PLI and keeps unknown feedback raw', () => {
    const packets = roundTrip(hex(`
      81 cb 0003  # SC=1 PT=203 BYE, 4 words
      11223344
      04 62796521 000000  # reason "bye!" and padding
      81 cd 0003  # FMT=1 PT=205 generic NACK
      00000001    # sender SSRC
      11223344    # media SSRC
      0064 0005   # PID 100, BLP 0b101: 100, 101, 103 lost
      81 ce 0002  # FMT=1 PT=206 PLI
      00000001 11223344
      8f ce 0004  # FMT=15 PT=206 application layer feedback that is not REMB
      00000001 00000000 41424344 010a3f1e
    `));
    expect(packets[0]).toEqual({ type: 'bye', ssrcs: [0x11223344], reason: 'bye!' });
    expect(packets[1]).toEqual({ type: 'nack', senderSsrc: 1, mediaSsrc: 0x11223344, items: [{ pid: 100, blp: 5 }] });
    const nack = packets[1];
    if (nack?.type !== 'nack') throw new Error('expected a NACK');
    expect(seqsFromNackItems(nack.items)).toEqual([100, 101, 103]);
    expect(packets[2]).toEqual({ type: 'pli', senderSsrc: 1, mediaSsrc: 0x11223344 });
    expect(packets[3]).toMatchObject({ type: 'other', packetType: 206, count: 15 });
  });

  it('strips RTCP padding (P bit) when parsing', () => {
    const [rr] = parseRtcp(hex('a0 c9 0002 00000007 00000004'));
    expect(rr).toEqual({ type: 'rr', ssrc: 7, reports: [] });
  });

  it.each([
    ['an empty buffer', '', 0],
    ['a header cut short', '80c9', 0],
    ['version 1', '40 c9 0001 00000001', 0],
    ['a length past the end', '80 c8 0006 11223344 e1a2b3c4', 0],
    ['a second packet past the end', '80 c9 0001 00000001 81 c9 0007 00000001', 8],
    ['a report count larger than the packet', '82 c9 0007 00000001' + '00'.repeat(24), 4],
    ['an SDES item past the packet', '81 ca 0002 00000001 01 09 6162', 8],
  ])('throws PARSE_ERROR with the offset on %s', (_name, bytes, offset) => {
    expect(() => parseRtcp(hex(bytes))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR', message: expect.stringContaining(`offset ${offset}`) }));
  });

  it('builds NACK items from lost sequence numbers across wrap-around', () => {
    expect(nackItemsFromSeqs([103, 100, 101, 100])).toEqual([{ pid: 100, blp: 0b101 }]);
    expect(nackItemsFromSeqs([65535, 0, 17])).toEqual([{ pid: 65535, blp: 1 }, { pid: 17, blp: 0 }]);
    expect(seqsFromNackItems(nackItemsFromSeqs([65535, 0, 16, 17]))).toEqual([65535, 0, 16, 17]);
  });
});

describe('RTCP arithmetic', () => {
  it('computes RTT from LSR and DLSR as in RFC 3550 figure 2 (6.125 s)', () => {
    expect(rttMs(0xb7108000, 0xb7052000, 0x00054000)).toBe(6125);
    expect(rttMs(0x00000010, 0xfffffff0, 0)).toBeCloseTo((0x20 / 65536) * 1000); // across wrap
    expect(rttMs(0x12345678, 0, 0)).toBeUndefined();
    // "now" a hair before LSR + DLSR (millisecond clocks on loopback): ~0, not ~65,536 s
    expect(rttMs(0x00010000, 0x00010000, 0x00000010)).toBe(0);
  });

  it('converts Unix ms to NTP and takes the middle 32 bits', () => {
    expect(ntpFromUnixMs(0)).toEqual({ seconds: 2208988800, fraction: 0 });
    expect(ntpFromUnixMs(1500)).toEqual({ seconds: 2208988801, fraction: 0x80000000 });
    expect(ntpMiddle32(0x12345678, 0x9abcdef0)).toBe(0x56789abc);
  });

  it('computes fraction lost and jitter steps', () => {
    expect(fractionLost(100, 75)).toBe(64);
    expect(fractionLost(100, 101)).toBe(0);
    expect(fractionLost(0, 0)).toBe(0);
    expect(updateJitter(0, -160)).toBe(10);
  });
});

describe('captured Chromium RTCP', () => {
  // test/fixtures/media/capture-chromium.ts: Chromium's first compound RTCP packet (SR + SDES)
  const bytes = readFileSync(new URL('../../fixtures/media/chromium-rtcp.bin', import.meta.url));

  it('parses SR + SDES CNAME and rebuilds it byte-exactly', () => {
    const packets = roundTrip(bytes);
    expect(packets.map((p) => p.type)).toEqual(['sr', 'sdes']);
    const [sr, sdes] = packets as [Extract<typeof packets[number], { type: 'sr' }>, Extract<typeof packets[number], { type: 'sdes' }>];
    expect(sdes.chunks[0]!.ssrc).toBe(sr.ssrc);
    expect(sdes.chunks[0]!.items[0]).toMatchObject({ type: 1 });
    expect(sdes.chunks[0]!.items[0]!.text).toMatch(/^[A-Za-z0-9+/]{16}$/);
  });
});
