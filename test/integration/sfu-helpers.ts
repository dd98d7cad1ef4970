/** Shared by the SFU bot and recorder tests: a Node member that publishes a tone and keeps what it hears. */
import { SfuAgent } from '../../src/client/sfu-agent.js';
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
export async function sfuMember(wsUrl: string, room: string, name: string, hz: number | undefined): Promise<SfuMember> {
  const agent = new SfuAgent({ wsUrl, room, name, audio: hz !== undefined, peer: PEER });
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
    const track = peer.tracks().find((t) => t.direction === 'sendonly');
    if (hz === undefined || sender || !track) return;
    sender = new OpusSender(track);
    sender.play(new ToneSource(hz));
  });
  await agent.start();
  return { agent, heard, tracks, stop: async () => { sender?.close(); await agent.close(); } };
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
