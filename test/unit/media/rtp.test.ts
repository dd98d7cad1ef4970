import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  blankRtpHeaderExtensions, isRtcp, parseRtpHeader, rtpHeaderLength, seqDiff, seqLt, setRtpPayloadType, setRtpSequenceNumber, setRtpSsrc, setRtpTimestamp,
  tsDiff, unwrapSeq, writeRtpHeader, type RtpHeader,
} from '../../../src/media/rtp.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

/** Parses, checks that re-writing the header gives the same bytes, returns the parse. */
function roundTrip(bytes: Buffer): ReturnType<typeof parseRtpHeader> {
  const p = parseRtpHeader(bytes);
  const out = Buffer.alloc(p.payloadOffset + 4, 0x55);
  expect(rtpHeaderLength(p)).toBe(p.payloadOffset);
  expect(writeRtpHeader(p, out, 4)).toBe(p.payloadOffset);
  expect(out.subarray(4).toString('hex')).toBe(bytes.subarray(0, p.payloadOffset).toString('hex'));
  expect(out.subarray(0, 4).toString('hex')).toBe('55555555'); // nothing before `offset` touched
  return p;
}

describe('RTP header', () => {
  it('parses and re-writes a plain Opus packet byte-exactly', () => {
    const p = roundTrip(hex(`
      80          # V=2 P=0 X=0 CC=0
      6f          # M=0 PT=111
      1234        # seq 4660
      000003c0    # timestamp 960
      deadbeef    # SSRC
      f8fffe      # payload (Opus TOC 0xf8...)
    `));
    expect(p).toMatchObject({
      padding: false, marker: false, payloadType: 111, sequenceNumber: 0x1234, timestamp: 960, ssrc: 0xdeadbeef,
      csrcs: [], extensionProfile: undefined, extensions: [], payloadOffset: 12, payloadLength: 3, paddingLength: 0,
    });
  });

  it('parses CSRCs, the marker and RFC 8285 one-byte extensions', () => {
    const bytes = hex(`
      92          # V=2 P=0 X=1 CC=2
      ef          # M=1 PT=111
      ffff        # seq 65535
      ffffffff    # timestamp 2^32-1
      00000001    # SSRC 1
      0000000a    # CSRC 10
      0000000b    # CSRC 11
      bede 0002   # one-byte profile, 2 words
      10 ff       #   id 1, 1 byte: audio level (V=1, -127 dBov)
      22 010203   #   id 2, 3 bytes: abs-send-time
      0000        #   padding
      aabb        # payload
    `);
    const p = roundTrip(bytes);
    expect(p).toMatchObject({ marker: true, sequenceNumber: 65535, timestamp: 0xffffffff, csrcs: [10, 11], extensionProfile: 0xbede, payloadOffset: 32, payloadLength: 2 });
    expect(p.extensions.map((e) => [e.id, Buffer.from(e.value).toString('hex')])).toEqual([[1, 'ff'], [2, '010203']]);
  });

  it('parses two-byte extensions (with a zero-length element) and padding', () => {
    const bytes = hex(`
      b0 60 0001 00000002 00000003   # V=2 P=1 X=1 CC=0, PT=96, seq 1, ts 2, SSRC 3
      1000 0002   # two-byte profile (appbits 0), 2 words
      20 00       #   id 32, 0 bytes
      01 01 aa    #   id 1, 1 byte
      000000      #   padding to the word
      aabb        # payload
      000003      # RTP padding, count 3
    `);
    const p = roundTrip(bytes);
    expect(p.extensions.map((e) => [e.id, e.value.length])).toEqual([[32, 0], [1, 1]]);
    expect(p).toMatchObject({ padding: true, payloadOffset: 24, payloadLength: 2, paddingLength: 3 });
  });

  it('blanks two-byte extensions after CSRCs, and leaves a packet without extensions alone', () => {
    const bytes = hex(`
      91 60 0001 00000002 00000003   # V=2 X=1 CC=1, PT=96
      00000009                       # CSRC 9
      1000 0001   # two-byte profile, 1 word
      01 01 aa 00 #   id 1, 1 byte, padding
      aabb        # payload
    `);
    blankRtpHeaderExtensions(bytes, parseRtpHeader(bytes));
    expect(bytes.toString('hex')).toBe('916000010000000200000003' + '00000009' + '10000001' + '00000000' + 'aabb');
    const plain = hex('80600001 00000002 00000003 aabb');
    blankRtpHeaderExtensions(plain, parseRtpHeader(plain));
    expect(plain.toString('hex')).toBe('806000010000000200000003aabb');
  });

  it('stops at ID 15 in the one-byte form and keeps unknown profiles raw', () => {
    const stop = parseRtpHeader(hex('90000000 00000000 00000000 bede0001 10 01 f0 00'));
    expect(stop.extensions.map((e) => e.id)).toEqual([1]);
    const raw = roundTrip(hex('90000000 00000000 00000000 abcd0001 01020304'));
    expect(raw.extensionProfile).toBe(0xabcd);
    expect(Buffer.from(raw.extensionData!).toString('hex')).toBe('01020304');
  });

  it('chooses the extension form when writing a header built by hand', () => {
    const h: RtpHeader = {
      padding: false, marker: false, payloadType: 111, sequenceNumber: 7, timestamp: 8, ssrc: 9, csrcs: [],
      extensionProfile: undefined, extensions: [{ id: 3, value: Uint8Array.of(1, 2) }], extensionData: undefined,
    };
    const out = Buffer.alloc(rtpHeaderLength(h));
    writeRtpHeader(h, out, 0);
    expect(out.toString('hex')).toBe('906f0007' + '00000008' + '00000009' + 'bede0001' + '31010200');
    h.extensions = [{ id: 20, value: Uint8Array.of(1) }]; // id > 14 needs the two-byte form
    const two = Buffer.alloc(rtpHeaderLength(h));
    writeRtpHeader(h, two, 0);
    expect(two.subarray(12).toString('hex')).toBe('10000001' + '14010100');
    expect(() => writeRtpHeader(h, Buffer.alloc(10), 0)).toThrow(TypeError);
  });

  it.each([
    ['shorter than 12 bytes', '80 6f 0000 00000000 000000', 11],
    ['version 1', '40 6f 0000 00000000 00000000', 0],
    ['CSRC count past the end', '83 6f 0000 00000000 00000000 00000001', 12],
    ['extension length past the end', '90 6f 0000 00000000 00000000 bede0002 10ff0000', 12],
    ['extension element past its block', '90 6f 0000 00000000 00000000 bede0001 33ff0000', 17],
    ['padding count larger than the packet', 'a0 6f 0000 00000000 00000000 aa 09', 13],
    ['padding count 0', 'a0 6f 0000 00000000 00000000 aa 00', 13],
  ])('throws PARSE_ERROR with the offset on %s', (_name, bytes, offset) => {
    expect(() => parseRtpHeader(hex(bytes))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR', message: expect.stringContaining(`offset ${offset}`) }));
  });

  it('rewrites SSRC, sequence number and timestamp in place', () => {
    const buf = hex('806f0000 00000000 00000000 aa');
    setRtpSsrc(buf, 0xcafebabe);
    setRtpSequenceNumber(buf, 0x10001); // wraps to 1
    setRtpTimestamp(buf, -1);
    expect(buf.toString('hex')).toBe('806f0001ffffffffcafebabeaa');
    expect(() => setRtpSsrc(Buffer.alloc(4), 1)).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });

  it('rewrites the payload type in place and keeps the marker bit', () => {
    const marked = hex('80ef0001 00000000 00000000 aa'); // M=1, PT=111
    setRtpPayloadType(marked, 96);
    expect(marked.toString('hex')).toBe('80e0000100000000' + '00000000aa'); // M=1, PT=96, the rest untouched
    const unmarked = hex('806f0001 00000000 00000000 aa'); // M=0, PT=111
    setRtpPayloadType(unmarked, 0);
    expect(unmarked.subarray(0, 2).toString('hex')).toBe('8000');
    expect(() => setRtpPayloadType(hex('80000001 00000000 00000000'), 128)).toThrow(TypeError);
    expect(() => setRtpPayloadType(Buffer.alloc(4), 1)).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });
});

describe('sequence and timestamp arithmetic', () => {
  it('handles wrap-around', () => {
    expect(seqDiff(0, 65535)).toBe(1);
    expect(seqDiff(65535, 0)).toBe(-1);
    expect(seqDiff(100, 90)).toBe(10);
    expect(seqDiff(32768, 0)).toBe(-32768);
    expect(seqLt(65535, 0)).toBe(true);
    expect(seqLt(0, 65535)).toBe(false);
    expect(tsDiff(0, 0xffffffff)).toBe(1);
    expect(tsDiff(5, 10)).toBe(-5);
    expect(tsDiff(960, 0)).toBe(960);
    expect(unwrapSeq(2, 65534)).toBe(65538);
    expect(unwrapSeq(65534, 65538)).toBe(65534);
    expect(unwrapSeq(5, 3 * 65536 + 4)).toBe(3 * 65536 + 5);
  });

  it('tells RTCP from RTP by the second byte (RFC 5761)', () => {
    expect(isRtcp(Uint8Array.of(0x80, 200))).toBe(true);
    expect(isRtcp(Uint8Array.of(0x81, 223))).toBe(true);
    expect(isRtcp(Uint8Array.of(0x80, 191))).toBe(false);
    expect(isRtcp(Uint8Array.of(0x80, 0x6f))).toBe(false); // PT 111
    expect(isRtcp(Uint8Array.of(0x80, 0xef))).toBe(false); // M=1 PT 111 = 239
    expect(isRtcp(Uint8Array.of(0x80))).toBe(false);
  });
});

describe('captured Chromium packet', () => {
  // test/fixtures/media/capture-chromium.ts: the 100th RTP packet Chromium 156 sent from its fake microphone
  const bytes = readFileSync(new URL('../../fixtures/media/chromium-opus-rtp.bin', import.meta.url));

  it('parses its one-byte extensions and round-trips the header', () => {
    const p = roundTrip(bytes);
    expect(p).toMatchObject({ payloadType: 111, marker: false, csrcs: [], extensionProfile: 0xbede, payloadOffset: 28, paddingLength: 0 });
    // ids as negotiated: 1 audio level, 2 abs-send-time, 3 transport-wide seq, 4 mid
    expect(p.extensions.map((e) => [e.id, e.value.length])).toEqual([[2, 3], [3, 2], [4, 1], [1, 1]]);
    expect(Buffer.from(p.extensions[2]!.value).toString()).toBe('0'); // mid "0"
    expect(p.payloadLength).toBe(bytes.length - 28);
    expect(p.payloadLength).toBeGreaterThan(0);
  });

  it('blanking its extensions leaves the block as padding: same length and payload, no element, header otherwise as sent', () => {
    const packet = Buffer.from(bytes);
    blankRtpHeaderExtensions(packet, parseRtpHeader(packet));
    // 12-byte header and the BEDE block header kept; its 12 bytes of elements now all zero.
    expect(packet.subarray(0, 16).equals(bytes.subarray(0, 16))).toBe(true);
    expect(packet.subarray(16, 28).toString('hex')).toBe('00'.repeat(12));
    expect(packet.subarray(28).equals(bytes.subarray(28))).toBe(true);
    const p = parseRtpHeader(packet);
    expect(p).toMatchObject({ extensionProfile: 0xbede, extensions: [], payloadOffset: 28 });
  });
});
