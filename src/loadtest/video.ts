/**
 * `loadtest --video` (SFU rooms): publishers send a camera as three simulcast layers of
 * pre-encoded VP8 (the libvpx clips in test/fixtures/media/vp8: 160x90, 320x180, 640x360 at
 * 15 fps; no encoder runs), and every peer counts the cameras it receives: packets and loss
 * (RFC 3550, as for audio), frames, key frames and the size the server forwards.
 */
import { readFileSync } from 'node:fs';
import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseIvf } from '../media/ivf.js';
import { parseVp8Descriptor, vp8KeyframeSize } from '../media/vp8.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';
import { streamKbps, type VideoStreamFigures } from './stats.js';

/** Where the clips are, from this file in src/loadtest or dist/loadtest: the package's test fixtures. */
const FIXTURES = new URL('../../test/fixtures/media/vp8/', import.meta.url);
export const VIDEO_LAYER_SIZES = ['160x90', '320x180', '640x360'] as const;
export const VIDEO_FPS = 15;

/** The three layers' frames, low → high; INVALID_CONFIG naming the file when one is missing. */
export function loadVideoLayers(dir: URL = FIXTURES): { data: Buffer }[][] {
  return VIDEO_LAYER_SIZES.map((size) => {
    const file = new URL(`${size}.ivf`, dir);
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      throw new CallpeerError('INVALID_CONFIG', `--video needs the VP8 clip ${file.pathname} (part of the callpeer package): reinstall callpeer`);
    }
    return parseIvf(data).frames.map((f) => ({ data: f.data }));
  });
}

/** Counts one received camera. */
export class VideoStreamCounter {
  private readonly receiver: RtpReceiver;
  private frames = 0;
  private keyframes = 0;
  private size = '';
  private firstAt = 0;
  private lastAt = 0;

  constructor(readonly from: string, track: MediaTrack, log: Logger) {
    this.receiver = new RtpReceiver(track, {
      logger: log,
      onPacket: (packet, h) => {
        const now = performance.now();
        if (this.firstAt === 0) this.firstAt = now;
        this.lastAt = now;
        if (h.marker) this.frames++;
        const payload = packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
        if (payload.length === 0 || !(payload[0]! & 0x10)) return; // only a frame's first packet says "key frame"
        try {
          const d = parseVp8Descriptor(payload);
          const size = d.keyframe ? vp8KeyframeSize(payload.subarray(d.length)) : undefined;
          if (!size) return;
          this.keyframes++;
          this.size = `${size.width}x${size.height}`;
        } catch {
          // not VP8 we can read: counted as a packet only
        }
      },
    });
  }

  figures(): VideoStreamFigures {
    const rx = this.receiver.stats();
    const expected = rx.reduce((n, r) => n + r.expected, 0);
    const lost = rx.reduce((n, r) => n + Math.max(0, r.cumulativeLost), 0);
    const bytes = rx.reduce((n, r) => n + r.bytes, 0);
    const seconds = (this.lastAt - this.firstAt) / 1000;
    return {
      from: this.from, packets: rx.reduce((n, r) => n + r.received, 0), expected, lost, bytes,
      kbps: streamKbps(bytes, this.firstAt, this.lastAt), frames: this.frames, keyframes: this.keyframes,
      framesPerSecond: seconds > 0 ? this.frames / seconds : 0, size: this.size,
    };
  }

  close(): void {
    this.receiver.close();
  }
}
