import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OggOpusReader, OggOpusWriter, parseOpusHead, parseOpusTags, readOggOpus, writeOpusHead, writeOpusTags } from '../../../src/media/ogg-opus.js';
import { opusPacketSamples48k } from '../../../src/media/opus-packet.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { parseWav } from '../../../src/media/wav.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency } from '../../../src/media/analysis.js';
import { has, probe, run, runAll, skipNote, tempDir } from '../../helpers/tools.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

/** `seconds` of a 440 Hz tone as 20 ms Opus packets at 48 kHz. */
function tonePackets(seconds: number, freq = 440): Buffer[] {
  const enc = new OpusEncoderStream(48000);
  const gen = new ToneGenerator(freq, 48000);
  return Array.from({ length: seconds * 50 }, () => enc.encode(gen.next(960)));
}

function decodeAll(packets: Uint8Array[]): Int16Array {
  const dec = new OpusDecoderStream(48000);
  const parts = packets.map((p) => dec.decode(p));
  const out = new Int16Array(parts.length * 960);
  parts.forEach((p, i) => out.set(p, i * 960));
  return out;
}

describe('Opus headers', () => {
  const HEAD = hex(`
    4f70757348656164  # "OpusHead"
    01                # version 1
    01                # 1 channel
    3801              # pre-skip 312
    80bb0000          # input rate 48000
    0000              # output gain 0 dB
    00                # mapping family 0
  `);
  const TAGS = hex(`
    4f70757354616773  # "OpusTags"
    02000000 6370     # vendor "cp"
    01000000          # 1 comment
    03000000 413d62   # "A=b"
  `);

  it('writes and parses OpusHead and OpusTags byte-exactly', () => {
    expect(writeOpusHead().toString('hex')).toBe(HEAD.toString('hex'));
    expect(parseOpusHead(HEAD)).toEqual({ version: 1, channels: 1, preSkip: 312, inputSampleRate: 48000, outputGain: 0, mappingFamily: 0 });
    expect(writeOpusTags({ vendor: 'cp', comments: ['A=b'] }).toString('hex')).toBe(TAGS.toString('hex'));
    expect(parseOpusTags(TAGS)).toEqual({ vendor: 'cp', comments: ['A=b'] });
  });

  it('answers PARSE_ERROR for truncated headers', () => {
    expect(() => parseOpusHead(HEAD.subarray(0, 15))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
    expect(() => parseOpusTags(TAGS.subarray(0, TAGS.length - 1))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
    expect(() => parseOpusHead(TAGS)).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });

  it('reads packet durations from the TOC byte', () => {
    expect(opusPacketSamples48k(Uint8Array.of(0xf8))).toBe(960); // config 31 CELT FB 20 ms, code 0: 1 frame
    expect(opusPacketSamples48k(Uint8Array.of(0x09))).toBe(1920); // config 1 SILK NB 20 ms, code 1: 2 frames
    expect(opusPacketSamples48k(Uint8Array.of(0x03, 0x05))).toBe(2400); // config 0 SILK 10 ms, code 3: 5 frames
    expect(opusPacketSamples48k(Uint8Array.of(0x80))).toBe(120); // config 16 CELT NB 2.5 ms
    expect(() => opusPacketSamples48k(Uint8Array.of(0xfb, 0x00))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' })); // 0 frames
    expect(() => opusPacketSamples48k(Uint8Array.of(0x1b, 0x07))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' })); // 7 x 60 ms
    expect(() => opusPacketSamples48k(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });
});

describe('OggOpusWriter and OggOpusReader', () => {
  it('writes a page per second and reads packets back with their granules', () => {
    const packets = tonePackets(3);
    const w = new OggOpusWriter({ serial: 42 });
    const parts = [w.start()];
    for (const p of packets) parts.push(w.write(p));
    parts.push(w.close());
    const bytes = Buffer.concat(parts);
    const audioPages = parts.slice(1).filter((b) => b.length > 0).length;
    expect(audioPages).toBe(4); // at 1 s, 2 s, 3 s, then close() with nothing pending: an empty EOS page
    const { head, tags, packets: read } = readOggOpus(bytes);
    expect(head.preSkip).toBe(312);
    expect(tags.vendor).toBe('callpeer');
    expect(read).toHaveLength(150);
    expect(read.map((p) => p.granule)).toEqual(packets.map((_, i) => 960 * (i + 1)));
    expect(read.every((p, i) => Buffer.compare(Buffer.from(p.data), packets[i]!) === 0)).toBe(true);
    expect(read[149]!.eos).toBe(false); // the EOS page came empty
  });
});

describe('Ogg Opus writer modes', () => {
  it('writes a page per packet with pageDurationMs 0', () => {
    const w = new OggOpusWriter({ pageDurationMs: 0 });
    w.start();
    const pages = tonePackets(0.1).map((p) => w.write(p));
    expect(pages.every((b) => b.subarray(0, 4).toString() === 'OggS')).toBe(true);
    expect(pages[4]!.readBigInt64LE(6)).toBe(4800n);
  });

  it('starts with the headers even without start(), and refuses granules going backwards', () => {
    const w = new OggOpusWriter();
    const [p] = tonePackets(0.02);
    const first = w.write(p!, 960);
    expect(first.subarray(28, 36).toString()).toBe('OpusHead');
    expect(() => w.write(p!, 10)).toThrow(TypeError);
    w.close();
    expect(() => w.write(p!)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('rejects a truncated file with PARSE_ERROR', () => {
    const w = new OggOpusWriter();
    const bytes = Buffer.concat([w.start(), ...tonePackets(0.5).map((p) => w.write(p)), w.close()]);
    expect(() => readOggOpus(bytes.subarray(0, bytes.length - 10))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
    expect(() => readOggOpus(bytes.subarray(0, 40))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });
});

describe(`Ogg Opus files and external tools${skipNote(['opusinfo', 'opusenc', 'opusdec', 'ffprobe', 'ffmpeg', 'sox'], 'opus-tools ffmpeg sox')}`, () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!has('opusinfo') || !has('ffprobe') || !has('opusdec'))('writes a file opusinfo and ffprobe accept and opusdec decodes to the tone', () => {
    const file = path.join(dir, 'tone.opus');
    const w = new OggOpusWriter({ comments: ['TITLE=tone'] });
    writeFileSync(file, Buffer.concat([w.start(), ...tonePackets(3).map((p) => w.write(p)), w.close()]));
    const info = runAll('opusinfo', [file]);
    expect(info.status).toBe(0);
    expect(info.output).not.toMatch(/WARNING|ERROR/);
    expect(info.output).toContain('Playback length: 0m:02.993s'); // 3 s - 312 samples pre-skip
    const p = probe(file);
    expect(p.codec_name).toBe('opus');
    expect(Number(p.duration)).toBeCloseTo(3, 1);
    const wav = path.join(dir, 'tone.wav');
    run('opusdec', ['--quiet', file, wav]);
    const decoded = parseWav(readFileSync(wav));
    expect(decoded.sampleRate).toBe(48000);
    expect(decoded.samples.length).toBe(3 * 48000 - 312);
    expect(Math.abs(dominantFrequency(decoded.samples.subarray(4800), 48000) - 440)).toBeLessThanOrEqual(1);
  });

  it.skipIf(!has('ffprobe'))('leaves a readable file when the process dies before close (at most the last second lost)', () => {
    const file = path.join(dir, 'crash.opus');
    const w = new OggOpusWriter();
    const written = [w.start(), ...tonePackets(2.5).map((p) => w.write(p))]; // no close(), no flush()
    writeFileSync(file, Buffer.concat(written));
    const reader = new OggOpusReader();
    const packets = reader.push(readFileSync(file));
    expect(reader.errors).toEqual([]);
    expect(packets).toHaveLength(100); // the pages at 1 s and 2 s
    expect(Number(probe(file).duration)).toBeCloseTo(2, 1);
  });

  it.skipIf(!has('sox') || !has('opusenc'))('reads a file made by opusenc and decodes its packets to the tone', () => {
    const wav = path.join(dir, 'in16k.wav');
    const file = path.join(dir, 'opusenc.opus');
    run('sox', ['-n', '-r', '16000', '-b', '16', '-c', '1', wav, 'synth', '3', 'sine', '1000', 'vol', '0.5']);
    run('opusenc', ['--quiet', '--bitrate', '32', wav, file]);
    const { head, tags, packets } = readOggOpus(readFileSync(file));
    expect(head).toMatchObject({ channels: 1, preSkip: 312, inputSampleRate: 16000, mappingFamily: 0 });
    expect(tags.vendor).toMatch(/libopus/);
    // the last granule trims the end: exactly 3 s of 48 kHz audio after the pre-skip
    expect(packets.at(-1)!.granule - head.preSkip).toBe(3 * 48000);
    expect(packets.at(-1)!.eos).toBe(true);
    for (let i = 1; i < packets.length - 1; i++) expect(packets[i]!.granule - packets[i - 1]!.granule).toBe(960);
    const pcm = decodeAll(packets.map((p) => p.data));
    expect(Math.abs(dominantFrequency(pcm.subarray(4800, 4800 + 96000), 48000) - 1000)).toBeLessThanOrEqual(1);
  });

  it.skipIf(!has('ffmpeg'))('reads a file made by ffmpeg fed in 1000-byte chunks', () => {
    const file = path.join(dir, 'ffmpeg.opus');
    run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=700:sample_rate=48000:duration=2', '-c:a', 'libopus', '-b:a', '32k', '-y', file]);
    const bytes = readFileSync(file);
    const reader = new OggOpusReader();
    const packets = [];
    for (let i = 0; i < bytes.length; i += 1000) packets.push(...reader.push(bytes.subarray(i, i + 1000)));
    packets.push(...reader.end());
    expect(reader.errors).toEqual([]);
    expect(reader.head!.channels).toBe(1);
    expect(packets.at(-1)!.eos).toBe(true);
    const pcm = decodeAll(packets.map((p) => p.data));
    expect(Math.abs(dominantFrequency(pcm.subarray(4800, 4800 + 48000), 48000) - 700)).toBeLessThanOrEqual(1);
  });
});
