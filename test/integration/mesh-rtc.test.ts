/**
 * Two node-datachannel PeerConnections that meet only through the callpeer server:
 * every SDP and candidate goes over /ws via the Node signaling client.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection, type Track } from 'node-datachannel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { SignalingClient } from '../../src/client/signaling-client.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../src/media/opus.js';
import { parseRtpHeader, writeRtpHeader, isRtcp } from '../../src/media/rtp.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => {
  await server.close();
  nodeDataChannel.cleanup();
});

/** A PeerConnection wired to a signaling client: candidates queued until the remote description is set. */
function wire(pc: PeerConnection, client: SignalingClient, remoteId: () => string | undefined) {
  let remoteSet = false;
  const queued: [string, string][] = [];
  pc.onLocalDescription((sdp, type) => {
    try {
      const to = remoteId();
      if (!to) return;
      if (type === 'offer') client.offer(to, sdp); else client.answer(to, sdp);
    } catch { /* the test fails on its own assertions */ }
  });
  pc.onLocalCandidate((candidate, mid) => {
    try {
      const to = remoteId();
      if (to) client.candidate(to, candidate, mid);
    } catch { /* as above */ }
  });
  return {
    setRemote(sdp: string, type: 'offer' | 'answer') {
      pc.setRemoteDescription(sdp, type);
      remoteSet = true;
      for (const [c, m] of queued.splice(0)) pc.addRemoteCandidate(c, m);
    },
    addCandidate(candidate: string, mid: string) {
      if (!candidate) return; // end of candidates: the library wants nothing
      if (remoteSet) pc.addRemoteCandidate(candidate, mid); else queued.push([candidate, mid]);
    },
  };
}

describe('mesh: two node-datachannel peers through the server', () => {
  it('negotiate, exchange a data-channel message and a stream of Opus RTP', async () => {
    const room = 'rtc-mesh';
    const a = new SignalingClient(server.wsUrl);
    const b = new SignalingClient(server.wsUrl);
    await a.connect();
    await b.connect();
    const ja = await a.join({ room, name: 'A', role: 'bot' });
    const jb = await b.join({ room, name: 'B', role: 'bot' });
    expect(jb.participants.map((p) => p.id)).toEqual([ja.id]);

    const config = { iceServers: [], bindAddress: '127.0.0.1' };
    const pcA = new nodeDataChannel.PeerConnection('A', config);
    const pcB = new nodeDataChannel.PeerConnection('B', config);
    let bId: string | undefined;
    const wa = wire(pcA, a, () => bId);
    const wb = wire(pcB, b, () => ja.id);
    a.on('offer', (m) => { bId = m.from; wa.setRemote(m.sdp, 'offer'); });
    a.on('candidate', (m) => wa.addCandidate(m.candidate, m.mid));
    b.on('answer', (m) => wb.setRemote(m.sdp, 'answer'));
    b.on('candidate', (m) => wb.addCandidate(m.candidate, m.mid));

    // A receives: its track and data channel arrive with B's offer.
    const keep: (Track | DataChannel)[] = [];
    const rtp: Buffer[] = [];
    const gotTrack = new Promise<void>((resolve) => pcA.onTrack((t) => {
      try {
        keep.push(t);
        t.onMessage((buf) => { if (!isRtcp(buf)) rtp.push(Buffer.from(buf)); });
        resolve();
      } catch { /* never throw into the library */ }
    }));
    const gotText = new Promise<string>((resolve) => pcA.onDataChannel((dc) => {
      try {
        keep.push(dc);
        dc.onMessage((msg) => resolve(String(msg)));
      } catch { /* as above */ }
    }));

    // B offers (the newcomer offers, per the protocol): one send-only Opus track and a data channel.
    const ssrc = 0x1234abcd;
    const audio = new nodeDataChannel.Audio('0', 'SendOnly');
    audio.addOpusCodec(111);
    audio.addSSRC(ssrc, 'callpeer-test', 'stream', 'audio');
    const track = pcB.addTrack(audio);
    const trackOpen = new Promise<void>((resolve) => track.onOpen(() => resolve()));
    const dc = pcB.createDataChannel('chat');
    keep.push(track, dc);
    await new Promise<void>((resolve) => dc.onOpen(() => resolve()));
    dc.sendMessage('hello through callpeer');
    expect(await gotText).toBe('hello through callpeer');
    await trackOpen;
    await gotTrack;

    // 100 frames of a 440 Hz tone, 20 ms apart in RTP time (sent quickly: loopback).
    const enc = new OpusEncoderStream(48000);
    const tone = new ToneGenerator(440, 48000);
    const header = Buffer.alloc(12);
    for (let i = 0; i < 100; i++) {
      const payload = enc.encode(tone.next(960));
      writeRtpHeader({ padding: false, marker: i === 0, payloadType: 111, sequenceNumber: (65500 + i) & 0xffff, timestamp: i * 960, ssrc, csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined }, header, 0);
      track.sendMessageBinary(Buffer.concat([header, payload]));
      await new Promise((r) => setTimeout(r, 2));
    }
    const deadline = Date.now() + 3000;
    while (rtp.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
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

    pcA.close();
    pcB.close();
    await a.close();
    await b.close();
  });
});
