/**
 * Decides, from a parsed remote offer, what the Peer answers for each m-section: the
 * direction (mirrored, limited by what we support) and the one codec we keep. Pure, so the
 * rules are unit-tested apart from node-datachannel; the Peer turns each entry into a
 * pre-added track before setRemoteDescription (so the library does not echo every codec,
 * extmap and ssrc-group of the offer).
 */
import type { VideoCodecName } from '../protocol/signaling.js';
import {
  directionOf, findCodec, inUse, primarySsrcs, receives, sends,
  type SdpCodec, type SdpDirection, type SdpMedia, type SessionDescription,
} from './sdp.js';

/** What this Peer can do with media. */
export interface MediaCapabilities {
  /** Receive Opus audio (default true). */
  receiveAudio: boolean;
  /** Send Opus audio on offered audio sections (default true). */
  sendAudio: boolean;
  /** Receive video (for a recorder; default false). */
  receiveVideo: boolean;
  /**
   * Send video on offered video sections the remote receives on (default false): a WHEP
   * viewer's offer, answered by the SFU with sections it then forwards the room's video on.
   */
  sendVideo: boolean;
  /** Video codecs we accept, in our preference order (default VP8 then H264). */
  videoCodecs: readonly VideoCodecName[];
}

export type { VideoCodecName };

export const DEFAULT_CAPABILITIES: Readonly<MediaCapabilities> = Object.freeze({
  receiveAudio: true,
  sendAudio: true,
  receiveVideo: false,
  sendVideo: false,
  videoCodecs: Object.freeze(['VP8', 'H264'] as VideoCodecName[]),
});

export interface AnswerEntry {
  mid: string;
  kind: 'audio' | 'video';
  /** Our direction in the answer. */
  direction: SdpDirection;
  /**
   * The codec we answer with. For an `inactive` section we did not want, the first offered
   * codec (an m-line needs one); `undefined` only when the offer listed none with a name.
   */
  codec: SdpCodec | undefined;
  /** The remote's primary media SSRCs for this mid (empty when it does not send). */
  remoteSsrcs: number[];
  /**
   * Extra attribute lines (without `a=`) for our side: what receiving simulcast takes
   * (RFC 8853: `rid … recv`, `simulcast:recv …`, the MID/RID header extensions the sender
   * stamps its layers with) and `rtcp-fb … ccm fir` when offered.
   */
  attributes: string[];
}

/** Most encodings of one video track we receive (PROTOCOL.md v2: up to three layers). */
export const MAX_SIMULCAST_LAYERS = 3;
export const MID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const RID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';

/** The rids of an offered simulcast send section, in its order, at most MAX_SIMULCAST_LAYERS. */
export function offeredSimulcastRids(m: SdpMedia): string[] {
  if (!m.simulcast?.startsWith('send') || m.rids.length < 2) return [];
  return m.rids.slice(0, MAX_SIMULCAST_LAYERS);
}

function receiveAttributes(m: SdpMedia, codec: SdpCodec): string[] {
  const attrs: string[] = [];
  if (codec.rtcpFb.includes('ccm fir')) attrs.push(`rtcp-fb:${codec.payloadType} ccm fir`);
  const rids = offeredSimulcastRids(m);
  if (rids.length === 0) return attrs;
  for (const uri of [MID_EXTENSION, RID_EXTENSION]) {
    const ext = m.extmaps.find((e) => e.uri === uri);
    if (ext) attrs.push(`extmap:${ext.id} ${uri}`);
  }
  for (const rid of rids) attrs.push(`rid:${rid} recv`);
  attrs.push(`simulcast:recv ${rids.join(';')}`);
  return attrs;
}

/** H264 we can record: packetization-mode=1 (FU-A), the only mode browsers send at scale. */
function h264Mode1(c: SdpCodec): boolean {
  return /packetization-mode=1/.test(c.fmtp);
}

function pickVideo(m: SdpMedia, caps: MediaCapabilities): SdpCodec | undefined {
  for (const name of caps.videoCodecs) {
    const c = name === 'H264'
      ? findCodec(m, 'H264', (x) => h264Mode1(x) && /profile-level-id=42e01f/i.test(x.fmtp)) ?? findCodec(m, 'H264', h264Mode1)
      : findCodec(m, name);
    if (c) return c;
  }
  return undefined;
}

function fallbackCodec(m: SdpMedia): SdpCodec | undefined {
  return m.codecs.find((c) => c.name !== '');
}

/** One entry per audio/video m-section of the offer, in offer order; others are skipped. */
export function planAnswer(offer: SessionDescription, caps: MediaCapabilities = DEFAULT_CAPABILITIES): AnswerEntry[] {
  const plan: AnswerEntry[] = [];
  for (const m of offer.media) {
    if (m.kind !== 'audio' && m.kind !== 'video') continue;
    const theySend = inUse(m) && sends(m.direction);
    const theyReceive = inUse(m) && receives(m.direction);
    let codec: SdpCodec | undefined;
    let direction: SdpDirection = 'inactive';
    if (m.kind === 'audio') {
      codec = findCodec(m, 'opus', (c) => c.clockRate === 48000);
      if (codec) direction = directionOf(theyReceive && caps.sendAudio, theySend && caps.receiveAudio);
    } else {
      codec = pickVideo(m, caps);
      if (codec) direction = directionOf(theyReceive && caps.sendVideo, theySend && caps.receiveVideo);
    }
    if (direction === 'inactive') codec = codec ?? fallbackCodec(m);
    plan.push({
      mid: m.mid,
      kind: m.kind,
      direction,
      codec,
      remoteSsrcs: theySend ? primarySsrcs(m) : [],
      attributes: m.kind === 'video' && codec && receives(direction) ? receiveAttributes(m, codec) : [],
    });
  }
  return plan;
}
