/**
 * Sends pre-encoded VP8 as a simulcast publisher does (video-sender.ts: one SSRC per layer,
 * frames looped at `fps`, key frames on PLI/FIR, `publish-layers`, sender reports),
 * packetized as browsers do (media/vp8-packetizer.ts): a 15-bit picture id per layer,
 * counting its frames. How Node members (tests, `loadtest --video`) publish a simulcast camera.
 */
import { randomBytes } from 'node:crypto';
import { vp8KeyframeSize } from '../media/vp8.js';
import { packetizeVp8 } from '../media/vp8-packetizer.js';
import type { MediaTrack } from './media-track.js';
import { VideoSender, type VideoPayloader, type VideoSenderOptions, type VideoSenderStats } from './video-sender.js';

export type Vp8SenderOptions = VideoSenderOptions;
export type Vp8SenderStats = VideoSenderStats;

type Vp8SourceFrame = { data: Buffer };

function vp8Payloader(layers: number): VideoPayloader<Vp8SourceFrame> {
  const pictureIds = Array.from({ length: layers }, () => randomBytes(2).readUInt16BE(0) & 0x7fff);
  return {
    keyframe: (f) => vp8KeyframeSize(f.data) !== undefined,
    packetize(f, layer, maxPayload) {
      const pictureId = pictureIds[layer]!;
      pictureIds[layer] = (pictureId + 1) & 0x7fff;
      return packetizeVp8(f.data, pictureId, pictureId & 0xff, maxPayload);
    },
  };
}

export class Vp8SimulcastSender extends VideoSender<Vp8SourceFrame> {
  /** `layers[i]` are layer i's frames (low → high), one per track SSRC; each must start with a key frame. */
  constructor(track: MediaTrack, layers: ReadonlyArray<ReadonlyArray<Vp8SourceFrame>>, options: Vp8SenderOptions) {
    super(track, layers, vp8Payloader(layers.length), options);
  }
}
