/**
 * A real Chromium offers to a Peer (no signaling server: SDP and candidates cross through
 * page.evaluate). Proves the browser path of the Peer: the planned answer (Opus only, the
 * browser's video and extmaps dropped), the DTLS role switch (our answer says passive), media
 * both ways: the fake microphone's 440 Hz tone decodes to 440 ± 1 Hz here, and the page
 * receives our OpusSender's packets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream } from '../../src/media/opus.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { cleanupRtc, Peer, type PeerSignal } from '../../src/rtc/peer.js';
import { RtpReceiver } from '../../src/rtc/rtp-receiver.js';
import { parseSdp } from '../../src/rtc/sdp.js';
import { hasChromium, launchBrowser, skipNote, toneWavFile, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { LOOPBACK, until } from '../helpers/rtc.js';

declare global {
  interface Window {
    pc: RTCPeerConnection | undefined;
    candidates: { candidate: string; mid: string }[];
  }
}

describe.skipIf(!hasChromium())(`Chromium offers to a Peer${skipNote()}`, () => {
  let server: http.Server;
  let url: string;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = http.createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>rtc</title>'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(440, 5) });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    cleanupRtc();
  });

  it('answers with Opus only, connects, hears the browser tone at 440 Hz and is heard back', async () => {
    const page = await browser.newPage(url);
    const offer = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: true,
      });
      window.candidates = [];
      const pc = new RTCPeerConnection();
      window.pc = pc;
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
      pc.onicecandidate = (e) => { if (e.candidate?.candidate) window.candidates.push({ candidate: e.candidate.candidate, mid: e.candidate.sdpMid ?? '0' }); };
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription!.sdp;
    });

    const peer = new Peer(LOOPBACK);
    const signals: PeerSignal[] = [];
    peer.on('signal', (s) => signals.push(s));
    const remoteTrack = new Promise<MediaTrack>((r) => peer.once('track', r));
    peer.handleRemoteDescription(offer, 'offer');
    await until(() => signals.some((s) => s.kind === 'description'), 3000, 'answer');
    const answer = signals.find((s) => s.kind === 'description') as { sdp: string };
    const d = parseSdp(answer.sdp);
    expect(d.media.map((m) => [m.kind, m.direction, m.codecs.map((c) => c.name)])).toEqual([
      ['audio', 'sendrecv', ['opus']], ['video', 'inactive', ['VP8']],
    ]);
    expect(d.media[0]!.setup).toBe('passive'); // the browser (offerer) is the DTLS client
    await page.evaluate((sdp) => window.pc!.setRemoteDescription({ type: 'answer', sdp }), answer.sdp);

    // Trickle both ways until connected.
    let sentSignals = 0;
    let takenCandidates = 0;
    const pump = setInterval(() => {
      for (; sentSignals < signals.length; sentSignals++) {
        const s = signals[sentSignals]!;
        if (s.kind === 'candidate') void page.evaluate((c) => window.pc!.addIceCandidate({ candidate: c.candidate.replace(/^a=/, ''), sdpMid: c.mid }), s).catch(() => {});
      }
      void page.evaluate((from) => window.candidates.slice(from), takenCandidates).then((cs) => {
        takenCandidates += cs.length;
        for (const c of cs) peer.addRemoteCandidate(c.candidate, c.mid);
      }, () => {});
    }, 20);
    try {
      const track = await remoteTrack;
      const decoder = new OpusDecoderStream(48000);
      const chunks: Int16Array[] = [];
      const rx = new RtpReceiver(track, { onPacket: (p, h) => chunks.push(decoder.decode(p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength))) });
      await until(() => track.isOpen(), 10_000, 'connected');
      const sender = new OpusSender(track);
      sender.play(new ToneSource(660));
      // 2.5 s of the browser's microphone (the first second skipped: codec and capture ramp-up).
      await until(() => chunks.length >= 125, 10_000, '2.5 s of audio');
      const pcm = new Int16Array(chunks.slice(50, 125).flatMap((c) => Array.from(c)));
      expect(Math.abs(dominantFrequency(pcm, 48000) - 440)).toBeLessThanOrEqual(1);
      expect(rx.stats()[0]).toMatchObject({ cumulativeLost: 0 });
      const received = await waitForPage(page, async () => {
        const stats = await window.pc!.getStats();
        let n = 0;
        stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n = s.packetsReceived as number; });
        return n > 25 ? n : 0;
      }, undefined, { what: 'the page receiving our audio' });
      expect(received).toBeGreaterThan(25);
      sender.close();
      rx.close();
    } finally {
      clearInterval(pump);
      peer.close();
    }
  }, 30_000);
});
