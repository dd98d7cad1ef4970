/** Helpers for tests of the /duo page: its `window.duo` hook, typed, and the usual waits. */
import { dominantFrequency, rms } from '../../src/media/analysis.js';
import { floatToInt16, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';

export interface DuoState {
  phase: 'idle' | 'starting' | 'connecting' | 'waiting' | 'connected' | 'reconnecting' | 'error';
  codec: 'pcm' | 'opus';
  opusAvailable: boolean;
  pair: string | null;
  inviteUrl: string | null;
  muted: boolean;
  peerMuted: boolean;
  partnerLeft: boolean;
  receiving: { codec: string; sampleRate: number } | null;
  error: { code: string; text: string } | null;
  /** The status pill's words. */
  status: string;
  banners: string[];
}

export interface DuoStats {
  framesSent: number; framesReceived: number; bytesSent: number; bytesReceived: number;
  /** Frames not sent because the socket lagged. */
  skipped: number;
  /** Microphone RMS (0..1) of the last frame. */
  level: number;
  /** Frames that failed to encode or decode; frames dropped because the codec lagged. */
  codecErrors: number; codecSkipped: number;
  reconnects: number;
  underruns: number; droppedMs: number; bufferedMs: number; playedMs: number;
  /** Audio the jitter buffer holds before it plays: grows after underruns, shrinks when calm. */
  cushionMs: number;
  /** Partner samples played per output sample: follows the partner's clock against ours (1.001: 1,000 ppm fast). */
  playbackRate: number;
  /** RMS of what the speakers played lately. */
  partnerLevel: number;
}

declare global {
  interface Window {
    duo?: {
      state(): DuoState;
      stats(): DuoStats;
      heard(ms?: number): Promise<{ sampleRate: number; samples: number[] }>;
    };
  }
}

export const DEBUG_DUO = 'window.duo && { state: window.duo.state(), stats: window.duo.stats() }';

/** Opens /duo with `query` (raw audio always: test tones must keep their level) and presses Start. */
export async function openDuo(browser: TestBrowser, baseUrl: string, query: Record<string, string> = {}): Promise<Page> {
  const page = await browser.newPage(`${baseUrl}/duo?${new URLSearchParams({ raw: '1', ...query })}`);
  await waitForPage(page, () => window.duo?.state().phase === 'idle', undefined, { what: 'the duo page ready' });
  await page.click('#start');
  return page;
}

export function duoState(page: Page): Promise<DuoState> {
  return page.evaluate(() => window.duo!.state());
}

export function duoStats(page: Page): Promise<DuoStats> {
  return page.evaluate(() => window.duo!.stats());
}

export function waitForPhase(page: Page, phase: DuoState['phase'], what = `phase ${phase}`, timeoutMs = 10_000): Promise<true> {
  return waitForPage(page, (p) => window.duo?.state().phase === p, phase, { what, debug: DEBUG_DUO, timeoutMs });
}

/**
 * Jumps in a steady tone (an underrun's edge, a trimmed lag, a frame out of place): samples
 * whose second difference is far above what a sine up to a few kHz at this level can have.
 */
export function clicks(samples: readonly number[], threshold = 0.05): number {
  let n = 0;
  for (let i = 1; i + 1 < samples.length; i++) {
    if (Math.abs(samples[i + 1]! - 2 * samples[i]! + samples[i - 1]!) > threshold) n++;
  }
  return n;
}

/**
 * Waits until the page has played `ms` of its partner's audio, then measures a second of what
 * it plays: frequency, level and clicks. On a loaded machine the first seconds may still hold
 * underruns while the jitter buffer finds its cushion, so up to three seconds are taken and
 * the first clean one (full level, no click) is kept, else the fullest.
 */
export async function measureHeard(page: Page, ms = 600): Promise<{ hz: number; level: number; clicks: number }> {
  await waitForPage(page, (m) => window.duo!.stats().playedMs > m, ms, { what: `${ms} ms of the partner played`, debug: DEBUG_DUO });
  let best = { hz: 0, level: -1, clicks: -1 };
  for (let i = 0; i < 3 && !(best.level > 0.3 && best.clicks === 0); i++) {
    const heard = await page.evaluate(() => window.duo!.heard(1000));
    const pcm = floatToInt16(heard.samples);
    const level = rms(pcm);
    const found = { hz: dominantFrequency(pcm, heard.sampleRate), level, clicks: clicks(heard.samples) };
    if (best.clicks !== 0 && (found.clicks === 0 || level > best.level)) best = found;
  }
  return best;
}
