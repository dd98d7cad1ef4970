/**
 * Setup time between a real Chromium and a Peer, offer to first RTP packet at the Peer, with
 * and without the Peer taking the DTLS server role (offererIsDtlsClient), both directions:
 *   browser offers: the Peer rewrites the offer's actpass to active before applying it;
 *   Peer offers:    the Peer's offer says active, so Chromium answers passive.
 * Sequential setups, fake microphone, loopback. N per variant (default 20):
 *   unshare -n sh -c 'ip link set lo up && exec node --import tsx test/bench/rtc-browser-setup.bench.ts [N]'
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { cleanupRtc, Peer, type PeerSignal } from '../../src/rtc/peer.js';
import { hasChromium, launchBrowser, type Page } from '../helpers/browser.js';

const N = Number(process.argv[2] ?? 20);

declare global {
  interface Window {
    pc: RTCPeerConnection | undefined;
    cands: { candidate: string; mid: string }[];
    stream: MediaStream | undefined;
    setup(offerSdp: string | null): Promise<string>;
  }
}

/** Page side: one RTCPeerConnection with the microphone; offers (null) or answers an offer. */
const PAGE_SCRIPT = `
window.setup = async (offerSdp) => {
  window.pc?.close();
  window.cands = [];
  // One capture reused: a browser allows only 16 microphone captures at once.
  window.stream = window.stream || await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  const stream = window.stream;
  const pc = new RTCPeerConnection();
  window.pc = pc;
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  pc.onicecandidate = (e) => { if (e.candidate && e.candidate.candidate) window.cands.push({ candidate: e.candidate.candidate, mid: e.candidate.sdpMid || '0' }); };
  if (offerSdp === null) { await pc.setLocalDescription(await pc.createOffer()); return pc.localDescription.sdp; }
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.sdp;
};`;

async function setupOnce(page: Page, browserOffers: boolean, offererIsDtlsClient: boolean): Promise<number> {
  const peer = new Peer({ iceServers: [], bindAddress: '127.0.0.1', offererIsDtlsClient });
  const signals: PeerSignal[] = [];
  peer.on('signal', (s) => signals.push(s));
  let firstRtp = 0;
  peer.on('track', (t: MediaTrack) => { t.onRtp = () => { if (!firstRtp) firstRtp = performance.now(); }; });
  const t0 = performance.now();
  if (browserOffers) {
    const offer = await page.evaluate((o) => window.setup(o), null);
    peer.handleRemoteDescription(offer, 'offer');
    while (!signals.some((s) => s.kind === 'description')) await new Promise((r) => setTimeout(r, 1));
    const answer = signals.find((s) => s.kind === 'description') as { sdp: string };
    await page.evaluate((sdp) => window.pc!.setRemoteDescription({ type: 'answer', sdp }), answer.sdp);
  } else {
    peer.addAudioTrack({ direction: 'recvonly' });
    while (!signals.some((s) => s.kind === 'description')) await new Promise((r) => setTimeout(r, 1));
    const offer = signals.find((s) => s.kind === 'description') as { sdp: string };
    const answer = await page.evaluate((o) => window.setup(o), offer.sdp);
    peer.handleRemoteDescription(answer, 'answer');
  }
  let sent = 0;
  let taken = 0;
  const deadline = t0 + 10_000;
  while (!firstRtp && performance.now() < deadline) {
    for (; sent < signals.length; sent++) {
      const s = signals[sent]!;
      if (s.kind === 'candidate') await page.evaluate((c) => window.pc!.addIceCandidate({ candidate: c.candidate.replace(/^a=/, ''), sdpMid: c.mid }), s).catch(() => {});
    }
    const cands = await page.evaluate((from) => window.cands.slice(from), taken);
    taken += cands.length;
    for (const c of cands) peer.addRemoteCandidate(c.candidate, c.mid);
    await new Promise((r) => setTimeout(r, 2));
  }
  peer.close();
  if (!firstRtp) throw new Error('no RTP within 10 s');
  return firstRtp - t0;
}

function summary(name: string, times: number[]): string {
  const s = [...times].sort((x, y) => x - y);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const stalls = s.filter((t) => t > 500).length;
  return `${name.padEnd(46)} n=${s.length}  p50 ${q(0.5).toFixed(0).padStart(5)} ms  p95 ${q(0.95).toFixed(0).padStart(5)} ms  max ${s.at(-1)!.toFixed(0).padStart(5)} ms  stalls>500ms ${stalls}`;
}

if (!hasChromium()) {
  console.log('skipped: Chromium not found');
} else {
  const server = http.createServer((_q, r) => { r.setHeader('content-type', 'text/html'); r.end(`<!doctype html><script>${PAGE_SCRIPT}</script>`); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchBrowser();
  const page = await browser.newPage(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await setupOnce(page, true, true); // warm-up
  console.log('Chromium <-> Peer setup: offer -> first RTP at the Peer, sequential, loopback');
  for (const browserOffers of [true, false]) {
    for (const role of [false, true]) {
      const times: number[] = [];
      for (let i = 0; i < N; i++) times.push(await setupOnce(page, browserOffers, role));
      console.log(summary(`${browserOffers ? 'browser offers' : 'Peer offers'}, offererIsDtlsClient: ${role}`, times));
    }
  }
  await browser.close();
  server.close();
  cleanupRtc();
}
