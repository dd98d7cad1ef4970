/** Shared by the SFU tests: Node members that publish a tone and a simulcast camera and keep what they hear. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { parseIvf } from '../../src/media/ivf.js';
import type { Peer } from '../../src/rtc/peer.js';
import { Vp8SimulcastSender } from '../../src/rtc/vp8-sender.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream } from '../../src/media/opus.js';
import { isRtcp, parseRtpHeader } from '../../src/media/rtp.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { ToneSource } from '../../src/media/opus-sources.js';

export const PEER = { bindAddress: '127.0.0.1' };

export interface SfuMember {
  agent: SfuAgent;
  /** RTP packets heard, by publisher id. */
  heard: Map<string, Buffer[]>;
  /** The forwarded track of each publisher. */
  tracks: Map<string, MediaTrack>;
  stop(): Promise<void>;
}

/** An SfuAgent that publishes a tone of `hz` (none: a listener) and keeps every packet it hears. */
export async function sfuMember(wsUrl: string, room: string, name: string, hz: number | undefined, options: { camera?: boolean } = {}): Promise<SfuMember> {
  const agent = new SfuAgent({ wsUrl, room, name, audio: hz !== undefined, video: options.camera === true, peer: PEER });
  const camera = options.camera ? publishCamera(agent) : undefined;
  const heard = new Map<string, Buffer[]>();
  const tracks = new Map<string, MediaTrack>();
  let sender: OpusSender | undefined;
  agent.on('track', (publisher, track) => {
    if (track.kind !== 'audio') return;
    const packets: Buffer[] = [];
    heard.set(publisher, packets);
    tracks.set(publisher, track);
    track.onRtp = (p) => { if (!isRtcp(p)) packets.push(Buffer.from(p)); };
  });
  agent.on('negotiated', (peer) => {
    const track = peer.tracks().find((t) => t.direction === 'sendonly' && t.kind === 'audio');
    if (hz === undefined || sender || !track) return;
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

export interface CameraPublisher {
  /** The sender once negotiated. */
  sender(): Vp8SimulcastSender | undefined;
  /** Stops the camera and ends its track (the member stays). */
  unpublish(): void;
  close(): void;
}

/**
 * Makes `agent` publish a camera: three simulcast layers of the fixtures, started once
 * negotiated, following `publish-layers`. Call before `agent.start()`.
 */
export function publishCamera(agent: SfuAgent): CameraPublisher {
  let camera: MediaTrack | undefined;
  let server: Peer | undefined;
  let sender: Vp8SimulcastSender | undefined;
  agent.on('server', (peer: Peer) => {
    server = peer;
    camera = peer.addVideoSender(undefined, { layers: 3 });
  });
  agent.on('negotiated', () => {
    if (camera && !sender) sender = new Vp8SimulcastSender(camera, VP8_LAYERS, { fps: 15 });
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
