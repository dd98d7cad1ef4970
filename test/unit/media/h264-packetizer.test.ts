import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  depacketizeH264, depacketizeH264Nals, groupAccessUnits, H264Depacketizer, packetizeH264, splitAnnexB, toAnnexB, type H264Frame,
} from '../../../src/media/h264-packetizer.js';
import { has } from '../../helpers/tools.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const parseError = expect.objectContaining({ code: 'PARSE_ERROR' });

// Units of one key frame: SPS and PPS (NRI 3), an IDR slice of 8 bytes (NRI 3, first_mb 0).
const SPS = hex('67 42 c0 1f');
const PPS = hex('68 ce 3c 80');
const IDR = hex('65 88 02 03 04 05 06 07');
// A P slice (NRI 2, type 1, first_mb 0).
const P = hex('41 9a 01 02');

const FIXTURE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'fixtures', 'media', 'h264', '320x240.h264');

describe('splitAnnexB', () => {
  it('cuts at 3- and 4-byte start codes, drops trailing zeros and empty units, allows leading zeros', () => {
    const stream = hex('00 00 00 00 01 67 42 c0 1f   00 00 01 68 ce 3c 80 00   00 00 00 01   00 00 00 01 65 88 02 03 04 05 06 07 00 00');
    expect(splitAnnexB(stream).map(hexOf)).toEqual([SPS, PPS, IDR].map(hexOf));
    expect(splitAnnexB(new Uint8Array(0))).toEqual([]);
    expect(splitAnnexB(hex('00 00'))).toEqual([]);
  });

  it('refuses bytes before the first start code, or a stream with none, with PARSE_ERROR', () => {
    expect(() => splitAnnexB(hex('ff 00 00 01 67 42'))).toThrow(parseError);
    expect(() => splitAnnexB(hex('67 42 c0 1f'))).toThrow(parseError);
  });
});

describe('groupAccessUnits', () => {
  it('starts an access unit at a parameter set or a first slice after a slice, keeps a second slice of a frame', () => {
    const second = hex('41 3a 09'); // P slice, first_mb_in_slice 1: same frame
    const units = groupAccessUnits([SPS, PPS, IDR, P, second, hex('06 05 01'), P]);
    expect(units.map((u) => u.map((n) => n[0]!.toString(16)))).toEqual([['67', '68', '65'], ['41', '41'], ['6', '41']]);
  });
});

describe('packetizeH264', () => {
  it('sends a unit that fits as it is (single NAL unit packet)', () => {
    expect(packetizeH264([P], 10).map(hexOf)).toEqual(['419a0102']);
  });

  it('puts SPS + PPS in one STAP-A: type 24 with the highest NRI, 16-bit sizes', () => {
    expect(packetizeH264([SPS, PPS, IDR], 14).map(hexOf)).toEqual([
      '78' + '0004' + '6742c01f' + '0004' + '68ce3c80', // F 0, NRI 3, type 24
      '6588020304050607', // 13 + 2 + 8 > 14: the IDR alone
    ]);
    // NRI 1 and NRI 2 units: the aggregate takes NRI 2 (0x40 | 24); F is OR-ed in.
    expect(hexOf(packetizeH264([hex('27 01'), hex('48 02'), hex('a1 03')], 100)[0]!)).toBe('d8' + '0002' + '2701' + '0002' + '4802' + '0002' + 'a103');
    expect(packetizeH264([SPS, PPS], 100, { aggregate: false }).map(hexOf)).toEqual(['6742c01f', '68ce3c80']);
  });

  it('fragments a unit over the budget as FU-A: indicator F|NRI|28, header S/E|type, the unit header dropped', () => {
    expect(packetizeH264([IDR], 5).map(hexOf)).toEqual([
      '7c' + '85' + '880203', // NRI 3 | 28 = 0x7c; S | 5
      '7c' + '05' + '040506', // middle: S = E = 0
      '7c' + '45' + '07', // E | 5
    ]);
    expect(packetizeH264([hex('41 9a 01 02 03 04')], 5).map(hexOf)).toEqual(['5c' + '81' + '9a0102', '5c' + '41' + '0304']); // NRI 2 | 28, P slice
  });

  it('mixes the three in one access unit and refuses bad arguments with TypeError', () => {
    expect(packetizeH264([SPS, PPS, IDR], 6).map(hexOf)).toEqual(['6742c01f', '68ce3c80', '7c85' + '88020304', '7c45' + '050607']);
    expect(() => packetizeH264([SPS], 2)).toThrow(TypeError);
    expect(() => packetizeH264([SPS, new Uint8Array(0)])).toThrow(TypeError);
  });
});

describe('depacketizeH264', () => {
  it('round-trips single units, STAP-A and FU-A back to an Annex B access unit', () => {
    const annexB = '00000001' + '6742c01f' + '00000001' + '68ce3c80' + '00000001' + '6588020304050607';
    for (const max of [5, 6, 14, 1100]) {
      expect(hexOf(depacketizeH264(packetizeH264([SPS, PPS, IDR], max))), `maxPayload ${max}`).toBe(annexB);
    }
    expect(depacketizeH264Nals([hex('78 0004 6742c01f 0004 68ce3c80')]).map(hexOf)).toEqual([SPS, PPS].map(hexOf));
    expect(hexOf(toAnnexB([P]))).toBe('00000001419a0102');
  });

  it('answers PARSE_ERROR for truncated, out-of-order or foreign payloads', () => {
    const bad: [string, string[]][] = [
      ['an empty payload', ['']],
      ['a STAP-A cut in its size', ['78 00']],
      ['a STAP-A entry running past the end', ['78 0005 6742']],
      ['a STAP-A entry of size 0', ['78 0000 67']],
      ['a STAP-A with a stray byte after its entries', ['78 0002 6742 00']],
      ['a FU-A without its data', ['7c 85']],
      ['a FU-A middle without a start', ['7c 05 01']],
      ['a FU-A end without a start', ['7c 45 01']],
      ['a FU-A start that never ends', ['7c 85 01', '7c 05 02']],
      ['two FU-A starts', ['7c 85 01', '7c 85 02']],
      ['S and E in one fragment', ['7c c5 01']],
      ['fragments of two units', ['7c 85 01', '5c 41 02']],
      ['a single unit inside a FU-A unit', ['7c 85 01', '41 9a']],
      ['STAP-B (25, interleaved mode)', ['19 0000 0002 4101']],
      ['FU-B (29)', ['1d 85 0000 01']],
      ['NAL type 0', ['00 01']],
    ];
    for (const [what, payloads] of bad) expect(() => depacketizeH264(payloads.map(hex)), what).toThrow(parseError);
  });
});

/** RTP-like packets of access units: one timestamp per unit (3000 = 1/30 s), marker on its last packet. */
function packets(units: readonly (readonly Uint8Array[])[], maxPayload: number, firstSeq = 65530) {
  let seq = firstSeq;
  return units.flatMap((u, i) => {
    const payloads = packetizeH264(u, maxPayload);
    return payloads.map((payload, k) => ({ sequenceNumber: seq++ & 0xffff, timestamp: (4294960000 + i * 3000) >>> 0, marker: k === payloads.length - 1, payload }));
  });
}

describe('H264Depacketizer', () => {
  const units = [[SPS, PPS, IDR], [P], [hex('41 9a 05 06 07 08 09')], [SPS, PPS, IDR], [P]];

  it('rebuilds each access unit, marks IDRs as key frames, across a sequence wrap', () => {
    const frames: H264Frame[] = [];
    const d = new H264Depacketizer((f) => frames.push(f));
    for (const p of packets(units, 5)) d.push(p);
    expect(frames.map((f) => hexOf(f.data))).toEqual(units.map((u) => hexOf(toAnnexB(u))));
    expect(frames.map((f) => f.keyframe)).toEqual([true, false, false, true, false]);
    expect(frames[1]!.timestamp).toBe((4294960000 + 3000) >>> 0);
    expect(d.stats).toEqual({ frames: 5, dropped: 0, malformed: 0 });
  });

  it('SPS and PPS sent as single units stay with their IDR (same timestamp)', () => {
    const frames: H264Frame[] = [];
    const d = new H264Depacketizer((f) => frames.push(f));
    let seq = 0;
    for (const payload of [SPS, PPS, IDR]) d.push({ sequenceNumber: seq++, timestamp: 9000, marker: payload === IDR, payload });
    expect(frames.map((f) => hexOf(f.data))).toEqual([hexOf(toAnnexB([SPS, PPS, IDR]))]);
  });

  it('a lost packet drops its frame and the rest until the next IDR, and asks for one', () => {
    const frames: H264Frame[] = [];
    let asked = 0;
    const d = new H264Depacketizer((f) => frames.push(f), () => { asked++; });
    const all = packets(units, 5);
    const victim = all.findIndex((p) => p.timestamp === ((4294960000 + 2 * 3000) >>> 0)) + 1; // unit 2's second fragment
    for (const p of all.filter((_, i) => i !== victim)) d.push(p);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 1, 3, 4].map((i) => (4294960000 + i * 3000) >>> 0));
    expect(asked).toBe(1);
    expect(d.stats).toMatchObject({ frames: 4, dropped: 1 });
  });

  it('a whole frame lost between two others counts as a loss: the P frame after it is not written', () => {
    const frames: H264Frame[] = [];
    let asked = 0;
    const d = new H264Depacketizer((f) => frames.push(f), () => { asked++; });
    const all = packets(units, 1100); // one packet a unit: lose unit 1 whole
    for (const p of all.filter((_, i) => i !== 1)) d.push(p);
    expect(frames.map((f) => f.keyframe)).toEqual([true, true, false]); // units 0, 3, 4
    expect(asked).toBe(2); // at the gap, and again for the P frame that could not be written
    expect(d.stats.dropped).toBe(2); // the lost unit, and unit 2 waiting for a key frame
  });

  it('skips padding-only packets, counts garbage as malformed, never throws', () => {
    const frames: H264Frame[] = [];
    const d = new H264Depacketizer((f) => frames.push(f));
    const all = packets(units.slice(0, 2), 1100, 0);
    d.push(all[0]!);
    d.push({ sequenceNumber: 1, timestamp: all[0]!.timestamp, marker: false, payload: new Uint8Array(0) }); // padding
    d.push({ ...all[1]!, sequenceNumber: 2 });
    expect(frames).toHaveLength(2);
    for (const payload of ['19 0000', '7c 45 01', '78 00ff 67', '00', 'ff ff ff'].map(hex)) {
      expect(() => d.push({ sequenceNumber: 3, timestamp: 1, marker: true, payload })).not.toThrow();
    }
    expect(d.stats.malformed).toBeGreaterThanOrEqual(1);
    expect(frames).toHaveLength(2);
  });
});

describe('the x264 fixture (test/fixtures/media/h264)', () => {
  const clip = groupAccessUnits(splitAnnexB(readFileSync(FIXTURE)));

  it('has 30 access units, IDRs (with SPS + PPS) at 0 and 15', () => {
    expect(clip).toHaveLength(30);
    const types = clip.map((u) => u.map((n) => n[0]! & 0x1f));
    expect(types.flatMap((t, i) => (t.includes(5) ? [i] : []))).toEqual([0, 15]);
    expect(types[0]).toEqual([7, 8, 6, 5]);
    expect(types[15]).toEqual([7, 8, 5]);
  });

  it('packetized at 1100 bytes: STAP-A for the parameter sets, FU-A for the IDRs, P slices whole or fragmented; the depacketizer gives every unit back', () => {
    const all = packets(clip, 1100);
    const kinds = { single: 0, stapA: 0, fuA: 0 };
    for (const p of all) {
      expect(p.payload.length).toBeLessThanOrEqual(1100);
      const t = p.payload[0]! & 0x1f;
      if (t === 24) kinds.stapA++;
      else if (t === 28) kinds.fuA++;
      else kinds.single++;
    }
    expect(kinds.stapA).toBe(2); // SPS + PPS (+ SEI) before each IDR
    expect(kinds.single).toBeGreaterThan(0);
    expect(kinds.fuA).toBeGreaterThan(10);
    const frames: H264Frame[] = [];
    const d = new H264Depacketizer((f) => frames.push(f));
    for (const p of all) d.push(p);
    expect(frames).toHaveLength(30);
    expect(Buffer.concat(frames.map((f) => f.data)).equals(toAnnexB(clip.flat()))).toBe(true);
  });

  it.skipIf(!has('ffprobe'))('what the depacketizer wrote is the same video to ffprobe: h264 320x240, 30 frames', () => {
    const frames: H264Frame[] = [];
    const d = new H264Depacketizer((f) => frames.push(f));
    for (const p of packets(clip, 300)) d.push(p);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'callpeer-h264-')), 'out.h264');
    writeFileSync(file, Buffer.concat(frames.map((f) => f.data)));
    const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).streams[0]).toMatchObject({ codec_name: 'h264', width: 320, height: 240, nb_read_frames: '30' });
  });
});
