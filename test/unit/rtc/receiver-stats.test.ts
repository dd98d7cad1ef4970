import { describe, expect, it } from 'vitest';
import { ReceiverStats } from '../../../src/rtc/receiver-stats.js';

/** Feeds packets `seqs` as 20 ms Opus frames (960 ticks) arriving every 20 ms unless `arrivals` says otherwise. */
function feed(stats: ReceiverStats, seqs: number[], arrivals?: number[], tsOf = (seq: number) => seq * 960) {
  seqs.forEach((seq, i) => stats.onPacket(seq, tsOf(seq), arrivals ? arrivals[i]! : 1000 + i * 20, 100));
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) & 0xffff);

describe('ReceiverStats (RFC 3550 A.1/A.3/A.8)', () => {
  it('counts a clean stream: nothing lost, zero jitter at a steady pace', () => {
    const s = new ReceiverStats(1, 48000, 1);
    feed(s, range(100, 50));
    expect(s.snapshot()).toEqual({ ssrc: 1, received: 50, extendedHighestSeq: 149, expected: 50, cumulativeLost: 0, jitter: 0, jitterMs: 0, bytes: 5000 });
    expect(s.reportBlock(2000)).toMatchObject({ ssrc: 1, fractionLost: 0, packetsLost: 0, highestSeq: 149, jitter: 0, lsr: 0, dlsr: 0 });
  });

  it('holds the first packet in probation with the RFC default of 2 sequential packets', () => {
    const s = new ReceiverStats(1, 48000);
    expect(s.onPacket(10, 0, 0)).toBe(false);
    expect(s.onPacket(11, 960, 20)).toBe(true);
    expect(s.snapshot()).toMatchObject({ received: 1, expected: 1, extendedHighestSeq: 11 });
    // Non-sequential start: probation restarts.
    const t = new ReceiverStats(2, 48000);
    expect([t.onPacket(10, 0, 0), t.onPacket(50, 0, 0), t.onPacket(51, 960, 20)]).toEqual([false, false, true]);
  });

  it('extends the sequence across the wrap at 65535', () => {
    const s = new ReceiverStats(1, 48000, 1);
    feed(s, range(65530, 12)); // 65530..65535, 0..5
    expect(s.snapshot()).toMatchObject({ received: 12, extendedHighestSeq: 65536 + 5, expected: 12, cumulativeLost: 0 });
  });

  it('every 10th packet lost gives fraction 25/256 and the cumulative count', () => {
    const s = new ReceiverStats(1, 48000, 1);
    feed(s, range(0, 100).filter((q) => q % 10 !== 9)); // 9, 19, ... 99 lost: highest is 98
    expect(s.snapshot()).toMatchObject({ received: 90, expected: 99, cumulativeLost: 9 });
    const block = s.reportBlock(3000);
    expect(block.fractionLost).toBe(Math.floor((9 * 256) / 99));
    // Next interval: 10 more, none lost.
    feed(s, range(99, 10));
    expect(s.reportBlock(3200)).toMatchObject({ fractionLost: 0, packetsLost: 9, highestSeq: 108 });
  });

  it('reordering is not loss, and duplicates make the loss negative (as RFC 3550 counts)', () => {
    const s = new ReceiverStats(1, 48000, 1);
    feed(s, [0, 1, 3, 2, 4, 5]);
    expect(s.snapshot()).toMatchObject({ received: 6, extendedHighestSeq: 5, cumulativeLost: 0 });
    feed(s, [5, 5]);
    expect(s.snapshot()).toMatchObject({ received: 8, cumulativeLost: -2 });
    expect(s.reportBlock(0).fractionLost).toBe(0);
  });

  it('a reorder across the wrap does not add a cycle', () => {
    const s = new ReceiverStats(1, 48000, 1);
    feed(s, [65534, 65535, 1, 0, 2]);
    expect(s.snapshot()).toMatchObject({ received: 5, extendedHighestSeq: 65536 + 2, cumulativeLost: 0 });
  });

  it('a big jump counts only when two sequential packets confirm a restart', () => {
    const s = new ReceiverStats(1, 48000, 1);
    feed(s, range(0, 10));
    expect(s.onPacket(30000, 0, 2000)).toBe(false);
    expect(s.snapshot().received).toBe(10);
    expect(s.onPacket(30001, 960, 2020)).toBe(true);
    expect(s.snapshot()).toMatchObject({ received: 1, expected: 1, extendedHighestSeq: 30001 });
  });

  it('jitter follows A.8: alternating 0/+10 ms arrival offsets converge toward 480 ticks', () => {
    const s = new ReceiverStats(1, 48000, 1);
    const seqs = range(0, 400);
    feed(s, seqs, seqs.map((q) => 1000 + q * 20 + (q % 2 ? 10 : 0)));
    const snap = s.snapshot();
    // |D| is 480 ticks (10 ms) for every packet: J -> 480.
    expect(snap.jitter).toBeGreaterThan(475);
    expect(snap.jitter).toBeLessThanOrEqual(480);
    expect(snap.jitterMs).toBeCloseTo(snap.jitter / 48, 0);
  });

  it('jitter is wrap-safe on the RTP timestamp', () => {
    const s = new ReceiverStats(1, 48000, 1);
    const base = 0xffffffff - 960 * 5;
    feed(s, range(0, 20), undefined, (q) => (base + q * 960) >>> 0);
    expect(s.snapshot().jitter).toBe(0);
  });

  it('LSR is the middle 32 bits of the last SR and DLSR the delay since, in 1/65536 s', () => {
    const s = new ReceiverStats(1, 48000, 1);
    feed(s, range(0, 3));
    s.onSenderReport(0x12345678, 0x9abcdef0, 5000);
    expect(s.reportBlock(5500)).toMatchObject({ lsr: 0x56789abc, dlsr: 32768 });
  });

  it('clamps cumulative loss to the signed 24-bit field', () => {
    const s = new ReceiverStats(1, 48000, 1);
    s.onPacket(0, 0, 0);
    // Simulate a huge loss with jumps under MAX_DROPOUT, many times around the wrap.
    let seq = 0;
    for (let i = 0; i < 3000; i++) { seq = (seq + 2999) & 0xffff; s.onPacket(seq, 0, 0); }
    expect(s.snapshot().cumulativeLost).toBe(0x7fffff);
  });
});
