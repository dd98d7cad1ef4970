/**
 * The server's media settings (issue 15, `serve --max-video-bitrate --max-resolution
 * --max-framerate --audio-bitrate --simulcast`): handed to pages in `joined.room.media` and
 * applied by them to what they send, in mesh and SFU rooms.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { hasChromium, launchBrowser, skipNote, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { DEBUG_STATE, joinCall, KEEP_PEER_CONNECTIONS, state } from './call-page.js';

interface Sent { kind: string; rid: string | undefined; bytes: number; frameWidth: number | undefined; frames: number | undefined }

/** What the page's connections have sent so far, one row per outbound RTP stream. */
function sent(page: Page): Promise<Sent[]> {
  return page.evaluate(async () => {
    const rows: Sent[] = [];
    for (const pc of (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections) {
      (await pc.getStats()).forEach((s: { type: string; kind: string; rid?: string; bytesSent: number; frameWidth?: number; framesEncoded?: number }) => {
        if (s.type === 'outbound-rtp') rows.push({ kind: s.kind, rid: s.rid, bytes: s.bytesSent, frameWidth: s.frameWidth, frames: s.framesEncoded });
      });
    }
    return rows;
  });
}

/** kbit/s and frames per second each kind went out at over `ms`, all streams together; the widest frame sent. */
async function rates(page: Page, ms: number) {
  const a = await sent(page);
  await new Promise((r) => setTimeout(r, ms));
  const b = await sent(page);
  const sum = (rows: Sent[], kind: string, k: 'bytes' | 'frames') => rows.filter((r) => r.kind === kind).reduce((t, r) => t + (r[k] ?? 0), 0);
  return {
    videoKbps: ((sum(b, 'video', 'bytes') - sum(a, 'video', 'bytes')) * 8) / ms,
    audioKbps: ((sum(b, 'audio', 'bytes') - sum(a, 'audio', 'bytes')) * 8) / ms,
    fps: ((sum(b, 'video', 'frames') - sum(a, 'video', 'frames')) * 1000) / ms,
    width: Math.max(0, ...b.filter((r) => r.kind === 'video').map((r) => r.frameWidth ?? 0)),
    videoStreams: b.filter((r) => r.kind === 'video').length,
  };
}

/** A page that ignores the server's media settings: `joined` reaches it without `room.media`. */
const IGNORE_MEDIA_SETTINGS = `{
  const parse = JSON.parse;
  JSON.parse = function (text, reviver) {
    const v = parse(text, reviver);
    if (v && v.type === 'joined' && v.room) delete v.room.media;
    return v;
  };
}`;

async function waitForVideoFrom(page: Page, id: string): Promise<void> {
  await waitForPage(page, (peer) => {
    const t = window.callpeer!.state().peers.find((p) => p.id === peer)?.tile;
    return Boolean(t && t.frames > 20 && t.videoWidth > 0);
  }, id, { timeoutMs: 20_000, what: `video from ${id}`, debug: DEBUG_STATE });
}

describe.skipIf(!hasChromium())(`media settings from the server${skipNote()}`, { timeout: 90_000 }, () => {
  let server: RunningServer | undefined;
  let browser: TestBrowser | undefined;
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    cleanupRtc();
  });

  it('mesh: pages send video under --max-video-bitrate, --max-resolution and --max-framerate, and audio under --audio-bitrate', async () => {
    server = await startTestServer({ maxVideoBitrateKbps: 120, maxResolution: '320x180', maxFramerate: 10, audioBitrateKbps: 12 });
    browser = await launchBrowser();
    const ann = await joinCall(browser, server.url, 'capped', 'Ann', { initScript: KEEP_PEER_CONNECTIONS });
    const bob = await joinCall(browser, server.url, 'capped', 'Bob');
    expect((await state(ann)).phase).toBe('joined');
    await waitForVideoFrom(bob, (await state(ann)).id);
    await new Promise((r) => setTimeout(r, 2000)); // past the encoder's start-up
    const r = await rates(ann, 3000);
    console.log(`capped mesh sender: video ${r.videoKbps.toFixed(0)} kbps at ${r.fps.toFixed(1)} fps, ${r.width} px wide; audio ${r.audioKbps.toFixed(1)} kbps`);
    expect(r.width).toBeGreaterThan(0);
    // Uncapped, the same pages send 640 px at 20 fps, ~200 kbps of video and ~25 kbps of audio.
    expect(r.width).toBeLessThanOrEqual(320);
    expect(r.fps).toBeLessThanOrEqual(11);
    expect(r.videoKbps).toBeLessThanOrEqual(120 * 1.15);
    expect(r.audioKbps).toBeLessThanOrEqual(12 * 1.15 + 4); // + RTP/SRTP headers of 50 packets a second
    await ann.close();
    await bob.close();
    await browser.close();
    await server.close();
    browser = undefined;
    server = undefined;
  });

  it('SFU with --simulcast off: the camera goes out as one stream, and the other page shows it', async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', simulcast: 'off' });
    browser = await launchBrowser();
    const ann = await joinCall(browser, server.url, 'one-layer', 'Ann', { initScript: KEEP_PEER_CONNECTIONS });
    const bob = await joinCall(browser, server.url, 'one-layer', 'Bob');
    await waitForVideoFrom(bob, (await state(ann)).id);
    const r = await rates(ann, 1000);
    console.log(`SFU, simulcast off: ${r.videoStreams} video stream(s), ${r.videoKbps.toFixed(0)} kbps, ${r.width} px wide`);
    expect(r.videoStreams).toBe(1);
    expect(r.videoKbps).toBeGreaterThan(20);
    const annId = (await state(ann)).id;
    const camera = (await state(bob)).sfu.tracks.find((t) => t.publisher === annId && t.source === 'camera');
    expect(camera?.layers ?? []).toHaveLength(0);
    await ann.close();
    await bob.close();
    expect(browser.pageErrors).toEqual([]);
  });

  it('SFU: a page that ignores the settings is still held under them: b=AS/TIAS in the server\'s answer, and its REMB for video', async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', maxVideoBitrateKbps: 150, audioBitrateKbps: 12 });
    browser = await launchBrowser();
    const ann = await joinCall(browser, server.url, 'enforced', 'Ann', { initScript: `${KEEP_PEER_CONNECTIONS}\n${IGNORE_MEDIA_SETTINGS}` });
    const bob = await joinCall(browser, server.url, 'enforced', 'Bob');
    await waitForVideoFrom(bob, (await state(ann)).id);
    // The server's answer to Ann bounds what it receives, per section (Chromium keeps the TIAS of the two lines sent).
    const remote = await ann.evaluate(() => (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections[0]!.remoteDescription!.sdp);
    expect(remote).toMatch(/m=video [^\r]*\r\nc=[^\r]*\r\n(b=AS:150\r\n)?b=TIAS:150000\r\n/);
    expect(remote).toMatch(/m=audio [^\r]*\r\nc=[^\r]*\r\n(b=AS:12\r\n)?b=TIAS:12000\r\n/);
    await new Promise((r) => setTimeout(r, 3000));
    const r = await rates(ann, 3000);
    console.log(`SFU, page ignoring the settings: video ${r.videoKbps.toFixed(0)} kbps in ${r.videoStreams} streams, audio ${r.audioKbps.toFixed(1)} kbps`);
    // Uncapped, the same page sends its three layers at 1.2 Mbps; with b=TIAS alone (Chromium
    // does not apply it to simulcast) at 280-1230 kbps; the audio obeys b=TIAS.
    expect(r.videoKbps).toBeLessThanOrEqual(150 * 1.15);
    expect(r.audioKbps).toBeLessThanOrEqual(12 * 1.15 + 4);
    await ann.close();
    await bob.close();
    expect(browser.pageErrors).toEqual([]);
  });
});
