import { describe, expect, it } from 'vitest';
import { RtpJitterBuffer, type JitterPull } from '../../../src/media/rtp-jitter-buffer.js';

/** A payload that names its packet: a CELT FB 20 ms TOC, then the sequence number big-endian. */
const payload = (seq: number) => Uint8Array.of(0xf8, seq >> 8, seq & 0xff);

/** Pushes packets by sequence number. */
function push(jb: RtpJitterBuffer, ...seqs: number[]): void {
  for (const seq of seqs) jb.push(seq, payload(seq));
}

/** One pull, written short: `idle`, `under`, `play N`, `lost N` or `lost N+fec` (the next packet is there). */
function describePull(p: JitterPull): string {
  if (p.kind === 'packet') {
    // The bytes handed out are the packet's own, untouched.
    expect([...p.payload]).toEqual([...payload(p.seq)]);
    return `play ${p.seq}`;
  }
  if (p.kind === 'lost') {
    if (p.next) expect([...p.next]).toEqual([...payload((p.seq + 1) & 0xffff)]);
    return `lost ${p.seq}${p.next ? '+fec' : ''}`;
  }
  return p.kind === 'underrun' ? 'under' : 'idle';
}

function pulls(jb: RtpJitterBuffer, n: number): string[] {
  return Array.from({ length: n }, () => describePull(jb.pull()));
}

/** A steady start: `from` and `from + 1` pushed, the first played; `from + 1` waits. */
function started(from: number, options = {}): RtpJitterBuffer {
  const jb = new RtpJitterBuffer(options);
  push(jb, from, (from + 1) & 0xffff);
  expect(pulls(jb, 1)).toEqual([`play ${from}`]);
  return jb;
}

describe('RtpJitterBuffer', () => {
  it('starts once a 40 ms cushion is there, from the oldest packet, whatever the arrival order', () => {
    const jb = new RtpJitterBuffer();
    expect(pulls(jb, 2)).toEqual(['idle', 'idle']);
    push(jb, 101);
    expect(pulls(jb, 1)).toEqual(['idle']);
    push(jb, 100);
    expect(jb.level).toBe(2);
    expect(pulls(jb, 3)).toEqual(['play 100', 'play 101', 'under']);
    expect(jb.stats).toMatchObject({ received: 2, played: 2, lost: 0, concealed: 1, underruns: 1 });
  });

  it('a steady stream, one packet per tick, plays every packet with nothing concealed, 40 ms behind', () => {
    const jb = new RtpJitterBuffer();
    const out: string[] = [];
    for (let seq = 0; seq < 1000; seq++) {
      push(jb, seq);
      out.push(describePull(jb.pull()));
    }
    expect(out[0]).toBe('idle');
    expect(out.slice(1)).toEqual(Array.from({ length: 999 }, (_, i) => `play ${i}`));
    expect(jb.stats).toMatchObject({ played: 999, lost: 0, late: 0, duplicate: 0, concealed: 0, dropped: 0, underruns: 0 });
    expect(jb.target).toBe(2);
  });

  it('plays across the 65535 → 0 wrap in order, with packets reordered around it', () => {
    const jb = new RtpJitterBuffer();
    push(jb, 65534, 0, 65535);
    expect(pulls(jb, 2)).toEqual(['play 65534', 'play 65535']);
    push(jb, 2, 1);
    expect(pulls(jb, 3)).toEqual(['play 0', 'play 1', 'play 2']);
    expect(jb.stats).toMatchObject({ played: 5, lost: 0, late: 0 });
  });

  it('a gap across the wrap is told as lost slots 65535 and 0', () => {
    const jb = started(65533);
    push(jb, 1);
    expect(pulls(jb, 4)).toEqual(['play 65534', 'lost 65535', 'lost 0+fec', 'play 1']);
    expect(jb.stats.lost).toBe(2);
  });

  it('puts reordered packets back in order', () => {
    const jb = started(10);
    push(jb, 13, 12);
    expect(pulls(jb, 1)).toEqual(['play 11']);
    push(jb, 15, 14);
    expect(pulls(jb, 4)).toEqual(['play 12', 'play 13', 'play 14', 'play 15']);
    expect(jb.stats).toMatchObject({ played: 6, lost: 0, late: 0, concealed: 0 });
  });

  it('drops duplicates, buffered or already played, and does not count them late', () => {
    const jb = started(10);
    push(jb, 11, 12, 12);
    expect(jb.stats.duplicate).toBe(2);
    push(jb, 10); // played already
    expect(jb.stats).toMatchObject({ duplicate: 3, late: 0 });
    expect(pulls(jb, 2)).toEqual(['play 11', 'play 12']);
    push(jb, 11);
    expect(jb.stats).toMatchObject({ duplicate: 4, late: 0, played: 3 });
    expect(jb.target).toBe(2);
  });

  it('a packet that comes after its slot was given up is late: dropped, counted, and the target grows a frame', () => {
    const jb = started(10);
    push(jb, 12);
    expect(pulls(jb, 2)).toEqual(['play 11', 'play 12']);
    // A gap at 13 with 14 here: 13 is given up, then arrives.
    push(jb, 14, 15);
    expect(pulls(jb, 1)).toEqual(['lost 13+fec']);
    push(jb, 13);
    expect(jb.stats).toMatchObject({ late: 1, lost: 1, duplicate: 0 });
    expect(jb.target).toBe(3);
    expect(pulls(jb, 2)).toEqual(['play 14', 'play 15']);
  });

  it('a burst loss is told slot by slot; only the slot before a packet that is here offers FEC', () => {
    const jb = started(100);
    push(jb, 105);
    expect(pulls(jb, 6)).toEqual(['play 101', 'lost 102', 'lost 103', 'lost 104+fec', 'play 105', 'under']);
    expect(jb.stats).toMatchObject({ lost: 3, concealed: 4, played: 3, underruns: 1 });
    expect(jb.target).toBe(2); // losses are not jitter
  });

  it('an underrun waits for the late packet (the timeline stretches a frame), then the target grows', () => {
    const jb = started(10);
    expect(pulls(jb, 3)).toEqual(['play 11', 'under', 'under']);
    push(jb, 12);
    expect(pulls(jb, 1)).toEqual(['play 12']);
    expect(jb.stats).toMatchObject({ underruns: 1, concealed: 2, lost: 0 });
    expect(jb.target).toBe(3);
    // An underrun that ends with a later packet was a loss: no growth.
    expect(pulls(jb, 1)).toEqual(['under']);
    push(jb, 14);
    expect(pulls(jb, 2)).toEqual(['lost 13+fec', 'play 14']);
    expect(jb.target).toBe(3);
    expect(jb.stats.underruns).toBe(2);
  });

  it('dry for 5 pulls it goes idle, then waits for a cushion again; the slots it never got count as lost', () => {
    const jb = started(10);
    expect(pulls(jb, 8)).toEqual(['play 11', 'under', 'under', 'under', 'under', 'under', 'idle', 'idle']);
    expect(jb.stats).toMatchObject({ underruns: 1, concealed: 5 });
    push(jb, 20);
    expect(pulls(jb, 1)).toEqual(['idle']);
    push(jb, 21);
    expect(pulls(jb, 3)).toEqual(['play 20', 'play 21', 'under']);
    expect(jb.stats.lost).toBe(8); // 12..19 never came
    push(jb, 13, 14); // long after: late, not played
    expect(jb.stats).toMatchObject({ late: 2, duplicate: 0 });

    // Dry again, then a burst wider than maxDepth: the oldest are dropped, counted once.
    expect(pulls(jb, 5)).toEqual(['under', 'under', 'under', 'under', 'idle']);
    push(jb, 25, 26, 27, 28, 29, 30, 31); // 22..24 never came; 25 and 26 do not fit in 100 ms
    expect(jb.stats).toMatchObject({ dropped: 2, lost: 11 });
    expect(pulls(jb, 5)).toEqual(['play 27', 'play 28', 'play 29', 'play 30', 'play 31']);
    push(jb, 26);
    expect(jb.stats).toMatchObject({ lost: 11, late: 3 });
  });

  it('a packet more than maxDepth ahead moves the play point on; before playing, the oldest are dropped', () => {
    const jb = started(10, { maxDepth: 5 });
    push(jb, 12, 17); // 11 is the play point: 11..17 spans 7 > 5, so 11 and 12 go
    expect(jb.stats).toMatchObject({ dropped: 2, lost: 0 });
    expect(jb.level).toBe(5);
    expect(pulls(jb, 5)).toEqual(['lost 13', 'lost 14', 'lost 15', 'lost 16+fec', 'play 17']);

    const cold = new RtpJitterBuffer({ minDepth: 3, maxDepth: 4 });
    push(cold, 1, 2, 6); // 1..6 spans 6 > 4: 1 and 2 are dropped before playing
    expect(cold.stats.dropped).toBe(2);
    push(cold, 7);
    expect(pulls(cold, 1)).toEqual(['idle']); // 6..7 is not the 3-frame cushion
    push(cold, 8);
    expect(pulls(cold, 4)).toEqual(['play 6', 'play 7', 'play 8', 'under']);
    expect(cold.stats.lost).toBe(0); // nothing was lost before playing began
  });

  it('trims a frame when the buffer stayed above its target for a whole window', () => {
    const jb = new RtpJitterBuffer({ trimPulls: 10 });
    push(jb, 0, 1, 2, 3); // 4 frames buffered, target 2: 40 ms too many
    let seq = 4;
    const out: string[] = [];
    for (let i = 0; i < 25; i++) {
      out.push(describePull(jb.pull()));
      push(jb, seq++);
    }
    expect(jb.stats.dropped).toBe(2); // one per window until the level is down to the target
    expect(out.filter((p) => !p.startsWith('play'))).toEqual([]);
    expect(out[9]).toBe('play 10'); // 9 was dropped at the 10th pull
    expect(jb.level).toBe(2);
    expect(jb.stats.concealed).toBe(0);
  });

  it('the target shrinks by a frame after calmPulls pulls without a late packet, never below minDepth', () => {
    const jb = started(0, { calmPulls: 20, minDepth: 2, maxDepth: 5 });
    let seq = 2;
    // Three late arrivals: each waited-for packet comes after an underrun.
    for (let i = 0; i < 3; i++) {
      pulls(jb, i + 2); // the last packet, then i + 1 underruns
      push(jb, seq++);
      pulls(jb, 1);
    }
    expect(jb.target).toBe(5);
    for (let i = 0; i < 100; i++) {
      push(jb, seq++);
      jb.pull();
    }
    expect(jb.target).toBe(2);
  });

  it('a jump of more than 1000 is a new stream; so are 10 late packets in a row', () => {
    const jb = started(10);
    push(jb, 5000, 5001);
    expect(pulls(jb, 2)).toEqual(['play 5000', 'play 5001']);
    push(jb, 4600, 4601, 4602, 4603, 4604, 4605, 4606, 4607, 4608);
    expect(jb.stats.late).toBe(9);
    push(jb, 4609, 4610); // the 10th late one starts the new stream
    expect(pulls(jb, 2)).toEqual(['play 4609', 'play 4610']);
    expect(jb.stats.late).toBe(10);
  });

  it('refuses depths it cannot keep', () => {
    expect(() => new RtpJitterBuffer({ minDepth: 0 })).toThrow(TypeError);
    expect(() => new RtpJitterBuffer({ minDepth: 4, maxDepth: 3 })).toThrow(TypeError);
    expect(() => new RtpJitterBuffer({ maxDepth: 1.5 })).toThrow(TypeError);
  });
});
