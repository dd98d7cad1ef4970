import { describe, expect, it } from 'vitest';
import { ToneFrames } from '../../../src/media/frames.js';
import { OpusDecoderStream } from '../../../src/media/opus.js';
import { SILENCE_FRAMES } from '../../../src/media/opus-packet.js';
import { parseRtpHeader } from '../../../src/media/rtp.js';
import { LEG_FRAME_SAMPLES, type AudioLeg, type LegStats, type SharedFrame } from '../../../src/rooms/audio-leg.js';
import { SfuGateway } from '../../../src/sfu/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { ManualClock } from '../../helpers/clock.js';

/** A leg whose voice follows a script (a frame or nothing per tick) and that keeps what it hears. */
class ScriptedLeg implements AudioLeg {
  heard: { frame: Int16Array; shared: SharedFrame | undefined }[] = [];
  private tick = 0;
  constructor(private readonly script: (tick: number) => Int16Array | undefined) {}
  play(frame: Int16Array, shared?: SharedFrame): void { this.heard.push({ frame: frame.slice(), shared }); }
  take(): Int16Array | undefined { return this.script(this.tick++); }
  stats(): LegStats { return { framesIn: 0, framesOut: 0, queueMs: 0, droppedMs: 0, underruns: 0 }; }
}

const rms = (f: Int16Array) => Math.sqrt(f.reduce((a, x) => a + x * x, 0) / f.length);
const constant = (v: number) => new Int16Array(LEG_FRAME_SAMPLES).fill(v);
const log = silentLogger();

describe('SfuGateway', () => {
  it('publishes a leg\'s voice as Opus and its silence as silence frames, RTP continuous; speech after silence decodes at full level from its first frame', () => {
    const clock = new ClockedGateway();
    const tone = new ToneFrames(700, 48000, { amplitude: 0.3 });
    // Voice for ticks 0-9, nothing for 20 (its gate closed), voice for 30-39. The first tick
    // runs as the leg is added, before its track can be listened to: packets start at tick 1.
    const voiced = (t: number) => t < 10 || (t >= 30 && t < 40);
    const leg = new ScriptedLeg((t) => (voiced(t) ? tone.nextFrame()!.slice() : undefined));
    const packets: Buffer[] = [];
    const track = clock.gateway.addLeg('m1', leg);
    track.onRtp = (p) => { packets.push(Buffer.from(p)); };
    clock.ticks(39);
    expect(packets).toHaveLength(39);
    const headers = packets.map((p) => parseRtpHeader(p));
    for (let i = 1; i < packets.length; i++) {
      expect(headers[i]!.sequenceNumber).toBe((headers[0]!.sequenceNumber + i) & 0xffff);
      expect(headers[i]!.timestamp).toBe((headers[0]!.timestamp + 960 * i) >>> 0);
    }
    const payloads = packets.map((p, i) => p.subarray(headers[i]!.payloadOffset));
    payloads.forEach((p, i) => {
      if (voiced(i + 1)) expect(p.length, `tick ${i + 1}`).toBeGreaterThan(3);
      else expect(p.equals(SILENCE_FRAMES[0]![1]), `tick ${i + 1}`).toBe(true);
    });
    // A receiver decodes all of it: the first frame after the silence is the tone at its level
    // (the encoder had not seen the silence frames: without a frame of zeros first, 51 of 6951).
    const dec = new OpusDecoderStream(48000);
    const levels = payloads.map((p) => rms(dec.decode(p)));
    expect(levels[29]!).toBeGreaterThan(0.75 * 6951);
    expect(levels[30]!).toBeGreaterThan(0.9 * 6951);
    dec.release();
    clock.gateway.close();
  });

  it('a talking leg hears the others, never itself; legs not talking share one frame of the whole sum', () => {
    const clock = new ClockedGateway();
    const a = new ScriptedLeg(() => constant(1000));
    const b = new ScriptedLeg((t) => (t % 2 === 0 ? constant(300) : undefined));
    const c = new ScriptedLeg(() => undefined);
    const d = new ScriptedLeg(() => undefined);
    clock.add([['a', a], ['b', b], ['c', c], ['d', d]]);
    clock.ticks(2);
    // Tick 0: a and b talk. a hears b, b hears a, c and d the sum, as one shared frame.
    expect(a.heard[0]!.frame[0]).toBe(300);
    expect(a.heard[0]!.shared).toBeUndefined();
    expect(b.heard[0]!.frame[0]).toBe(1000);
    expect(c.heard[0]!.frame[0]).toBe(1300);
    expect(c.heard[0]!.shared).toBeDefined();
    expect(d.heard[0]!.shared).toBe(c.heard[0]!.shared);
    // Tick 1: only a talks: a hears silence (shared), everyone else a.
    expect(rms(a.heard[1]!.frame)).toBe(0);
    expect(a.heard[1]!.shared).toBeDefined();
    for (const leg of [b, c, d]) expect(leg.heard[1]!.frame[0]).toBe(1000);
    expect(b.heard[1]!.shared).toBe(c.heard[1]!.shared);
    expect(b.heard[1]!.shared).not.toBe(a.heard[1]!.shared);
    clock.gateway.close();
  });

  it('the sum is clamped once for the listeners, and a talker\'s own voice comes out of the unclamped sum', () => {
    const clock = new ClockedGateway();
    const a = new ScriptedLeg(() => constant(30000));
    const b = new ScriptedLeg(() => constant(20000));
    const c = new ScriptedLeg(() => undefined);
    clock.add([['a', a], ['b', b], ['c', c]]);
    clock.ticks(1);
    expect(c.heard[0]!.frame[0]).toBe(32767);
    expect(a.heard[0]!.frame[0]).toBe(20000);
    expect(b.heard[0]!.frame[0]).toBe(30000);
    clock.gateway.close();
  });
});

/** An SfuGateway on a manual clock, ticked 20 ms at a time. */
class ClockedGateway {
  readonly clock = new ManualClock();
  readonly gateway = new SfuGateway({ clock: this.clock, log });
  /** Adds legs; the tick their first one started alone is forgotten. */
  add(legs: [string, ScriptedLeg][]): void {
    for (const [id, leg] of legs) this.gateway.addLeg(id, leg);
    for (const [, leg] of legs) leg.heard = [];
  }

  ticks(n: number): void {
    for (let i = 0; i < n; i++) this.clock.advance(20);
  }
}
