/**
 * Sends a pre-encoded H.264 clip on one video track (video-sender.ts: frames looped at `fps`,
 * the next IDR on PLI/FIR, sender reports), packetized as RFC 6184 packetization-mode 1
 * (media/h264-packetizer.ts: single NAL units, STAP-A for SPS + PPS, FU-A for big slices).
 * How a Node member publishes an H264 camera without an encoder; the clip must start with an
 * IDR access unit, and every IDR should carry its SPS and PPS (x264's default for raw output)
 * so a receiver that joins later can decode from any of them.
 */
import { NAL_IDR } from '../media/h264.js';
import { groupAccessUnits, packetizeH264, splitAnnexB } from '../media/h264-packetizer.js';
import type { MediaTrack } from './media-track.js';
import { VideoSender, type VideoPayloader, type VideoSenderOptions } from './video-sender.js';

/** The codec to offer for it (`peer.addVideoSender(H264_CODEC)`): packetization-mode=1, profile-level-id=42e01f. */
export { H264_CODEC } from './native.js';

/** One access unit (a frame): its NAL units, without start codes. */
export type H264AccessUnit = readonly Buffer[];

/** The access units of an Annex B clip (a `.h264` file); PARSE_ERROR when it is not Annex B. */
export function readAnnexBClip(stream: Uint8Array): H264AccessUnit[] {
  return groupAccessUnits(splitAnnexB(stream));
}

const H264_PAYLOADER: VideoPayloader<H264AccessUnit> = {
  keyframe: (au) => au.some((n) => (n[0]! & 0x1f) === NAL_IDR),
  packetize: (au, _layer, maxPayload) => packetizeH264(au, maxPayload),
};

export class H264Sender extends VideoSender<H264AccessUnit> {
  /** `accessUnits`: the clip (readAnnexBClip), starting with an IDR; the track has one SSRC. */
  constructor(track: MediaTrack, accessUnits: readonly H264AccessUnit[], options: VideoSenderOptions) {
    super(track, [accessUnits], H264_PAYLOADER, options);
  }
}
