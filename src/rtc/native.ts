/**
 * node-datachannel descriptions and the library's sharp edges that need a workaround at the
 * native boundary (see the team's NODE-DATACHANNEL.md field notes and the notes below).
 */
import { randomBytes } from 'node:crypto';
import { Audio, Video, type Direction, type Track } from 'node-datachannel';
import type { SdpCodec, SdpDirection } from './sdp.js';

/** Opus for voice: mono, in-band FEC (browsers' default; stereo=1 makes them send 3x bigger packets). */
export const OPUS_FMTP = 'minptime=10;useinbandfec=1';

/** VP8 as browsers number it, with the feedback an SFU path uses. */
export const VP8_CODEC: Readonly<SdpCodec> = Object.freeze({
  payloadType: 96, name: 'VP8', clockRate: 90000, channels: 1, fmtp: '', rtcpFb: ['nack', 'nack pli', 'ccm fir'],
});

/**
 * H264 as a Node publisher offers it: RFC 6184 packetization-mode 1, constrained baseline 3.1
 * (what every browser decodes and an SFU prefers), Chromium's payload type for it.
 */
export const H264_CODEC: Readonly<SdpCodec> = Object.freeze({
  payloadType: 102, name: 'H264', clockRate: 90000, channels: 1,
  fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', rtcpFb: ['nack', 'nack pli', 'ccm fir'],
});

const NATIVE_DIRECTION: Record<SdpDirection, Direction> = {
  sendrecv: 'SendRecv', sendonly: 'SendOnly', recvonly: 'RecvOnly', inactive: 'Inactive',
};

export function randomId(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function randomSsrc(): number {
  return randomBytes(4).readUInt32BE(0) || 1;
}

/** An offer whose sender takes the DTLS client role (see PeerOptions.offererIsDtlsClient). */
export function offerAsDtlsClient(sdp: string): string {
  return sdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active');
}

/** An offer whose sender takes the DTLS server role (the default of an offering Peer). */
export function offerAsDtlsServer(sdp: string): string {
  return sdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:passive');
}

/**
 * Our description with the bandwidth a remote may send in each audio and video section:
 * `b=AS:<kbps>` and `b=TIAS:<bps>` (RFC 3890) right after the section's `c=` line, replacing
 * any `b=` lines there. Sections of a kind without a figure, and rejected ones, are left alone.
 */
export function withReceiveBandwidth(sdp: string, bandwidth: { audioKbps?: number; videoKbps?: number }): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const out: string[] = [];
  let kbps: number | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      const [kind, port] = line.slice(2).split(' ');
      kbps = port === '0' ? undefined : kind === 'audio' ? bandwidth.audioKbps : kind === 'video' ? bandwidth.videoKbps : undefined;
    } else if (kbps !== undefined && line.startsWith('b=')) {
      continue;
    }
    out.push(line);
    if (kbps !== undefined && line.startsWith('c=')) out.push(`b=AS:${kbps}`, `b=TIAS:${kbps * 1000}`);
  }
  return out.join(eol);
}

/**
 * A local description with its relay candidates only (iceTransportPolicy 'relay').
 * libdatachannel applies the policy to trickled candidates, but a later description (a
 * re-offer once gathering is done) carries every candidate libjuice has, host and srflx
 * included: signaled, they let the remote reach our host address, off the relay.
 */
export function relayCandidatesOnly(sdp: string): string {
  return sdp.replace(/^a=candidate:[^\n]*\n?/gm, (line) => (isRelayCandidate(line) ? line : ''));
}

/** `candidate:… typ relay …` (with or without `a=`). */
export function isRelayCandidate(candidate: string): boolean {
  return / typ relay(?:\s|$)/.test(candidate);
}

/**
 * node-datachannel removes a Track wrapper from its registry only from the native onClosed
 * callback, and only when JS registered one; a wrapper garbage-collected while still
 * registered is a dangling pointer that makes cleanup() segfault (seen here: exit 139 after
 * a few rounds of closed peers). So every Track gets an onClosed, even an empty one.
 */
export function watchNativeClose(native: Track): void {
  native.onClosed(() => {});
}

/**
 * The native description of one m-section: direction, the one codec (Opus or VP8 when none
 * is given), and our SSRC with cname/msid when we send on it.
 */
export function describeMedia(
  mid: string, kind: 'audio' | 'video', direction: SdpDirection, codec: SdpCodec | undefined,
  send?: { ssrc: number; cname: string; streamId: string; trackId: string },
  attributes: readonly string[] = [],
): Audio | Video {
  const dir = NATIVE_DIRECTION[direction];
  const desc = kind === 'audio' ? new Audio(mid, dir) : new Video(mid, dir);
  if (kind === 'audio') addAudioCodec(desc as Audio, codec);
  else addVideoCodec(desc as Video, codec);
  if (send) desc.addSSRC(send.ssrc, send.cname, send.streamId, send.trackId);
  // The library keeps lines it does not model (rid, simulcast) and parses extmap/rtcp-fb.
  for (const a of attributes) desc.parseSdpLine(`a=${a}`);
  return desc;
}

function addAudioCodec(desc: Audio, codec: SdpCodec | undefined): void {
  if (!codec || codec.name.toLowerCase() === 'opus') {
    desc.addOpusCodec(codec?.payloadType ?? 111, codec?.fmtp || OPUS_FMTP);
    return;
  }
  const rate = `${codec.name}/${codec.clockRate}${codec.channels > 1 ? `/${codec.channels}` : ''}`;
  if (codec.fmtp) desc.addAudioCodec(codec.payloadType, rate, codec.fmtp);
  else desc.addAudioCodec(codec.payloadType, rate);
}

function addVideoCodec(desc: Video, codec: SdpCodec | undefined): void {
  const name = codec?.name.toUpperCase();
  if (!codec || name === 'VP8') desc.addVP8Codec(codec?.payloadType ?? 96);
  else if (name === 'H264' && codec.fmtp) desc.addH264Codec(codec.payloadType, codec.fmtp);
  else if (name === 'H264') desc.addH264Codec(codec.payloadType);
  else if (codec.fmtp) desc.addVideoCodec(codec.payloadType, `${codec.name}/${codec.clockRate}`, codec.fmtp);
  else desc.addVideoCodec(codec.payloadType, `${codec.name}/${codec.clockRate}`);
}
