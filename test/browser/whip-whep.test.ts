/**
 * WHIP and WHEP with Chromium as a third-party client: plain RTCPeerConnection and fetch, as
 * any WHIP publisher or WHEP player in a web page does (no callpeer code in the page), against
 * callpeer's `/whip/<room>` and `/whep/<room>`.
 * - Chromium publishes its fake microphone (a tone file) and camera through WHIP; a Node
 *   WhepClient views the room: it hears the tone at its pitch and gets VP8 key frames.
 * - A Node WhipClient publishes a tone and a 640x360 VP8 camera; Chromium views through WHEP:
 *   its inbound stats decode the video at that size, and its audio is the tone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { WhepClient } from '../../src/client/whep-client.js';
import { WhipClient } from '../../src/client/whip-client.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { isRtcp, parseRtpHeader } from '../../src/media/rtp.js';
import { parseVp8Descriptor, vp8KeyframeSize } from '../../src/media/vp8.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { Vp8SimulcastSender } from '../../src/rtc/vp8-sender.js';
import { floatToInt16, hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { until } from '../helpers/rtc.js';
import { startTestServer } from '../helpers/server.js';
import { frequencyOf, PEER, VP8_LAYERS } from '../integration/sfu-helpers.js';

const TONE_HZ = 550;

declare global {
  interface Window { whip?: { pc: RTCPeerConnection; location: string } }
}

/**
 * In the page: offers what `direction` says (sendonly: the fake microphone and camera;
 * recvonly: one audio and one video section), POSTs it with every candidate, applies the answer.
 * Resolves with the session's Location. Plain WebRTC and fetch: what a third-party client does.
 */
function startSession(page: Page, url: string, direction: 'sendonly' | 'recvonly'): Promise<string> {
  return page.evaluate(async ({ url, direction }) => {
    const pc = new RTCPeerConnection();
    if (direction === 'sendonly') {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction });
    } else {
      pc.addTransceiver('audio', { direction });
      pc.addTransceiver('video', { direction });
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      video.srcObject = new MediaStream(pc.getReceivers().map((r) => r.track));
      document.body.append(video);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
      pc.addEventListener('icegatheringstatechange', done);
      done();
    });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription!.sdp });
    const body = await res.text();
    if (res.status !== 201) throw new Error(`${res.status}: ${body}`);
    const location = new URL(res.headers.get('location')!, url).toString();
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    window.whip = { pc, location };
    return location;
  }, { url, direction });
}

/** The page's inbound-rtp figures by kind. */
function inbound(page: Page): Promise<Record<string, { packets: number; frames?: number; width?: number; height?: number }>> {
  return page.evaluate(async () => {
    const out: Record<string, { packets: number; frames?: number; width?: number; height?: number }> = {};
    (await window.whip!.pc.getStats()).forEach((s: { type: string; kind: string; packetsReceived: number; framesDecoded?: number; frameWidth?: number; frameHeight?: number }) => {
      if (s.type === 'inbound-rtp') out[s.kind] = { packets: s.packetsReceived, frames: s.framesDecoded, width: s.frameWidth, height: s.frameHeight };
    });
    return out;
  });
}

describe.skipIf(!hasChromium())(`WHIP and WHEP with Chromium as the third-party client${skipNote()}`, { timeout: 60_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(TONE_HZ) });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    cleanupRtc();
  });

  it('Chromium publishes through WHIP; a Node WHEP viewer hears its tone and gets its camera; the page\'s DELETE ends it', async () => {
    const page = await browser.newPage(`${server.url}/`);
    const location = await startSession(page, `${server.url}/whip/chromium-in?name=Chromium`, 'sendonly');
    expect(location).toMatch(new RegExp(`^${server.url}/whip/chromium-in/`));
    const viewer = new WhepClient({ url: `${server.url}/whep/chromium-in`, peer: PEER });
    const audio: Buffer[] = [];
    const video: Buffer[] = [];
    viewer.audioTrack.onRtp = (p) => { if (!isRtcp(p)) audio.push(Buffer.from(p)); };
    viewer.videoTrack!.onRtp = (p) => { if (!isRtcp(p)) video.push(Buffer.from(p)); };
    await viewer.start();
    await until(() => audio.length >= 100, 15_000, 'the WHEP viewer hears Chromium');
    expect(Math.abs(frequencyOf(audio.slice(-100)) - TONE_HZ)).toBeLessThanOrEqual(2);
    const keyframe = () => video.map((p) => {
      const h = parseRtpHeader(p);
      const payload = p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
      const d = parseVp8Descriptor(payload);
      return d.keyframe ? vp8KeyframeSize(payload.subarray(d.length)) : undefined;
    }).find((s) => s !== undefined);
    await until(() => keyframe() !== undefined, 15_000, 'a key frame of Chromium\'s camera');
    const size = keyframe()!;
    expect(size.width * 3).toBe(size.height * 4); // the fake camera's 4:3, at whatever size its encoder chose
    const room = server.rooms.get('chromium-in')!;
    expect(room.participants().map((p) => p.name).sort()).toEqual(['Chromium', 'WHEP viewer']);
    expect(await page.evaluate(async () => (await fetch(window.whip!.location, { method: 'DELETE' })).status)).toBe(200);
    expect(room.participants().map((p) => p.name)).toEqual(['WHEP viewer']);
    await viewer.stop();
    await page.close();
  });

  it('a Node WHIP publisher is viewed by Chromium through WHEP: video decoded at 640x360, the tone heard', async () => {
    const publisher = new WhipClient({ url: `${server.url}/whip/chromium-out?name=Encoder`, video: true, peer: PEER });
    await publisher.start();
    void publisher.play(new ToneSource(660, { durationMs: 600_000 }));
    const camera = new Vp8SimulcastSender(publisher.videoTrack!, [VP8_LAYERS[2]!], { fps: 15 });
    const page = await browser.newPage(`${server.url}/`);
    await startSession(page, `${server.url}/whep/chromium-out`, 'recvonly');
    const decoded = await waitForPage(page, async () => {
      const v = (await (window.whip!.pc.getStats()) as RTCStatsReport);
      let frames = 0;
      v.forEach((s: { type: string; kind: string; framesDecoded?: number }) => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded ?? 0; });
      return frames >= 15 ? frames : undefined;
    }, undefined, { what: 'Chromium decodes 15 frames through WHEP', timeoutMs: 15_000 });
    expect(decoded).toBeGreaterThanOrEqual(15);
    const stats = await inbound(page);
    expect(stats.video).toMatchObject({ width: 640, height: 360 });
    expect(stats.audio!.packets).toBeGreaterThan(20);
    // What the page plays: the tone (median of three 0.5 s windows: Chromium's jitter buffer may splice one).
    // (A string: vitest would rewrite a dynamic import written in a function.)
    const { sampleRate, samples } = await page.evaluate(
      "import('/js/media.js').then((m) => m.recordTrack(window.whip.pc.getReceivers().find((r) => r.track.kind === 'audio').track, 1500))",
    ) as { sampleRate: number; samples: number[] };
    const pcm = floatToInt16(samples);
    const w = Math.round(sampleRate / 2);
    const freqs = [0, 1, 2].map((k) => dominantFrequency(pcm.subarray(k * w, (k + 1) * w), sampleRate)).sort((a, b) => a - b);
    expect(Math.abs(freqs[1]! - 660), `windows: ${freqs.join(', ')} Hz`).toBeLessThanOrEqual(2);
    await screenshot(page, 'whep-viewer-chromium');
    camera.close();
    await publisher.stop();
    await page.close();
  });
});
