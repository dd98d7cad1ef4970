/**
 * Every parser of bytes or text a peer controls, under generated and mutated input: it returns
 * a value or throws a CallpeerError with its documented code, never a TypeError, a RangeError
 * or a hang, and never touches Object.prototype. Valid samples are mutated as well as random
 * bytes drawn, so the fuzzer reaches past the first length check.
 *
 * `npm test` runs a short seeded pass; `npm run fuzz` the long one (fuzz-config.ts).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CallpeerError } from '../../src/errors.js';
import { encodeWav, parseWav } from '../../src/media/wav.js';
import { parseIvf } from '../../src/media/ivf.js';
import { OggOpusWriter, readOggOpus } from '../../src/media/ogg-opus.js';
import { scanOggPages } from '../../src/media/ogg.js';
import { opusPacketSamples48k } from '../../src/media/opus-packet.js';
import { buildRtcp, parseRtcp } from '../../src/media/rtcp.js';
import { parseRtpHeader } from '../../src/media/rtp.js';
import { parseVp8Descriptor, vp8KeyframeSize } from '../../src/media/vp8.js';
import { packetizeVp8 } from '../../src/media/vp8-packetizer.js';
import { depacketizeH264Nals, packetizeH264, splitAnnexB } from '../../src/media/h264-packetizer.js';
import { h264StartsKeyframe } from '../../src/media/h264.js';
import { parseClientMessage, parseServerMessage } from '../../src/protocol/signaling.js';
import { parsePcmClientMessage, parsePcmParams } from '../../src/protocol/pcm.js';
import { parseTwilioInbound } from '../../src/protocol/twilio.js';
import { parseSdp } from '../../src/rtc/sdp.js';
import { planAnswer } from '../../src/rtc/answer-plan.js';
import { damagedOffer, hostileFrame, mutatedBytes, PCM_SAMPLES, SIGNALING_SAMPLES, TWILIO_SAMPLES } from './corpus.js';
import { runs } from './fuzz-config.js';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));
const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

/** Runs `parse`; a throw must be a CallpeerError of one of `codes`. Returns what it returned. */
function refusedCleanly<T>(parse: () => T, codes: readonly string[]): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof CallpeerError) || !codes.includes(err.code)) throw err; // fast-check reports the input
    return undefined;
  }
}

afterAll(() => {
  // No input may have reached Object.prototype (a `__proto__` key copied with Object.assign, say).
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('binary parsers', () => {
  const rtpSamples = [fixture('media/chromium-opus-rtp.bin')];
  const rtcpSamples = [
    fixture('media/chromium-rtcp.bin'),
    buildRtcp([
      { type: 'rr', ssrc: 1, reports: [{ ssrc: 2, fractionLost: 3, packetsLost: 4, highestSeq: 5, jitter: 6, lsr: 7, dlsr: 8 }] },
      { type: 'nack', senderSsrc: 1, mediaSsrc: 2, items: [{ pid: 10, blp: 0x8001 }] },
      { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
      { type: 'remb', senderSsrc: 1, bitrate: 500_000, ssrcs: [2, 3] },
      { type: 'bye', ssrcs: [2], reason: 'gone' },
    ]),
  ];

  it('RTP headers', () => {
    fc.assert(fc.property(mutatedBytes(rtpSamples), (bytes) => {
      const h = refusedCleanly(() => parseRtpHeader(bytes), ['PARSE_ERROR']);
      if (h) expect(h.payloadOffset + h.payloadLength + h.paddingLength).toBe(bytes.length);
    }), runs(2000, 200_000));
  });

  it('RTCP compound packets', () => {
    fc.assert(fc.property(mutatedBytes(rtcpSamples), (bytes) => {
      refusedCleanly(() => parseRtcp(bytes), ['PARSE_ERROR']);
    }), runs(2000, 200_000));
  });

  it('VP8 payload descriptors and key frame headers', () => {
    const frames = parseIvf(fixture('media/vp8/160x90.ivf')).frames.slice(0, 3);
    const payloads = frames.flatMap((f, i) => packetizeVp8(f.data, 1000 + i, i, 300));
    fc.assert(fc.property(mutatedBytes(payloads), (bytes) => {
      const d = refusedCleanly(() => parseVp8Descriptor(bytes), ['PARSE_ERROR']);
      if (d) {
        expect(d.length).toBeLessThanOrEqual(bytes.length);
        refusedCleanly(() => vp8KeyframeSize(bytes.subarray(d.length)), ['PARSE_ERROR']);
      }
    }), runs(2000, 200_000));
  });

  it('H.264 payloads and Annex B streams', () => {
    const nals = splitAnnexB(fixture('media/h264/320x240.h264')).slice(0, 6);
    const payloads = packetizeH264(nals, 300);
    fc.assert(fc.property(fc.array(mutatedBytes(payloads), { minLength: 1, maxLength: 4 }), (group) => {
      for (const p of group) h264StartsKeyframe(p);
      refusedCleanly(() => depacketizeH264Nals(group), ['PARSE_ERROR']);
      refusedCleanly(() => splitAnnexB(group[0]!), ['PARSE_ERROR']);
    }), runs(1000, 100_000));
  });

  it('Opus packets (TOC and frame counts)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const n = refusedCleanly(() => opusPacketSamples48k(bytes), ['PARSE_ERROR']);
      if (n !== undefined) expect(n).toBeGreaterThanOrEqual(0);
    }), runs(2000, 200_000));
  });

  it('Ogg Opus files and the page scanner --repair uses', () => {
    const w = new OggOpusWriter({ serial: 7, pageDurationMs: 40 });
    const parts = [w.start()];
    for (let i = 0; i < 6; i++) parts.push(w.write(Buffer.from([0xf8, 0xff, 0xfe, i])));
    parts.push(w.close());
    const file = Buffer.concat(parts);
    fc.assert(fc.property(mutatedBytes([file], 4096), (bytes) => {
      refusedCleanly(() => readOggOpus(bytes), ['PARSE_ERROR']);
      const pages = scanOggPages(bytes);
      for (const p of pages) expect(p.offset + p.length).toBeLessThanOrEqual(bytes.length);
    }), runs(1000, 100_000));
  });

  it('WAV files', () => {
    const wav = encodeWav(Int16Array.from({ length: 64 }, (_, i) => i * 100), 16000);
    fc.assert(fc.property(mutatedBytes([wav]), (bytes) => {
      refusedCleanly(() => parseWav(bytes), ['PARSE_ERROR']);
    }), runs(2000, 200_000));
  });

  it('IVF files', () => {
    const ivf = fixture('media/vp8/160x90.ivf').subarray(0, 2000);
    fc.assert(fc.property(mutatedBytes([ivf], 4096), (bytes) => {
      refusedCleanly(() => parseIvf(Buffer.from(bytes)), ['PARSE_ERROR']);
    }), runs(1000, 100_000));
  });
});

describe('SDP', () => {
  it('parseSdp and the answer plan take damaged offers or refuse them with INVALID_SDP', () => {
    fc.assert(fc.property(damagedOffer, (sdp) => {
      const parsed = refusedCleanly(() => parseSdp(sdp), ['INVALID_SDP']);
      if (parsed) refusedCleanly(() => planAnswer(parsed), ['INVALID_SDP', 'CODEC_NOT_SUPPORTED']);
    }), runs(500, 50_000));
  });

  it('random text is refused with INVALID_SDP', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }).map((s) => `v=0\r\n${s}`), (sdp) => {
      refusedCleanly(() => parseSdp(sdp), ['INVALID_SDP']);
    }), runs(1000, 100_000));
  });
});

describe('text frames', () => {
  it('/ws client messages: a message whose JSON still parses as one, or INVALID_MESSAGE / INVALID_SDP', () => {
    fc.assert(fc.property(hostileFrame(SIGNALING_SAMPLES), (text) => {
      const msg = refusedCleanly(() => parseClientMessage(text), ['INVALID_MESSAGE', 'INVALID_SDP']);
      if (msg) {
        expect(Object.getPrototypeOf(msg)).toBe(Object.prototype);
        // What the server relays is a well-formed message of the same type.
        expect(parseClientMessage(JSON.stringify(msg)).type).toBe(msg.type);
      }
    }), runs(3000, 300_000));
  });

  it('server messages as a client reads them (a broken or hostile server)', () => {
    fc.assert(fc.property(hostileFrame(SIGNALING_SAMPLES.map((s) => ({ ...s, type: ['joined', 'peer-joined', 'error', 'quality', 'layer', 'tracks'][String(s.type).length % 6]! }))), (text) => {
      refusedCleanly(() => parseServerMessage(text), ['INVALID_MESSAGE']);
    }), runs(1000, 100_000));
  });

  it('/ws/pcm control messages and query strings', () => {
    fc.assert(fc.property(hostileFrame(PCM_SAMPLES), (text) => {
      refusedCleanly(() => parsePcmClientMessage(text), ['INVALID_MESSAGE']);
    }), runs(1000, 100_000));
    const query = fc.dictionary(fc.constantFrom('codec', 'rate', 'pair', 'room', 'name', 'token', 'x'), fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('s16le', 'opus', 'mulaw', '8000', '48000', '0', '-1', '1e9', 'NaN')));
    fc.assert(fc.property(query, (q) => {
      refusedCleanly(() => parsePcmParams(new URLSearchParams(q)), ['INVALID_MESSAGE', 'CODEC_NOT_SUPPORTED']);
    }), runs(1000, 100_000));
  });

  it('Twilio Media Streams frames', () => {
    fc.assert(fc.property(hostileFrame(TWILIO_SAMPLES), (text) => {
      const msg = refusedCleanly(() => parseTwilioInbound(text), ['INVALID_MESSAGE']);
      if (msg?.event === 'start') expect(Object.getPrototypeOf(msg.start.customParameters)).toBe(null);
    }), runs(2000, 200_000));
  });
});
