/**
 * Two node-datachannel PeerConnections that meet only through the callpeer server: every SDP
 * and candidate goes over /ws (MeshAgent: the Node signaling client plus one Peer each).
 */
import { describe, expect, it } from 'vitest';
import { MeshAgent, type RemotePeer } from '../../src/client/mesh-agent.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../src/media/opus.js';
import { isRtcp, parseRtpHeader, writeRtpHeader } from '../../src/media/rtp.js';
import { ToneGenerator } from '../../src/media/tone.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { useTestServer } from '../helpers/server.js';

const ctx = useTestServer({}, { rtc: true });
const PEER = { bindAddress: '127.0.0.1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mesh: two node-datachannel peers through the server', () => {
  it('negotiate, exchange a data-channel message and a stream of Opus RTP', async () => {
    const a = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'rtc-mesh', name: 'A', role: 'bot', peer: PEER });
    const b = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'rtc-mesh', name: 'B', role: 'bot', peer: PEER });

    // A receives: B's data channel and audio track come with B's offer.
    const texts: string[] = [];
    const rtp: Buffer[] = [];
    a.on('peer', (remote: RemotePeer) => remote.peer.on('datachannel', (ch) => ch.on('message', (m) => texts.push(String(m)))));
    a.on('track', (_remote, track: MediaTrack) => { track.onRtp = (p) => { if (!isRtcp(p)) rtp.push(Buffer.from(p)); }; });
    // B, the newcomer, offers one send-only audio track and a data channel (again on a retry).
    let sendTrack: MediaTrack | undefined;
    b.on('peer', (remote: RemotePeer) => {
      sendTrack = remote.peer.addAudioTrack({ direction: 'sendonly' });
      const ch = remote.peer.createDataChannel('chat');
      ch.on('open', () => ch.send('hello through callpeer'));
    });
    await a.start();
    const joined = await b.start();
    expect(joined.participants.map((p) => p.name)).toEqual(['A']);

    const deadline = Date.now() + 10_000;
    while ((texts.length === 0 || !sendTrack?.isOpen()) && Date.now() < deadline) await sleep(20);
    expect(texts).toEqual(['hello through callpeer']);

    // 100 frames of a 440 Hz tone, 20 ms apart in RTP time, across the sequence wrap.
    const enc = new OpusEncoderStream(48000);
    const tone = new ToneGenerator(440, 48000);
    const ssrc = sendTrack!.localSsrc;
    const header = Buffer.alloc(12);
    for (let i = 0; i < 100; i++) {
      const payload = enc.encode(tone.next(960));
      writeRtpHeader({ padding: false, marker: i === 0, payloadType: 111, sequenceNumber: (65500 + i) & 0xffff, timestamp: i * 960, ssrc, csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined }, header, 0);
      sendTrack!.send(Buffer.concat([header, payload]));
      await sleep(2);
    }
    const end = Date.now() + 3000;
    while (rtp.length < 100 && Date.now() < end) await sleep(20);
    expect(rtp.length).toBe(100);

    const dec = new OpusDecoderStream(48000);
    const pcm = new Int16Array(100 * 960);
    rtp.forEach((pkt, i) => {
      const h = parseRtpHeader(pkt);
      expect(h.ssrc).toBe(ssrc);
      expect(h.sequenceNumber).toBe((65500 + i) & 0xffff); // in order, across the wrap, no gaps
      pcm.set(dec.decode(pkt.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)), i * 960);
    });
    expect(Math.abs(dominantFrequency(pcm.subarray(9600), 48000) - 440)).toBeLessThanOrEqual(1);

    await a.close();
    await b.close();
  });
});
