import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestStore, writeJsonAtomic } from '../../../src/bots/recorder/manifest.js';
import { mixOggOpusFiles } from '../../../src/bots/recorder/mixer.js';
import { isOpusLossMarker, SILENCE_FRAMES } from '../../../src/media/opus-packet.js';
import { TrackTimeline } from '../../../src/bots/recorder/track-timeline.js';
import { isDiskFull, TrackWriter } from '../../../src/bots/recorder/track-writer.js';
import { dominantFrequency, rms } from '../../../src/media/analysis.js';
import { readOggOpus } from '../../../src/media/ogg-opus.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { parseWav } from '../../../src/media/wav.js';
import type { Participant } from '../../../src/protocol/signaling.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'callpeer-recunit-'));
const person = (id: string, name: string): Participant => ({ id, name, role: 'participant', audio: true, video: false, screen: false, metadata: {} });

/** Records `seconds` of a tone starting at `atMs` through a timeline into a file; returns its path. */
function recordTone(dir: string, name: string, hz: number, atMs: number, seconds: number): string {
  const file = path.join(dir, `${name}.opus`);
  const w = new TrackWriter(file, { title: name });
  const t = new TrackTimeline((f) => w.write(f), { startMs: 0, startupWindowMs: 0 });
  const tone = new ToneGenerator(hz, 48000, 0.3);
  const enc = new OpusEncoderStream(48000);
  for (let n = 0; n < seconds * 50; n++) {
    t.push({ ssrc: 9, sequenceNumber: n, timestamp: n * 960, payload: enc.encode(tone.next(960)), arrivalMs: atMs + n * 20 });
  }
  t.drain();
  w.close();
  return file;
}

describe('TrackWriter', () => {
  it('writes a valid Ogg Opus file: headers, granule = position + pre-skip, EOS, title', () => {
    const dir = tmp();
    const file = path.join(dir, 'a.opus');
    const w = new TrackWriter(file, { title: 'Zoë' });
    w.write({ data: SILENCE_FRAMES[0]![1], end: 960, silence: true });
    w.write({ data: Buffer.from([0xf8, 1, 2, 3]), end: 1920, silence: false });
    w.flush();
    const mid = readOggOpus(readFileSync(file));
    expect(mid.packets.map((p) => p.granule)).toEqual([960, 1920, 2880]); // the pre-skip frame first
    w.close();
    w.close(); // idempotent
    const { head, tags, packets } = readOggOpus(readFileSync(file));
    expect(head.preSkip).toBe(960);
    expect(tags.comments).toContain('TITLE=Zoë');
    expect(packets.at(-1)).toMatchObject({ granule: 2880 });
    expect(readFileSync(file).subarray(-27)[5]! & 4).toBe(4); // the last page (here empty) has EOS
    expect(Buffer.from(packets[2]!.data)).toEqual(Buffer.from([0xf8, 1, 2, 3]));
  });

  it('a full disk is IO_ERROR, recognised as disk full', () => {
    let caught: unknown;
    try {
      const w = new TrackWriter('/dev/full');
      w.write({ data: SILENCE_FRAMES[0]![1], end: 960, silence: true });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'IO_ERROR' });
    expect(isDiskFull(caught)).toBe(true);
  });

  it('a directory that does not exist is IO_ERROR, not disk full', () => {
    let caught: unknown;
    try { new TrackWriter('/nonexistent-dir/x.opus'); } catch (err) { caught = err; }
    expect(caught).toMatchObject({ code: 'IO_ERROR' });
    expect(isDiskFull(caught)).toBe(false);
  });
});

describe('ManifestStore', () => {
  it('records connections, joins, leaves and files with offsets from the start', () => {
    const dir = tmp();
    const m = new ManifestStore(dir, { room: 'r1', server: 'ws://h/ws', startEpochMs: Date.UTC(2026, 0, 1, 12, 0, 0) });
    m.connected('me1', 12.4);
    m.participantJoined(person('a', 'Ann'), 12.4);
    m.participantJoined(person('a', 'Ann'), 20); // known: ignored
    const f = m.addFile({ file: '01-Ann-audio.opus', kind: 'audio', codec: 'opus', participantId: 'a', name: 'Ann', mid: '0', offsetMs: 0, durationMs: 0, packets: { received: 0, lost: 0, late: 0, duplicates: 0 }, status: 'recording' }, 300);
    m.update(f, { offsetMs: 250, durationMs: 5000, packets: { received: 236, lost: 2, late: 1, duplicates: 0 } }, 5300);
    m.connectionLost(6000);
    m.participantLeft('a', 6000);
    m.update(f, { status: 'complete' }, 6000);
    m.connected('me2', 7500);
    m.finish(9000);
    m.write();
    const saved = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(saved).toEqual({
      version: 1, room: 'r1', server: 'ws://h/ws', startedAt: '2026-01-01T12:00:00.000Z', endedAt: '2026-01-01T12:00:09.000Z',
      durationMs: 9000, status: 'complete', sampleRate: 48000,
      connections: [
        { id: 'me1', joinedAt: '2026-01-01T12:00:00.012Z', joinedMs: 12, lostAt: '2026-01-01T12:00:06.000Z', lostMs: 6000 },
        { id: 'me2', joinedAt: '2026-01-01T12:00:07.500Z', joinedMs: 7500 },
      ],
      participants: [{ id: 'a', name: 'Ann', role: 'participant', joinedAt: '2026-01-01T12:00:00.012Z', joinedMs: 12, leftAt: '2026-01-01T12:00:06.000Z', leftMs: 6000 }],
      files: [{ file: '01-Ann-audio.opus', kind: 'audio', codec: 'opus', participantId: 'a', name: 'Ann', mid: '0', offsetMs: 250, durationMs: 5000, packets: { received: 236, lost: 2, late: 1, duplicates: 0 }, status: 'complete' }],
    });
  });

  it('a failed session says why', () => {
    const m = new ManifestStore(tmp(), { room: 'r', server: 's', startEpochMs: 0 });
    m.finish(10, 'disk full');
    expect(m.manifest).toMatchObject({ status: 'failed', error: 'disk full' });
  });

  it('writes only when changed, and atomically: no temp file left, old content replaced whole', () => {
    const dir = tmp();
    const m = new ManifestStore(dir, { room: 'r', server: 's', startEpochMs: 0 });
    expect(m.isDirty).toBe(true);
    m.write();
    expect(m.isDirty).toBe(false);
    m.connected('x', 5);
    m.write();
    expect(readdirSync(dir)).toEqual(['manifest.json']);
    expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).connections).toHaveLength(1);
  });

  it('writeJsonAtomic into a missing directory is IO_ERROR and leaves the old file alone', () => {
    const dir = tmp();
    const file = path.join(dir, 'keep.json');
    writeFileSync(file, '{"old":true}');
    expect(() => writeJsonAtomic(path.join(dir, 'missing', 'x.json'), {})).toThrow(expect.objectContaining({ code: 'IO_ERROR' }));
    expect(existsSync(file)).toBe(true);
  });
});

describe('mixOggOpusFiles', () => {
  it('mixes files on one timeline: each tone where it was, both where they overlap, as long as the longest', () => {
    const dir = tmp();
    const a = recordTone(dir, 'a', 440, 0, 2); // 0-2 s
    const b = recordTone(dir, 'b', 700, 1500, 2); // 1.5-3.5 s
    const out = path.join(dir, 'mix.wav');
    const ms = mixOggOpusFiles([a, b], out);
    expect(Math.abs(ms - 3500)).toBeLessThanOrEqual(25);
    const wav = parseWav(readFileSync(out));
    expect(wav.sampleRate).toBe(48000);
    expect(Math.abs(wav.samples.length / 48 - ms)).toBeLessThan(1);
    const at = (from: number, to: number) => wav.samples.subarray(from * 48, to * 48);
    expect(Math.abs(dominantFrequency(at(200, 1400), 48000) - 440)).toBeLessThanOrEqual(1);
    expect(Math.abs(dominantFrequency(at(2100, 3400), 48000) - 700)).toBeLessThanOrEqual(1);
    expect(rms(at(1600, 1900))).toBeGreaterThan(rms(at(200, 1400)) * 1.2); // both at once
  });

  it('saturates instead of wrapping when the sum clips', () => {
    const dir = tmp();
    const files = [1, 2, 3, 4].map((i) => recordTone(dir, `t${i}`, 440, 0, 1)); // 4 x 0.3 in phase
    const out = path.join(dir, 'loud.wav');
    mixOggOpusFiles(files, out);
    const { samples } = parseWav(readFileSync(out));
    const body = samples.subarray(4800, 43200);
    expect(Math.max(...body)).toBe(32767);
    expect(Math.min(...body)).toBe(-32768);
    expect(Math.abs(dominantFrequency(body, 48000) - 440)).toBeLessThanOrEqual(1); // clipped, not wrapped into noise
  });

  it('rebuilds a lost packet from the next packet\'s FEC, and conceals one whose next packet was lost too: sample for sample', () => {
    const dir = tmp();
    const file = path.join(dir, 'lossy.opus');
    const w = new TrackWriter(file);
    const t = new TrackTimeline((f) => w.write(f), { startMs: 0, startupWindowMs: 0 });
    const tone = new ToneGenerator(700, 48000, 0.4);
    const enc = new OpusEncoderStream(48000);
    enc.reportLoss(0.1); // FEC on: SILK with LBRR
    const packets = Array.from({ length: 100 }, () => enc.encode(tone.next(960)));
    const lost = new Set([15, 35, 36, 55, 75]);
    packets.forEach((payload, n) => { if (!lost.has(n)) t.push({ ssrc: 9, sequenceNumber: n, timestamp: n * 960, payload, arrivalMs: n * 20 }); });
    t.drain();
    w.close();
    expect(readOggOpus(readFileSync(file)).packets.filter((p) => isOpusLossMarker(p.data))).toHaveLength(lost.size);
    const out = path.join(dir, 'mix.wav');
    mixOggOpusFiles([file], out);
    const mix = parseWav(readFileSync(out)).samples;
    // What the mix must hold: each lost frame from the next packet's FEC, or PLC when that one is lost too.
    const dec = new OpusDecoderStream(48000);
    dec.decode(SILENCE_FRAMES[0]![1]); // the file's pre-skip frame, decoded and skipped by the mixer
    const want = packets.map((p, n) => (!lost.has(n) ? dec.decode(p) : lost.has(n + 1) ? dec.conceal() : dec.recover(packets[n + 1]!)));
    want.forEach((frame, n) => expect(mix.subarray(n * 960, (n + 1) * 960)).toEqual(frame));
    // And FEC gives single lost frames back: close to a decode that had every packet. (36, after
    // a concealed 35, is a tone again but not in phase with it: LBRR continues the decoder's history.)
    const truth = new OpusDecoderStream(48000);
    truth.decode(SILENCE_FRAMES[0]![1]);
    const full = packets.map((p) => truth.decode(p));
    for (const n of [15, 55, 75]) {
      let err = 0;
      let signal = 0;
      for (let i = 0; i < 960; i++) { err += (want[n]![i]! - full[n]![i]!) ** 2; signal += full[n]![i]! ** 2; }
      expect(10 * Math.log10(signal / err)).toBeGreaterThan(15);
    }
  });
});
