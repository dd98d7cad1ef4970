import { describe, expect, it } from 'vitest';
import { OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { opusPacketSamples48k } from '../../../src/media/opus-packet.js';
import { readOpusStamp, stampOpusPacket } from '../../../src/media/opus-stamp.js';
import { ToneGenerator } from '../../../src/media/tone.js';

describe('Opus send-time stamps', () => {
  it('rewrites a code 0 packet as code 3 with 12 bytes of padding: byte for byte', () => {
    const packet = Buffer.from([0xfc, 0x01, 0x02, 0x03]); // CELT FB 20 ms stereo, code 0
    const stamped = stampOpusPacket(packet, 1.5);
    expect([...stamped]).toEqual([
      0xff, 0x41, 12, // TOC with code 3; one frame, padded; 12 bytes of padding
      0x01, 0x02, 0x03, // the frame
      0x43, 0x50, 0x54, 0x53, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, // "CPTS", 1.5 as a float64
    ]);
    expect(readOpusStamp(stamped)).toBe(1.5);
    expect(opusPacketSamples48k(stamped)).toBe(960);
  });

  it('reads the stamp in place from an RTP packet\'s payload (offset and length), ignoring what follows it', () => {
    const payload = stampOpusPacket(Buffer.from([0xfc, 9, 9]), 1234.5);
    const header = Buffer.alloc(12, 0x80);
    const rtp = Buffer.concat([header, payload, Buffer.from([0, 0, 0, 4])]); // RTP padding after the payload
    expect(readOpusStamp(rtp, 12, payload.length)).toBe(1234.5);
    expect(readOpusStamp(rtp, 12, payload.length + 4)).toBeUndefined(); // the wrong end: no magic there
  });

  it('reads nothing from unstamped packets, and leaves packets of other codes alone', () => {
    expect(readOpusStamp(Buffer.from([0xfc, 1, 2, 3]))).toBeUndefined();
    // Code 3 with padding that is not ours (zeros, as an encoder pads).
    const padded = Buffer.from([0xff, 0x41, 12, 9, ...new Array(12).fill(0)]);
    expect(readOpusStamp(padded)).toBeUndefined();
    const twoFrames = Buffer.from([0xfd, 1, 2]); // code 1
    expect(stampOpusPacket(twoFrames, 5).equals(twoFrames)).toBe(true);
    expect(readOpusStamp(Buffer.alloc(0))).toBeUndefined();
  });

  it('libopus decodes a stamped packet to exactly the samples of the original', () => {
    const enc = new OpusEncoderStream(48000);
    const pcm = new ToneGenerator(440, 48000, 0.5).next(960 * 5);
    const packets = Array.from({ length: 5 }, (_, i) => enc.encode(pcm.subarray(i * 960, (i + 1) * 960)));
    enc.release();
    const plain = new OpusDecoderStream(48000);
    const stamped = new OpusDecoderStream(48000);
    for (const [i, p] of packets.entries()) {
      const s = stampOpusPacket(p, performance.timeOrigin + i * 20);
      expect(readOpusStamp(s)).toBe(performance.timeOrigin + i * 20);
      expect(Buffer.from(stamped.decode(s).buffer).equals(Buffer.from(plain.decode(p).buffer))).toBe(true);
    }
  });
});
