import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAudioFile, openWavFrames } from '../../../src/client/audio-files.js';
import { dominantFrequency } from '../../../src/media/analysis.js';
import { OpusDecoderStream } from '../../../src/media/opus.js';
import { encodeWav } from '../../../src/media/wav.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { CallpeerError } from '../../../src/errors.js';
import { has, run, skipNote, tempDir } from '../../helpers/tools.js';

/** Plays a source to its end and decodes what it sent. */
function drain(source: Awaited<ReturnType<typeof openAudioFile>>, maxFrames = 10_000): { frames: number; pcm: Int16Array } {
  const dec = new OpusDecoderStream(48000);
  const out: Int16Array[] = [];
  let i = 0;
  for (; i < maxFrames && !source.ended; i++) {
    const f = source.nextFrame(i);
    if (f) out.push(dec.decode(f));
  }
  const pcm = new Int16Array(out.length * 960);
  out.forEach((c, k) => pcm.set(c, k * 960));
  return { frames: out.length, pcm };
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (e) { return (e as CallpeerError).code; }
  return undefined;
}

describe('audio files as Opus sources (bots, load tester)', () => {
  it('a 44.1 kHz WAV is resampled and encoded in 20 ms frames, tone intact', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.wav');
    writeFileSync(file, encodeWav(new ToneGenerator(523, 44100).next(44100), 44100)); // 1 s
    const { frames, pcm } = drain(await openAudioFile(file));
    expect(frames).toBe(50);
    expect(Math.abs(dominantFrequency(pcm.subarray(960, 48000 - 960), 48000) - 523)).toBeLessThanOrEqual(1);
  });

  it('--loop plays the file again and again', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'short.wav');
    writeFileSync(file, encodeWav(new ToneGenerator(440, 48000).next(4800), 48000)); // 100 ms = 5 frames
    const source = await openAudioFile(file, { loop: true });
    for (let i = 0; i < 23; i++) expect(source.nextFrame(i)).toBeInstanceOf(Buffer);
    expect(source.ended).toBe(false);
  });

  it.skipIf(!has('opusenc') || !has('sox'))(`an Ogg Opus file from opusenc is sent packet for packet${skipNote(['opusenc', 'sox'], 'opus-tools sox')}`, async () => {
    const dir = tempDir();
    const wav = path.join(dir, 't.wav');
    run('sox', ['-n', '-r', '48000', '-b', '16', '-c', '1', wav, 'synth', '1', 'sine', '700', 'vol', '0.5']);
    const ogg = path.join(dir, 't.opus');
    run('opusenc', ['--quiet', '--framesize', '20', wav, ogg]);
    const { frames, pcm } = drain(await openAudioFile(ogg));
    expect(frames).toBeGreaterThanOrEqual(50);
    expect(Math.abs(dominantFrequency(pcm.subarray(9600, 40000), 48000) - 700)).toBeLessThanOrEqual(1);
  });

  it.skipIf(!has('opusenc') || !has('sox'))(`an Ogg Opus file with 60 ms frames is refused with CODEC_NOT_SUPPORTED${skipNote(['opusenc', 'sox'], 'opus-tools sox')}`, async () => {
    const dir = tempDir();
    const wav = path.join(dir, 't.wav');
    run('sox', ['-n', '-r', '48000', '-b', '16', '-c', '1', wav, 'synth', '1', 'sine', '700']);
    const ogg = path.join(dir, 't60.opus');
    run('opusenc', ['--quiet', '--framesize', '60', wav, ogg]);
    expect(await code(openAudioFile(ogg))).toBe('CODEC_NOT_SUPPORTED');
  });

  it('a missing file is IO_ERROR, a file of another kind PARSE_ERROR, an empty WAV PARSE_ERROR', async () => {
    const dir = tempDir();
    expect(await code(openAudioFile(path.join(dir, 'nope.wav')))).toBe('IO_ERROR');
    const mp3 = path.join(dir, 'x.mp3');
    writeFileSync(mp3, Buffer.from('ID3\x03\x00\x00\x00\x00\x00\x00 not audio we read'));
    expect(await code(openAudioFile(mp3))).toBe('PARSE_ERROR');
    const truncated = path.join(dir, 'truncated.wav');
    writeFileSync(truncated, Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1'));
    const err = await openAudioFile(truncated).catch((e: CallpeerError) => e);
    expect((err as CallpeerError).code).toBe('PARSE_ERROR');
    expect((err as CallpeerError).message).toContain(truncated); // names the file
    expect((err as CallpeerError).hint).toContain('sox');
    const empty = path.join(dir, 'empty.wav');
    writeFileSync(empty, encodeWav(new Int16Array(0), 48000));
    expect(await code(openAudioFile(empty))).toBe('PARSE_ERROR');
  });
});

describe('audio files as PCM frames (PCM client)', () => {
  it('a 44.1 kHz WAV plays as 20 ms frames at the client rate, looped on request', async () => {
    const file = path.join(tempDir(), 'a.wav');
    writeFileSync(file, encodeWav(new ToneGenerator(440, 44100).next(4410), 44100)); // 100 ms
    const once = await openWavFrames(file, 16000);
    let frames = 0;
    while (once.nextFrame()) frames++;
    expect(frames).toBe(5);
    expect(once.ended).toBe(true);
    const looped = await openWavFrames(file, 16000, { loop: true });
    for (let i = 0; i < 12; i++) expect(looped.nextFrame()).toHaveLength(320);
    expect(looped.ended).toBe(false);
  });

  it('a missing file is IO_ERROR; a file that is not a WAV is PARSE_ERROR naming the file, with a fix', async () => {
    const dir = tempDir();
    expect(await code(openWavFrames(path.join(dir, 'nope.wav'), 16000))).toBe('IO_ERROR');
    const file = path.join(dir, 'x.wav');
    writeFileSync(file, 'hi\n');
    const err = await openWavFrames(file, 16000).catch((e: CallpeerError) => e);
    expect((err as CallpeerError).code).toBe('PARSE_ERROR');
    expect((err as CallpeerError).message).toContain(file);
    expect((err as CallpeerError).hint).toBeDefined();
  });
});
