import { describe, expect, it } from 'vitest';
import { isOpusLossMarker, SILENCE_FRAMES } from '../../../src/media/opus-packet.js';
import { TrackTimeline, type TimelineFrame, type TimelineOptions } from '../../../src/bots/recorder/track-timeline.js';
import { OpusDecoderStream } from '../../../src/media/opus.js';

/** A fake 20 ms Opus packet (CELT FB 20 ms TOC) carrying its sequence number in bytes 1-2. */
function opus(n: number): Buffer {
  return Buffer.from([0xf8 | 0, (n >> 8) & 0xff, n & 0xff, 0x55]);
}

function setup(options: Partial<TimelineOptions> = {}) {
  const frames: TimelineFrame[] = [];
  const t = new TrackTimeline((f) => frames.push(f), { startMs: 0, startupWindowMs: 0, reorderWindowMs: 80, ...options });
  /** Audio frames as [position of their start in ms, the number they carry]. */
  const audio = () => frames.filter((f) => !f.silence).map((f) => [(f.end - 960) / 48, Buffer.from(f.data).readUInt16BE(1)]);
  return { t, frames, audio };
}

/** Sends packet `n` of a stream: seq0 + n, ts0 + 960 n, arriving at t0 + 20 n ms (plus `late`). */
function send(t: TrackTimeline, n: number, o: { seq0?: number; ts0?: number; t0?: number; late?: number; ssrc?: number } = {}): void {
  t.push({
    ssrc: o.ssrc ?? 1,
    sequenceNumber: ((o.seq0 ?? 1000) + n) & 0xffff,
    timestamp: ((o.ts0 ?? 5000) + 960 * n) >>> 0,
    payload: opus(n),
    arrivalMs: (o.t0 ?? 100) + 20 * n + (o.late ?? 0),
  });
}

function expectContinuous(frames: TimelineFrame[]): void {
  let at = 0;
  for (const f of frames) {
    const len = f.silence && !isOpusLossMarker(f.data) ? SILENCE_FRAMES.find(([, b]) => b === f.data)![0] : 960;
    expect(f.end).toBe(at + len);
    at = f.end;
  }
}

describe('TrackTimeline', () => {
  it('starts at the first arrival with leading silence and keeps every packet in place', () => {
    const { t, frames, audio } = setup();
    for (let n = 0; n < 10; n++) send(t, n, { t0: 1000 });
    expect(audio()).toEqual(Array.from({ length: 10 }, (_, n) => [1000 + 20 * n, n]));
    expect(frames.filter((f) => f.silence).length).toBe(50); // 1 s of 20 ms silence
    expect(t.firstAudioAt).toBe(48000);
    expectContinuous(frames);
    expect(t.stats).toMatchObject({ received: 10, lost: 0, late: 0, duplicates: 0 });
  });

  it('fills a gap in timestamps (a pause, DTX) with silence of the same length', () => {
    const { t, frames, audio } = setup();
    for (let n = 0; n < 5; n++) send(t, n);
    // 1 s pause: timestamps jump by 50 frames, sequence numbers continue
    for (let n = 5; n < 8; n++) t.push({ ssrc: 1, sequenceNumber: 1000 + n, timestamp: 5000 + 960 * (n + 50), payload: opus(n), arrivalMs: 100 + 20 * (n + 50) });
    expect(audio().map(([ms]) => ms)).toEqual([100, 120, 140, 160, 180, 1200, 1220, 1240]);
    expectContinuous(frames);
    expect(t.stats.lost).toBe(0);
  });

  it('lost packets leave a lost-packet marker in their 20 ms and are counted; the rest stays in place', () => {
    const { t, frames, audio } = setup();
    for (let n = 0; n < 30; n++) if (n % 10 !== 9) send(t, n);
    t.advance(10_000);
    expect(audio().map(([, n]) => n)).toEqual(Array.from({ length: 30 }, (_, n) => n).filter((n) => n % 10 !== 9));
    for (const [ms, n] of audio()) expect(ms).toBe(100 + 20 * n!);
    expectContinuous(frames);
    expect(t.stats.lost).toBe(2); // the 3rd is not known lost until a later packet shows it
    // Each known loss: a TOC byte alone (CELT FB 20 ms, as the packet after it), where the packet was.
    const markers = frames.filter((f) => isOpusLossMarker(f.data));
    expect(markers.map((f) => [(f.end - 960) / 48, [...f.data]])).toEqual([[100 + 20 * 9, [0xf8]], [100 + 20 * 19, [0xf8]]]);
    expect(markers.every((f) => f.silence)).toBe(true);
  });

  it('a run of lost packets is marked up to 5 frames before the next packet, silence before; a pause with loss stays silence', () => {
    const { t, frames } = setup();
    for (let n = 0; n < 3; n++) send(t, n);
    for (let n = 11; n < 13; n++) send(t, n); // 8 lost (3..10)
    // Packet 13 lost, then a 1 s pause (timestamps jump 50 frames): where 13 was in it is unknown.
    for (let n = 14; n < 16; n++) t.push({ ssrc: 1, sequenceNumber: 1000 + n, timestamp: 5000 + 960 * (n + 50), payload: opus(n), arrivalMs: 100 + 20 * (n + 50) });
    t.advance(2000);
    expectContinuous(frames);
    const markers = frames.filter((f) => isOpusLossMarker(f.data)).map((f) => (f.end - 960) / 48);
    expect(markers).toEqual([6, 7, 8, 9, 10].map((n) => 100 + 20 * n));
    expect(t.stats.lost).toBe(9);
  });

  it('puts reordered packets back in order within the window', () => {
    const { t, audio } = setup();
    for (const n of [0, 1, 3, 2, 4, 6, 5, 7]) send(t, n, { late: n === 2 || n === 5 ? 25 : 0 });
    expect(audio().map(([, n]) => n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(t.stats).toMatchObject({ received: 8, lost: 0, late: 0 });
  });

  it('a packet later than the window becomes silence and counts as late, not lost', () => {
    const { t, audio } = setup();
    for (const n of [0, 1, 3, 4, 5, 6, 7, 8]) send(t, n);
    send(t, 2, { late: 300 });
    expect(audio().map(([, n]) => n)).toEqual([0, 1, 3, 4, 5, 6, 7, 8]);
    expect(audio().find(([, n]) => n === 3)![0]).toBe(160);
    expect(t.stats).toMatchObject({ received: 8, lost: 0, late: 1 });
  });

  it('drops duplicates, held or already written', () => {
    const { t, audio } = setup();
    for (const n of [0, 1, 1, 2, 3, 2, 0]) send(t, n);
    expect(audio().map(([, n]) => n)).toEqual([0, 1, 2, 3]);
    expect(t.stats).toMatchObject({ received: 4, duplicates: 3 });
  });

  it('survives sequence number and timestamp wrap-around', () => {
    const { t, frames, audio } = setup();
    for (let n = 0; n < 20; n++) send(t, n, { seq0: 65530, ts0: 2 ** 32 - 960 * 5 });
    expect(audio().map(([ms, n]) => [ms, n])).toEqual(Array.from({ length: 20 }, (_, n) => [100 + 20 * n, n]));
    expectContinuous(frames);
    expect(t.stats).toMatchObject({ received: 20, lost: 0, duplicates: 0 });
  });

  it('anchors at the least delayed of the first packets', () => {
    const { t, audio } = setup({ startupWindowMs: 400 });
    send(t, 0, { late: 60 }); // the first one was held up
    for (let n = 1; n < 30; n++) send(t, n);
    expect(audio()[0]).toEqual([100, 0]);
  });

  it('a late anchor (every first packet held up) is taken out of the next pause', () => {
    const { t, frames, audio } = setup({ startupWindowMs: 400 });
    for (let n = 0; n < 25; n++) send(t, n, { late: 100 }); // the first half second all 100 ms late
    for (let n = 25; n < 40; n++) send(t, n);
    expect(audio().find(([, n]) => n === 30)![0]).toBe(100 + 30 * 20 + 100); // no gap yet: still late
    // a 200 ms pause, then speech: the pause is 100 ms shorter and the stream is back in place
    for (let n = 50; n < 60; n++) t.push({ ssrc: 1, sequenceNumber: 1000 + n - 10, timestamp: 5000 + 960 * n, payload: opus(n), arrivalMs: 100 + 20 * n });
    expect(audio().find(([, n]) => n === 50)![0]).toBe(100 + 50 * 20);
    expect(audio().at(-1)).toEqual([100 + 59 * 20, 59]);
    expectContinuous(frames);
  });

  it('advance() pads while nothing arrives, up to maxLag behind now, and the next talk spurt lands in place', () => {
    const { t, frames, audio } = setup({ maxLagMs: 500 });
    for (let n = 0; n < 5; n++) send(t, n);
    t.advance(3000);
    expect(t.position).toBe(2500 * 48);
    // 3 s of DTX, then speech again: sequence numbers go on, timestamps jumped
    t.push({ ssrc: 1, sequenceNumber: 1005, timestamp: 5000 + 960 * 150, payload: opus(150), arrivalMs: 3100 });
    expect(audio().at(-1)).toEqual([3100, 150]);
    expectContinuous(frames);
  });

  it('re-anchors when timestamps jump far from the wall clock, and on a new SSRC', () => {
    const { t, audio } = setup();
    for (let n = 0; n < 5; n++) send(t, n);
    // the sender restarted its timestamps 10 min ahead without a pause
    t.push({ ssrc: 1, sequenceNumber: 1005, timestamp: 5000 + 960 * 5 + 48000 * 600, payload: opus(5), arrivalMs: 200 });
    expect(audio().at(-1)).toEqual([200, 5]);
    for (let n = 0; n < 3; n++) send(t, n, { ssrc: 2, seq0: 7, ts0: 123, t0: 500 });
    expect(audio().slice(-3)).toEqual([[500, 0], [520, 1], [540, 2]]);
    expect(t.stats.resyncs).toBe(1);
  });

  it('re-anchors after a run of packets behind the written position (sender clock slow)', () => {
    const { t, audio } = setup({ maxLagMs: 0 });
    for (let n = 0; n < 5; n++) send(t, n);
    t.advance(2000); // padded to 2 s
    // the sender's clock says these belong at 0.3 s: behind what is written
    for (let n = 10; n < 40; n++) send(t, n, { t0: 2000 - 200 });
    const written = audio().filter(([, n]) => n! >= 10);
    expect(written[0]).toEqual([2000, 10 + 24]);
    expect(t.stats.late).toBe(24);
    expect(t.stats.resyncs).toBe(1);
  });

  it('silence frames decode to zeros of their length', () => {
    const dec = new OpusDecoderStream(48000);
    for (const [n, frame] of SILENCE_FRAMES) {
      const pcm = dec.decode(frame);
      expect(pcm.length).toBe(n);
      expect(pcm.every((x) => x === 0)).toBe(true);
    }
  });
});
