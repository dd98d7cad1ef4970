import { describe, expect, it } from 'vitest';
import { parseRtpHeader, writeRtpHeader } from '../../../src/media/rtp.js';
import { parseVp8Descriptor } from '../../../src/media/vp8.js';
import { RtpRewriter } from '../../../src/sfu/rtp-rewriter.js';

/** A VP8 packet as a simulcast layer sends it: 15-bit picture id, TL0PICIDX, T byte. */
function vp8Packet(ssrc: number, seq: number, ts: number, pictureId: number, tl0: number, key: boolean, start = true): Buffer {
  const payload = Buffer.from([start ? 0x90 : 0x80, 0xe0, 0x80 | (pictureId >> 8), pictureId & 0xff, tl0, 0x20, key ? 0x50 : 0x51, 0xaa]);
  const header = { padding: false, marker: true, payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc, csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined };
  const out = Buffer.alloc(12 + payload.length);
  writeRtpHeader(header, out, 0);
  payload.copy(out, 12);
  return out;
}

function send(rw: RtpRewriter, packet: Buffer, nowMs: number) {
  const h = parseRtpHeader(packet);
  const d = parseVp8Descriptor(packet.subarray(h.payloadOffset));
  const ok = rw.rewrite(packet, h, nowMs, d);
  const out = parseRtpHeader(packet);
  const od = parseVp8Descriptor(packet.subarray(out.payloadOffset));
  return { ok, seq: out.sequenceNumber, ts: out.timestamp, ssrc: out.ssrc, pt: out.payloadType, pic: od.pictureId, tl0: od.tl0PicIdx, bytes: packet };
}

describe('RtpRewriter', () => {
  const options = { ssrc: 0x0a0b0c0d, payloadType: 100, clockRate: 90000, vp8: true };

  it('passes the first stream through with our SSRC and payload type, byte for byte otherwise', () => {
    const rw = new RtpRewriter(options);
    const p = vp8Packet(1111, 500, 9000, 300, 7, true);
    const before = Buffer.from(p);
    const r = send(rw, p, 0);
    expect(r).toMatchObject({ ok: true, seq: 500, ts: 9000, ssrc: 0x0a0b0c0d, pt: 100, pic: 300, tl0: 7 });
    expect(p.toString('hex')).toBe(before.toString('hex').replace(/^(80e0)(....)(........)(00000457)/, '80e4$2$30a0b0c0d'));
    expect(rw.lastSequenceNumber).toBe(500);
    expect(rw.lastTimestamp).toBe(9000);
  });

  it('a switch continues sequence, timestamp (by elapsed time), picture id and TL0PICIDX', () => {
    const rw = new RtpRewriter(options);
    send(rw, vp8Packet(1111, 500, 9000, 300, 7, true), 0);
    send(rw, vp8Packet(1111, 501, 12000, 301, 8, false), 33);
    // Layer 2 has its own, unrelated numbering; its key frame arrives 40 ms later.
    const r = send(rw, vp8Packet(2222, 40000, 777777, 9000, 200, true), 73);
    expect(r).toMatchObject({ ok: true, seq: 502, ts: 12000 + 40 * 90, pic: 302, tl0: 9, ssrc: 0x0a0b0c0d });
    const next = send(rw, vp8Packet(2222, 40001, 777777 + 3000, 9001, 201, false), 106);
    expect(next).toMatchObject({ seq: 503, ts: 12000 + 3600 + 3000, pic: 303, tl0: 10 });
    expect(rw.switches).toBe(2);
    expect(rw.timestampOffsetOf(2222)).toBe((12000 + 3600 - 777777) >>> 0);
  });

  it('wraps sequence numbers at 2^16, timestamps at 2^32 and picture ids at 2^15 across a switch', () => {
    const rw = new RtpRewriter(options);
    send(rw, vp8Packet(1, 0xffff, 0xffffff00, 0x7fff, 0xff, true), 0);
    const r = send(rw, vp8Packet(2, 10, 5, 1, 3, true), 10);
    expect(r).toMatchObject({ seq: 0, ts: (0xffffff00 + 900) >>> 0, pic: 0, tl0: 0 });
    const r2 = send(rw, vp8Packet(2, 11, 3005, 2, 4, false), 43);
    expect(r2).toMatchObject({ seq: 1, ts: (0xffffff00 + 900 + 3000) >>> 0, pic: 1, tl0: 1 });
  });

  it('keeps reordering within a source, and drops packets older than the switch to it', () => {
    const rw = new RtpRewriter(options);
    send(rw, vp8Packet(1, 100, 0, 10, 1, true), 0);
    send(rw, vp8Packet(2, 1000, 50000, 500, 60, true), 20); // switch: 1000 → 101
    expect(send(rw, vp8Packet(2, 1002, 50000, 500, 60, false, false), 21)).toMatchObject({ ok: true, seq: 103 });
    expect(send(rw, vp8Packet(2, 1001, 50000, 500, 60, false, false), 22)).toMatchObject({ ok: true, seq: 102 });
    expect(rw.lastSequenceNumber).toBe(103); // the late one does not move "last" back
    expect(send(rw, vp8Packet(2, 999, 47000, 499, 59, false), 23).ok).toBe(false);
  });

  it('restart: after a pause the same source continues from the last packet sent, no gap', () => {
    const rw = new RtpRewriter(options);
    send(rw, vp8Packet(1, 100, 9000, 10, 1, true), 0);
    rw.restart();
    // 50 packets and a second later the same source comes back at a key frame.
    expect(send(rw, vp8Packet(1, 150, 99000, 40, 31, true), 1000)).toMatchObject({ ok: true, seq: 101, ts: 9000 + 90000, pic: 11, tl0: 2 });
    expect(send(rw, vp8Packet(1, 151, 102000, 41, 32, false), 1033)).toMatchObject({ seq: 102, ts: 9000 + 90000 + 3000, pic: 12 });
  });

  it('a 7-bit picture id continues modulo 128', () => {
    const rw = new RtpRewriter(options);
    const short = (ssrc: number, seq: number, pic: number) => {
      const payload = Buffer.from([0x90, 0x80, pic & 0x7f, 0x50]);
      const out = Buffer.alloc(16);
      writeRtpHeader({ padding: false, marker: true, payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc, csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined }, out, 0);
      payload.copy(out, 12);
      return out;
    };
    send(rw, short(1, 1, 127), 0);
    expect(send(rw, short(2, 50, 40), 33).pic).toBe(0);
    expect(send(rw, short(2, 51, 41), 66).pic).toBe(1);
  });

  it('forwards a long stream across sequence wraps: 70,000 packets of one source all pass, in order', () => {
    // The guard against the source's packets from before the switch once turned on itself
    // 32,768 packets later (seqDiff past half the space reads as "older"): minutes of video dropped.
    const rw = new RtpRewriter(options);
    let passed = 0;
    let last = -1;
    for (let i = 0; i < 70_000; i++) {
      const r = send(rw, vp8Packet(1111, (60_000 + i) & 0xffff, 9000 + 3000 * i, i & 0x7fff, i & 0xff, i === 0), i);
      if (!r.ok) continue;
      passed++;
      if (last >= 0) expect(r.seq).toBe((last + 1) & 0xffff);
      last = r.seq;
    }
    expect(passed).toBe(70_000);
  });

  it('still drops the new source\'s packets from before the switch, reordered behind it', () => {
    const rw = new RtpRewriter(options);
    expect(send(rw, vp8Packet(1111, 100, 0, 1, 1, true), 0).ok).toBe(true);
    expect(send(rw, vp8Packet(2222, 5000, 0, 50, 9, true), 10).ok).toBe(true);
    expect(send(rw, vp8Packet(2222, 4999, 0, 49, 9, false), 11).ok).toBe(false);
    expect(send(rw, vp8Packet(2222, 5001, 0, 51, 9, false), 12).ok).toBe(true);
  });
});
