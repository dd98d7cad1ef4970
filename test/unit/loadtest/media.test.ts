import { describe, expect, it } from 'vitest';
import { SendLog } from '../../../src/loadtest/media.js';
import type { MediaTrack } from '../../../src/rtc/media-track.js';

function fakeTrack(ssrc: number) {
  const sent: Buffer[] = [];
  const track = { localSsrc: ssrc, send: (p: Buffer) => { sent.push(Buffer.from(p)); return true; } };
  return { track: track as unknown as MediaTrack, sent };
}

/** An RTP header: V=2, PT 111, the given sequence number, SSRC. */
function rtp(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80; b[1] = 111;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

describe('SendLog', () => {
  it('keys a stream by a name when asked (through an SFU the SSRC changes; the publisher id does not)', () => {
    const log = new SendLog();
    const { track } = fakeTrack(0x1234);
    const read = log.lookup('publisher-a'); // made before the stream exists: resolved on use
    log.watch(track, 'publisher-a');
    const before = performance.now();
    track.send(rtp(42, 0x1234));
    expect(read(42, before + 3)).toBeGreaterThan(2);
    expect(log.lookup(0x1234)(42, before + 3)).toBeUndefined();
  });

  it('times each RTP packet by SSRC and sequence number and still sends it', () => {
    const log = new SendLog();
    const { track, sent } = fakeTrack(0xdeadbeef);
    log.watch(track);
    const before = performance.now();
    expect(track.send(rtp(65535, 0xdeadbeef))).toBe(true);
    const after = performance.now();
    expect(sent).toHaveLength(1);
    // Timed at the send, between `before` and `after` (a loaded machine may take a while there).
    const ms = log.lookup(0xdeadbeef)(65535, before + 5)!;
    expect(ms).toBeGreaterThanOrEqual(before + 5 - after);
    expect(ms).toBeLessThanOrEqual(5);
  });

  it('knows nothing of RTCP, other SSRCs, forgotten streams or packets pushed out of the ring', () => {
    const log = new SendLog();
    const { track } = fakeTrack(7);
    log.watch(track);
    const rr = rtp(0, 7);
    rr[1] = 201; // RTCP RR: bytes 2-3 are a length, not a sequence number
    track.send(rr);
    expect(log.lookup(7)(0, performance.now())).toBeUndefined();
    track.send(rtp(10, 7));
    expect(log.lookup(8)(10, performance.now())).toBeUndefined();
    track.send(rtp(10 + 512, 7)); // same slot, newer packet
    expect(log.lookup(7)(10, performance.now())).toBeUndefined();
    expect(log.lookup(7)(522, performance.now())).toBeDefined();
    log.forget(7);
    // A reader made after forget() finds nothing (one made before keeps the stream it found).
    expect(log.lookup(7)(522, performance.now())).toBeUndefined();
  });
});
