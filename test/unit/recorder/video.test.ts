import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AnnexBWriter } from '../../../src/bots/recorder/annexb-writer.js';
import { IvfWriter } from '../../../src/bots/recorder/ivf-writer.js';
import { Vp8Depacketizer, type Vp8Frame } from '../../../src/media/vp8.js';

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const tmp = () => mkdtempSync(path.join(tmpdir(), 'callpeer-vp8-'));

/** Frames of an IVF file (test-side reader). */
function readIvf(bytes: Buffer): { width: number; height: number; frames: Buffer[] } {
  const frames: Buffer[] = [];
  for (let at = bytes.readUInt16LE(6); at + 12 <= bytes.length;) {
    const size = bytes.readUInt32LE(at);
    frames.push(bytes.subarray(at + 12, at + 12 + size));
    at += 12 + size;
  }
  return { width: bytes.readUInt16LE(12), height: bytes.readUInt16LE(14), frames };
}

interface Pkt { sequenceNumber: number; timestamp: number; marker: boolean; payload: Buffer }

/** RFC 7741 packetization: at most `mtu` bytes of VP8 per packet, 15-bit PictureID descriptor. */
function packetize(frames: Buffer[], mtu = 300): Pkt[] {
  const out: Pkt[] = [];
  let seq = 65500; // wraps during the stream
  frames.forEach((f, n) => {
    for (let at = 0; at < f.length; at += mtu) {
      const desc = Buffer.from([0x80 | (at === 0 ? 0x10 : 0), 0x80, 0x80 | ((n >> 8) & 0x7f), n & 0xff]);
      out.push({ sequenceNumber: seq++ & 0xffff, timestamp: (4294960000 + n * 6000) >>> 0, marker: at + mtu >= f.length, payload: Buffer.concat([desc, f.subarray(at, at + mtu)]) });
    }
  });
  return out;
}

let source: { width: number; height: number; frames: Buffer[] } | undefined;
beforeAll(() => {
  if (!has('ffmpeg')) return;
  const file = path.join(tmp(), 'src.ivf');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '2', '-c:v', 'libvpx', '-b:v', '300k', '-g', '10', file]);
  if (r.status === 0) source = readIvf(readFileSync(file));
});

describe.skipIf(!has('ffmpeg') || !has('ffprobe'))('VP8 depacketizer + IvfWriter against libvpx frames', () => {
  it('rebuilds every frame byte for byte and writes an IVF ffprobe reads', () => {
    const src = source!;
    const frames: Vp8Frame[] = [];
    const d = new Vp8Depacketizer((f) => frames.push(f));
    for (const p of packetize(src.frames)) d.push(p);
    expect(frames.map((f) => f.data)).toEqual(src.frames);
    expect(frames[0]).toMatchObject({ keyframe: true, width: 320, height: 240 });
    const file = path.join(tmp(), 'out.ivf');
    const w = new IvfWriter(file);
    for (const f of frames) w.writeFrame(f.data, ((f.timestamp - frames[0]!.timestamp) >>> 0) + 9000, f.width !== undefined ? { width: f.width, height: f.height! } : undefined);
    w.close();
    const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.streams[0]).toMatchObject({ codec_name: 'vp8', width: 320, height: 240, nb_read_frames: String(src.frames.length) });
    expect(readIvf(readFileSync(file)).frames).toEqual(src.frames);
  });

  it('a lost packet drops its frame and the rest until the next key frame, and asks for one', () => {
    const src = source!;
    const frames: Vp8Frame[] = [];
    let asked = 0;
    const d = new Vp8Depacketizer((f) => frames.push(f), () => { asked++; });
    const packets = packetize(src.frames);
    const victim = packets.findIndex((p) => p.payload[3] === 3 && p.payload[0]! & 0x10); // frame 3's first packet
    for (const p of packets.filter((_, i) => i !== victim)) d.push(p);
    const kept = frames.map((f) => src.frames.indexOf(f.data.length ? src.frames.find((s) => s.equals(f.data))! : f.data));
    expect(kept).toEqual([0, 1, 2, ...Array.from({ length: src.frames.length - 10 }, (_, i) => i + 10)]); // key frames every 10
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(d.stats.dropped).toBe(7);
  });
});

describe('AnnexBWriter (H264 recordings)', () => {
  it('appends each access unit as given, counts frames, closes once; an unwritable path is IO_ERROR', () => {
    const file = path.join(tmp(), 'cam.h264');
    const w = new AnnexBWriter(file);
    const units = [Buffer.from('000000016742c01f0000000168ce3c80000000016588', 'hex'), Buffer.from('00000001419a', 'hex')];
    for (const [i, u] of units.entries()) w.writeFrame(u, i * 6000);
    w.flush();
    expect(w.frameCount).toBe(2);
    w.close();
    w.close();
    expect(w.closed).toBe(true);
    w.writeFrame(units[1]!, 12000); // after close: ignored
    expect(readFileSync(file).equals(Buffer.concat(units))).toBe(true);
    expect(() => new AnnexBWriter(path.join(tmp(), 'missing', 'cam.h264'))).toThrow(expect.objectContaining({ code: 'IO_ERROR' }));
  });
});
