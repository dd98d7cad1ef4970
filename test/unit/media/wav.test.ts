import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WAV_UNKNOWN_SIZE, WavStreamWriter, encodeWav, parseWav } from '../../../src/media/wav.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency, rms } from '../../../src/media/analysis.js';
import { has, probe, run, skipNote, tempDir } from '../../helpers/tools.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

const FILE = hex(`
  52494646  # "RIFF"
  28000000  # RIFF size 40 = 36 + 4 data bytes
  57415645  # "WAVE"
  666d7420  # "fmt "
  10000000  # fmt size 16
  0100      # PCM
  0100      # mono
  803e0000  # 16000 Hz
  007d0000  # 32000 bytes/s
  0200      # block align 2
  1000      # 16 bits
  64617461  # "data"
  04000000  # 4 bytes
  0100 ffff # samples 1, -1
`);

/** A WAV file from parts: fmt fields and raw data, with optional extra chunks before data. */
function wav(fmt: { tag: number; channels: number; rate: number; bits: number; extensible?: boolean }, data: Buffer, extra: Buffer[] = []): Buffer {
  const block = (fmt.channels * fmt.bits) / 8;
  const f = Buffer.alloc(fmt.extensible ? 40 : 16);
  f.writeUInt16LE(fmt.extensible ? 0xfffe : fmt.tag, 0);
  f.writeUInt16LE(fmt.channels, 2);
  f.writeUInt32LE(fmt.rate, 4);
  f.writeUInt32LE(fmt.rate * block, 8);
  f.writeUInt16LE(block, 12);
  f.writeUInt16LE(fmt.bits, 14);
  if (fmt.extensible) { f.writeUInt16LE(22, 16); f.writeUInt16LE(fmt.bits, 18); f.writeUInt16LE(fmt.tag, 24); }
  const chunk = (id: string, body: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(body.length, 4);
    return Buffer.concat([h, body, Buffer.alloc(body.length & 1)]);
  };
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', f), ...extra, chunk('data', data)]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

describe('WAV', () => {
  it('writes a 16-bit mono file byte-exactly and reads it back', () => {
    expect(encodeWav(Int16Array.of(1, -1), 16000).toString('hex')).toBe(FILE.toString('hex'));
    expect(parseWav(FILE)).toEqual({ sampleRate: 16000, channels: 1, bitsPerSample: 16, encoding: 'pcm', samples: Int16Array.of(1, -1) });
  });

  it.each([
    ['8-bit unsigned', { tag: 1, channels: 1, rate: 8000, bits: 8 }, hex('80 ff 00'), [0, 32512, -32768]],
    ['24-bit', { tag: 1, channels: 1, rate: 8000, bits: 24 }, hex('000040 ffffff 000080'), [16384, 0, -32768]],
    ['32-bit int', { tag: 1, channels: 1, rate: 8000, bits: 32 }, hex('00000040 00000080'), [16384, -32768]],
    ['32-bit float stereo (averaged)', { tag: 3, channels: 2, rate: 44100, bits: 32 }, hex('0000003f 00000000 000080bf 000080bf'), [8192, -32768]],
    ['64-bit float', { tag: 3, channels: 1, rate: 8000, bits: 64 }, hex('000000000000e03f 000000000000f03f'), [16384, 32767]],
    ['extensible 16-bit stereo', { tag: 1, channels: 2, rate: 48000, bits: 16, extensible: true }, hex('6400 c800 0080 0080'), [150, -32768]],
  ])('reads %s as mono Int16', (_name, fmt, data, expected) => {
    const parsed = parseWav(wav(fmt, data));
    expect(Array.from(parsed.samples)).toEqual(expected);
    expect(parsed.sampleRate).toBe(fmt.rate);
    expect(parsed.channels).toBe(fmt.channels);
  });

  it('skips LIST and odd-sized chunks before data', () => {
    const list = Buffer.concat([Buffer.from('LIST'), hex('05000000'), Buffer.from('INFOx')]); // odd size: one pad byte
    const file = wav({ tag: 1, channels: 1, rate: 16000, bits: 16 }, hex('0100 0200'), [Buffer.concat([list, hex('00')])]);
    expect(Array.from(parseWav(file).samples)).toEqual([1, 2]);
  });

  it('reads a data chunk of unknown size (0xFFFFFFFF) to the end of the file', () => {
    const w = new WavStreamWriter(8000);
    const file = Buffer.concat([w.header(), w.samples(Int16Array.of(5, 6, 7)), Buffer.from([0x01])]); // a torn last sample
    expect(file.readUInt32LE(40)).toBe(WAV_UNKNOWN_SIZE);
    expect(Array.from(parseWav(file).samples)).toEqual([5, 6, 7]);
  });

  it.each([
    ['a file shorter than a RIFF header', FILE.subarray(0, 10), 10],
    ['a data chunk cut short', FILE.subarray(0, FILE.length - 1), 40],
    ['no data chunk', FILE.subarray(0, 36), 36],
    ['not RIFF', Buffer.concat([Buffer.from('RIFX'), FILE.subarray(4)]), 0],
  ])('answers PARSE_ERROR for %s', (_name, bytes, offset) => {
    expect(() => parseWav(bytes)).toThrow(expect.objectContaining({ code: 'PARSE_ERROR', message: expect.stringContaining(`offset ${offset}`) }));
  });

  it('answers PARSE_ERROR for unsupported formats', () => {
    expect(() => parseWav(wav({ tag: 2, channels: 1, rate: 8000, bits: 4 }, hex('00')))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' })); // ADPCM
    expect(() => parseWav(wav({ tag: 1, channels: 1, rate: 8000, bits: 12 }, hex('0000')))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });

  it('patches the sizes of a streamed file', () => {
    const w = new WavStreamWriter(16000);
    const file = Buffer.concat([w.header(), w.samples(Int16Array.of(1, -1))]);
    for (const p of w.sizePatches()) p.bytes.copy(file, p.position);
    expect(file.toString('hex')).toBe(FILE.toString('hex'));
  });
});

describe(`WAV files and external tools${skipNote(['sox', 'soxi', 'ffprobe'], 'sox ffmpeg')}`, () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!has('soxi') || !has('ffprobe'))('writes files soxi and ffprobe read, before and after the size patch', () => {
    const file = path.join(dir, 'stream.wav');
    const w = new WavStreamWriter(16000);
    const gen = new ToneGenerator(440, 16000);
    writeFileSync(file, Buffer.concat([w.header(), ...Array.from({ length: 50 }, () => w.samples(gen.next(320)))]));
    // not patched yet, as after a crash: ffprobe measures the real length
    expect(probe(file)).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: '16000', channels: 1, duration: '1.000000' });
    const bytes = readFileSync(file);
    for (const p of w.sizePatches()) p.bytes.copy(bytes, p.position);
    writeFileSync(file, bytes);
    expect(run('soxi', ['-s', file]).trim()).toBe('16000');
    expect(run('soxi', ['-r', file]).trim()).toBe('16000');
    expect(probe(file).duration).toBe('1.000000');
  });

  it.skipIf(!has('sox'))('reads sox files: 44.1 kHz 24-bit stereo, 8-bit, float', () => {
    for (const [args, rate] of [[['-r', '44100', '-b', '24', '-c', '2'], 44100], [['-r', '8000', '-b', '8', '-c', '1'], 8000], [['-r', '48000', '-e', 'floating-point', '-b', '32', '-c', '2'], 48000]] as const) {
      const file = path.join(dir, `sox-${rate}.wav`);
      run('sox', ['-n', ...args, file, 'synth', '1', 'sine', '440', 'vol', '0.5']);
      const parsed = parseWav(readFileSync(file));
      expect(parsed.sampleRate).toBe(rate);
      expect(parsed.samples.length).toBe(rate);
      expect(Math.abs(dominantFrequency(parsed.samples, rate) - 440)).toBeLessThanOrEqual(1);
      expect(rms(parsed.samples)).toBeCloseTo(0.3536, 2);
    }
  });
});
