/** Shared by the SFU tests: Node members that publish a tone and a simulcast camera and keep what they hear. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { parseIvf } from '../../src/media/ivf.js';
import type { Peer } from '../../src/rtc/peer.js';
import { Vp8SimulcastSender } from '../../src/rtc/vp8-sender.js';
import { H264Sender, readAnnexBClip } from '../../src/rtc/h264-sender.js';
import { H264_CODEC } from '../../src/rtc/native.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream } from '../../src/media/opus.js';
import { SILENCE_FRAMES } from '../../src/media/opus-packet.js';
import { isRtcp, parseRtpHeader, type RtpPacketInfo } from '../../src/media/rtp.js';
import type { ErrorMessage, LayerChangedMessage, PublishLayersMessage, TrackInfo } from '../../src/protocol/signaling.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { ToneSource } from '../../src/media/opus-sources.js';

export const PEER = { bindAddress: '127.0.0.1' };

export interface SfuMember {
  agent: SfuAgent;
  /** RTP packets heard, by publisher id: those carrying sound (a phone's Opus silence frames, sent while its voice gate is closed, are left out). */
  heard: Map<string, Buffer[]>;
  /** The forwarded track of each publisher. */
  tracks: Map<string, MediaTrack>;
  stop(): Promise<void>;
}

const OPUS_SILENCE = SILENCE_FRAMES[0]![1];
function isOpusSilence(packet: Buffer): boolean {
  const h = parseRtpHeader(packet);
  return h.payloadLength === OPUS_SILENCE.length && packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength).equals(OPUS_SILENCE);
}

/** An SfuAgent that publishes a tone of `hz` (none: a listener) and keeps every packet it hears. */
export async function sfuMember(wsUrl: string, room: string, name: string, hz: number | undefined, options: { camera?: boolean } = {}): Promise<SfuMember> {
  const agent = new SfuAgent({ wsUrl, room, name, audio: hz !== undefined, video: options.camera === true, peer: PEER });
  const camera = options.camera ? publishCamera(agent) : undefined;
  const heard = new Map<string, Buffer[]>();
  const tracks = new Map<string, MediaTrack>();
  let sender: OpusSender | undefined;
  let sending: MediaTrack | undefined;
  agent.on('track', (publisher, track) => {
    if (track.kind !== 'audio') return;
    const packets: Buffer[] = [];
    heard.set(publisher, packets);
    tracks.set(publisher, track);
    track.onRtp = (p) => { if (!isRtcp(p) && !isOpusSilence(p)) packets.push(Buffer.from(p)); };
  });
  agent.on('negotiated', (peer) => {
    const track = peer.tracks().find((t) => t.direction === 'sendonly' && t.kind === 'audio');
    // A connection that failed (a refused first DTLS handshake, see shared/NODE-DATACHANNEL.md)
    // is made again by the agent: the tone moves to the new connection's track.
    if (hz === undefined || !track || track === sending) return;
    sender?.close();
    sending = track;
    sender = new OpusSender(track);
    sender.play(new ToneSource(hz));
  });
  await agent.start();
  return { agent, heard, tracks, stop: async () => { sender?.close(); camera?.close(); await agent.close(); } };
}

/** The dominant frequency of the second half of some RTP packets' audio (the decoder settled). */
export function frequencyOf(packets: Buffer[]): number {
  const dec = new OpusDecoderStream(48000);
  const pcm = new Int16Array(packets.length * 960);
  packets.forEach((p, i) => {
    const h = parseRtpHeader(p);
    pcm.set(dec.decode(p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)), i * 960);
  });
  return dominantFrequency(pcm.subarray(pcm.length / 2), 48000);
}

const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'media', 'vp8');
/** The libvpx fixtures, low → high: 160x90, 320x180, 640x360, 15 fps (test/fixtures/media/vp8/README.md). */
export const VP8_LAYERS = ['160x90', '320x180', '640x360'].map((size) => parseIvf(readFileSync(path.join(FIXTURES, `${size}.ivf`))).frames);

/** The x264 fixture: 320x240, 15 fps, 30 frames, IDRs at 0 and 15 (test/fixtures/media/h264/README.md). */
export const H264_FIXTURE = path.join(FIXTURES, '..', 'h264', '320x240.h264');
export const H264_CLIP = readAnnexBClip(readFileSync(H264_FIXTURE));

export interface CameraPublisher {
  /** The sender once negotiated. */
  sender(): Vp8SimulcastSender | H264Sender | undefined;
  /** Stops the camera and ends its track (the member stays). */
  unpublish(): void;
  close(): void;
}

/**
 * Makes `agent` publish a camera, started once negotiated: three simulcast VP8 layers of the
 * fixtures following `publish-layers`, or with `codec: 'h264'` one H264 layer (the x264
 * fixture, offered as H264 only: packetization-mode=1, profile-level-id=42e01f). Call before
 * `agent.start()`.
 */
export function publishCamera(agent: SfuAgent, options: { codec?: 'vp8' | 'h264' } = {}): CameraPublisher {
  const h264 = options.codec === 'h264';
  let camera: MediaTrack | undefined;
  let server: Peer | undefined;
  let sender: Vp8SimulcastSender | H264Sender | undefined;
  let sending: MediaTrack | undefined;
  agent.on('server', (peer: Peer) => {
    server = peer;
    camera = h264 ? peer.addVideoSender(H264_CODEC) : peer.addVideoSender(undefined, { layers: 3 });
  });
  agent.on('negotiated', () => {
    // A new connection (the agent made one again after a failure) gets the camera anew.
    if (!camera || camera === sending) return;
    sender?.close();
    sending = camera;
    sender = h264 ? new H264Sender(camera, H264_CLIP, { fps: 15 }) : new Vp8SimulcastSender(camera, VP8_LAYERS, { fps: 15 });
  });
  agent.on('publish-layers', (p) => sender?.setActive(['low', 'medium', 'high'].map((q) => p.active.includes(q as 'low'))));
  return {
    sender: () => sender,
    unpublish: () => {
      sender?.close();
      if (server && camera) server.retireTrack(camera);
    },
    close: () => sender?.close(),
  };
}

export interface Received { header: RtpPacketInfo; packet: Buffer; at: number }

/** A member that may publish a camera and keeps every camera packet it receives, with what the server tells it. */
export interface VideoMember {
  agent: SfuAgent;
  tracks: TrackInfo[];
  layers: LayerChangedMessage[];
  publishLayers: PublishLayersMessage[];
  /** `error` messages from the server. */
  errors: ErrorMessage[];
  /** Camera packets received, by publisher. */
  video: Map<string, Received[]>;
  videoTracks: Map<string, MediaTrack>;
  camera: CameraPublisher | undefined;
  stop(): Promise<void>;
}

/** A member that receives video, publishing a camera in `codec` (publishCamera) unless undefined. */
export async function cameraMember(wsUrl: string, room: string, name: string, codec: 'vp8' | 'h264' | undefined, join: { autoSubscribe?: boolean } = {}): Promise<VideoMember> {
  const agent = new SfuAgent({ wsUrl, room, name, audio: false, video: codec !== undefined, peer: { ...PEER, capabilities: { receiveVideo: true } }, ...join });
  const m: VideoMember = {
    agent, tracks: [], layers: [], publishLayers: [], errors: [], video: new Map(), videoTracks: new Map(),
    camera: codec ? publishCamera(agent, { codec }) : undefined,
    stop: async () => { m.camera?.close(); await agent.close(); },
  };
  agent.on('tracks', (t) => { m.tracks = t; });
  agent.on('layer', (l) => m.layers.push(l));
  agent.on('publish-layers', (p) => m.publishLayers.push(p));
  agent.client.on('server-error', (e) => m.errors.push(e));
  agent.on('track', (publisher, track) => {
    if (track.kind !== 'video') return;
    const got: Received[] = [];
    m.video.set(publisher, got);
    m.videoTracks.set(publisher, track);
    track.onRtp = (p) => { if (!isRtcp(p)) got.push({ header: parseRtpHeader(p), packet: Buffer.from(p), at: performance.now() }); };
  });
  await agent.start();
  return m;
}
