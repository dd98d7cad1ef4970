/** Helpers for tests of the call page (/r/<room>): its `window.callpeer` hook, typed. */
import { expect } from 'vitest';
import { dominantFrequency } from '../../src/media/analysis.js';
import { floatToInt16, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';

export interface TileInfo {
  frames: number; videoWidth: number; videoHeight: number; currentTime: number; paused: boolean;
  showsVideo: boolean; speaking: boolean; status: string;
  /** '' until measured, then 'good' | 'weak' | 'poor': the page's own measure of what it receives from this peer. */
  quality: string;
  /**
   * The server's last `quality` reading of this participant (our own on the self tile) as the
   * tile shows it, or null: its bars (1-4), figures, warnings, the video size on the card, and
   * whether the card is open (tapped).
   */
  signal: {
    bars: number; score: number; packetLoss: number; jitterMs: number; rttMs: number; bitrateKbps: number; warnings: string[];
    video: { width: number; height: number; fps?: number } | null; card: boolean;
  } | null;
  /** SFU rooms: the camera layer the server says it forwards ('' before any). */
  layer: string;
  /** SFU rooms: the camera shown in the corner while the tile shows a screen, else null. */
  pip: { videoWidth: number; videoHeight: number } | null;
}
export interface PeerInfo {
  id: string; name: string; role: string; audio: boolean; video: boolean; screen: boolean;
  /** The token's `sub` (auth on), else null. */
  identity: string | null;
  /** Let in without a token (`--allow-guests`). */
  guest: boolean;
  /** False when the member's token says `publish: false`. */
  canPublish: boolean;
  connection: string; negotiationError: string; level: number; tile: TileInfo | null;
}
export interface CallState {
  phase: string; id: string; room: string; name: string; maxMembers: number;
  local: { audio: boolean; video: boolean; screen: boolean };
  devices: { audio: boolean; video: boolean; note: string };
  error: { code: string; message: string } | null;
  tracks: { kind: string; label: string; enabled: boolean; readyState: string }[];
  /** Chosen audio output device id ('' = default). */
  speaker: string;
  signaling: string; recording: boolean; banners: string[];
  /** The full-page dialog (room full, refused, removed, ended, left), or null. */
  notice: { title: string; text: string } | null;
  /** The toast showing now ('' when none). */
  toast: string;
  /** The page opened no device: its token says `publish: false`. */
  listenOnly: boolean;
  /** Id of the participant shown big (sharing a screen, or pinned), or null. */
  spotlight: string | null;
  self: TileInfo | null; peers: PeerInfo[];
  chat: { from: string; name: string; text: string; ts: number }[];
  /** SFU rooms: the room's tracks, the layers asked for and forwarded, what the page subscribes to. */
  sfu: {
    tracks: { id: string; publisher: string; kind: string; source: string; codec: string; layers: string[]; muted: boolean }[];
    layers: Record<string, string>; reasons: Record<string, string>; wanted: Record<string, string>; subscribed: Record<string, boolean>;
  };
  /** Mesh rooms: the last `stats` report the page sent about each participant, by id. */
  statsSent: Record<string, { peer: string; packetLoss: number; jitterMs: number; rttMs: number; bitrateKbps: number; framesPerSecond?: number }>;
  /**
   * Mesh rooms, by participant id: how far our video sender to them is stepped down (0 = as the
   * room allows), what it is set to (null: no maxBitrate of ours), why ('loss' | 'rtt' | ''), and
   * the last reading of that link (null: no receiver report in it).
   */
  adapt: Record<string, { level: number; reason: string; maxBitrateKbps: number | null; scale: number; lossPct: number | null; rttMs: number | null; kbps: number | null }>;
}
export interface RtpStats {
  state: string;
  rttMs?: number;
  inbound: Record<string, { packetsReceived: number; bytesReceived: number; framesDecoded?: number; keyFramesDecoded?: number; frameWidth?: number; frameHeight?: number }>;
  /** Per kind; a simulcast sender's encodings summed. */
  outbound: Record<string, { packetsSent: number; bytesSent: number; pliCount: number; frameWidth?: number; frameHeight?: number }>;
}

declare global {
  interface Window {
    callpeer?: {
      state(): CallState;
      stats(): Promise<Record<string, RtpStats>>;
      audio(id: string, ms?: number): Promise<{ sampleRate: number; samples: number[] }>;
      setLayer(trackId: string, quality: string): void;
    };
  }
}

// Init scripts (NewPageOptions.initScript) that put a page in a hard spot.

/** Makes getUserMedia refuse the camera the way a browser does when the user blocks it. */
export const BLOCK_CAMERA = `{
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => c && c.video
    ? Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))
    : real(c);
}`;
export const BLOCK_ALL = `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));`;

/** No host candidates and no TURN server: ICE can never connect, as on a network that blocks UDP. */
export const NO_PATH = `window.CALLPEER_CONNECT_TIMEOUT_MS = 2000;
{
  const Real = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config) { return new Real({ ...(config || {}), iceTransportPolicy: 'relay' }); };
  window.RTCPeerConnection.prototype = Real.prototype;
}`;

/** Keeps every RTCPeerConnection the page makes in `window.peerConnections`, for raw getStats. */
export const KEEP_PEER_CONNECTIONS = `{
  const Real = window.RTCPeerConnection;
  window.peerConnections = [];
  window.RTCPeerConnection = function (config) { const pc = new Real(config); window.peerConnections.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Real.prototype;
}`;

/** Bytes the page has sent per simulcast encoding of its camera, by rid (needs KEEP_PEER_CONNECTIONS). */
export function cameraBytesByRid(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const out: Record<string, number> = {};
    for (const pc of (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections) {
      (await pc.getStats()).forEach((s: { type: string; kind?: string; rid?: string; bytesSent?: number }) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) out[s.rid] = (out[s.rid] ?? 0) + (s.bytesSent ?? 0);
      });
    }
    return out;
  });
}

export const DEBUG_STATE = 'window.callpeer && window.callpeer.state()';

export function state(page: Page): Promise<CallState> {
  return page.evaluate(() => window.callpeer!.state());
}

export function stats(page: Page): Promise<Record<string, RtpStats>> {
  return page.evaluate(() => window.callpeer!.stats());
}

export interface JoinOptions {
  viewport?: { width: number; height: number };
  /** Extra query parameters, e.g. { raw: '1' } for unprocessed microphone audio. */
  query?: Record<string, string>;
  /** Runs in the page before its own scripts (e.g. KEEP_PEER_CONNECTIONS). */
  initScript?: string;
  /** Runs in the test before the page is opened (e.g. to route its WebSocket). */
  beforeNavigate?: (page: Page) => Promise<void>;
}

/** Opens /r/<room>?name=<name> and waits until the page is in the room. */
export async function joinCall(b: TestBrowser, baseUrl: string, room: string, name: string, options: JoinOptions = {}): Promise<Page> {
  const q = new URLSearchParams({ name, ...options.query });
  const page = await b.newPage(`${baseUrl}/r/${room}?${q.toString()}`, {
    ...(options.viewport && { viewport: options.viewport }),
    ...(options.initScript !== undefined && { initScript: options.initScript }),
    ...(options.beforeNavigate && { beforeNavigate: options.beforeNavigate }),
  });
  await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: `${name} to join`, debug: DEBUG_STATE });
  return page;
}

/** Waits until `page` sees `count` remote peers connected with video frames advancing on each tile. */
export async function waitForPeersPlaying(page: Page, count: number, timeoutMs = 15_000): Promise<void> {
  await waitForPage(page, (n) => {
    const st = window.callpeer!.state();
    return st.peers.length === n && st.peers.every((p) => p.connection === 'connected' && p.tile !== null && p.tile.frames > 10 && p.tile.videoWidth > 0);
  }, count, { timeoutMs, what: `${count} peer(s) connected with video playing`, debug: DEBUG_STATE });
}

/**
 * The tone `page` hears from `id`, Hz: 1.5 s through the hook, the median of three 0.5 s windows
 * (Chromium's jitter buffer may splice its playout once in a while, smearing one window).
 */
export async function heardHz(page: Page, id: string): Promise<number> {
  const { sampleRate, samples } = await page.evaluate((peer) => window.callpeer!.audio(peer, 1500), id);
  const pcm = floatToInt16(samples);
  expect(pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeGreaterThan(3000); // audio, not silence
  const w = Math.round(sampleRate / 2);
  const freqs = [0, 1, 2].map((k) => dominantFrequency(pcm.subarray(k * w, (k + 1) * w), sampleRate)).sort((a, b) => a - b);
  return freqs[1]!;
}
