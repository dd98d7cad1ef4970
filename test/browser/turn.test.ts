/**
 * TURN through a real coturn (Debian's `turnserver`, started here in use-auth-secret mode on a
 * free loopback port): the server hands each member credentials of its own in `joined`, and
 * everyone forced to relay (`?relay=1` on the page, iceTransportPolicy 'relay' in Node) can only
 * connect through coturn. So media flowing, a selected candidate pair of type relay and
 * coturn's log of allocations under the server-made usernames prove the relay path; expired
 * credentials are refused by coturn and the page says so in plain words.
 *
 * coturn relays from 127.0.0.2 while every client binds 127.0.0.1 (see startCoturn's relayIp):
 * node-datachannel asked for relay only hides its host candidates but still checks from its
 * host socket, so only this way is a relay-only Node side provably on the relay path.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer, StartOptions } from '../../src/app.js';
import type { ServeFlags } from '../../src/config.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
// @ts-expect-error plain JS module of the pages (no types)
import { RELAY_REFUSED_TEXT } from '../../static/js/relay.js';
import { floatToInt16, hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { BIN, startCli } from '../helpers/cli.js';
import { coturnSkipNote, hasCoturn, startCoturn, type Coturn } from '../helpers/coturn.js';
import { startTestServer } from '../helpers/server.js';
import { DEBUG_STATE, joinCall, state, type RtpStats } from './call-page.js';

const BUILT = existsSync(path.resolve(path.dirname(BIN), '../dist/cli/bot.js'));
const RELAY = { relay: '1', raw: '1' };
const TONE_HZ = 440;

/** The hook's stats with what peer.js adds: the selected candidate pair's types. */
type PathStats = RtpStats & { path: { local: string; remote: string; protocol: string } | null; relayRefused: boolean };

async function pathStats(page: Page): Promise<Record<string, PathStats>> {
  return (await page.evaluate(() => window.callpeer!.stats())) as Record<string, PathStats>;
}

/** Waits until `page` receives audio packets from `id` (and video frames, when `video`), counted by getStats. */
async function waitForMediaFrom(page: Page, id: string, { video = false, minPackets = 50 } = {}): Promise<PathStats> {
  await waitForPage(page, async ({ peer, video: v, min }) => {
    const st = (await window.callpeer!.stats())[peer];
    const connected = window.callpeer!.state().peers.find((p) => p.id === peer)?.connection === 'connected';
    return connected && (st?.inbound.audio?.packetsReceived ?? 0) > min && (!v || (st?.inbound.video?.framesDecoded ?? 0) > 10);
  }, { peer: id, video, min: minPackets }, { timeoutMs: 15_000, what: `media from ${id}`, debug: DEBUG_STATE });
  return (await pathStats(page))[id]!;
}

/** Media from `id` keeps arriving: packets (and frames) counted again 1 s later are more. */
async function expectGrowing(page: Page, id: string, video: boolean): Promise<PathStats> {
  const before = (await pathStats(page))[id]!;
  await new Promise((r) => setTimeout(r, 1000));
  const after = (await pathStats(page))[id]!;
  // Any growth proves the path carries media; a loaded CI machine was seen at 16 packets in
  // that second (the fake microphone's beep lets Opus DTX thin the stream), so not 50.
  expect(after.inbound.audio!.packetsReceived).toBeGreaterThan(before.inbound.audio!.packetsReceived + 5);
  if (video) expect(after.inbound.video!.framesDecoded!).toBeGreaterThan(before.inbound.video!.framesDecoded! + 5);
  return after;
}

/** coturn's log lines of successful allocations by `user` (the credentials' `<expiry>:<id>`). */
function allocationsOf(turn: Coturn, id: string): string[] {
  return turn.lines(new RegExp(`user <\\d+:${id}>: incoming packet ALLOCATE processed, success`));
}

/** The expiry (unix seconds) in the username coturn saw for `id`. */
function expiryOf(turn: Coturn, id: string): number {
  const line = allocationsOf(turn, id)[0] ?? '';
  return Number(/user <(\d+):/.exec(line)?.[1]);
}

describe.skipIf(!hasChromium() || !hasCoturn())(`TURN through coturn${skipNote()}${coturnSkipNote()}`, { timeout: 30_000 }, () => {
  let turn: Coturn;
  let browser: TestBrowser;
  const servers: RunningServer[] = [];

  /** A server on loopback whose members (and SFU) get credentials for our coturn. */
  async function serverWithTurn(flags: ServeFlags = {}, options: Partial<StartOptions> = {}): Promise<RunningServer> {
    const s = await startTestServer({ turnUrl: turn.url, turnSecret: turn.secret, ...flags }, options);
    servers.push(s);
    return s;
  }

  beforeAll(async () => {
    // -v: coturn logs each session's username and every ALLOCATE, success or refusal.
    turn = await startCoturn({ args: ['-v'] });
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(TONE_HZ) });
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    await turn?.close();
    cleanupRtc();
  });

  it('two ?relay=1 pages in a mesh room talk through coturn: media flows, the selected pair is relay, coturn allocated for each', async () => {
    const server = await serverWithTurn();
    const ada = await joinCall(browser, server.url, 'turn-mesh', 'Ada', { query: RELAY });
    const bob = await joinCall(browser, server.url, 'turn-mesh', 'Bob', { query: RELAY });
    const [adaId, bobId] = [(await state(ada)).id, (await state(bob)).id];
    await waitForMediaFrom(ada, bobId, { video: true });
    await waitForMediaFrom(bob, adaId, { video: true });
    const seenByAda = await expectGrowing(ada, bobId, true);
    const seenByBob = await expectGrowing(bob, adaId, true);
    // Both ends of each selected pair are relay candidates: coturn carries everything.
    expect(seenByAda.path).toMatchObject({ local: 'relay', remote: 'relay' });
    expect(seenByBob.path).toMatchObject({ local: 'relay', remote: 'relay' });
    // coturn saw the usernames the server made for each member (`<expiry>:<participant id>`).
    expect(allocationsOf(turn, adaId).length).toBeGreaterThan(0);
    expect(allocationsOf(turn, bobId).length).toBeGreaterThan(0);
    // valid for --turn-ttl (default 1 h) from the join
    expect(Math.abs(expiryOf(turn, adaId) - (Date.now() / 1000 + 3600))).toBeLessThan(60);
    expect((await state(ada)).banners).toEqual([]);
    await screenshot(ada, 'turn-mesh');
    await Promise.all([ada.close(), bob.close()]);
  });

  it('an SFU room with --rtc-relay-only: page ↔ server audio goes through coturn, the server\'s Peers with fresh credentials each', async () => {
    // The clock the credentials are dated by: moved 10 minutes on between the two joins.
    let shiftMs = 0;
    const server = await serverWithTurn({ topology: 'sfu', rtcRelayOnly: true, rtcBind: '127.0.0.1' }, { now: () => Date.now() + shiftMs });
    const ada = await joinCall(browser, server.url, 'turn-sfu', 'Ada', { query: RELAY });
    const adaId = (await state(ada)).id;
    // The server's Peer for Ada is made when her offer arrives, and allocates at once.
    await turn.waitForLog(new RegExp(`user <\\d+:sfu-${adaId}>: incoming packet ALLOCATE processed, success`), 10_000);
    shiftMs = 600_000;
    const bob = await joinCall(browser, server.url, 'turn-sfu', 'Bob', { query: RELAY });
    const bobId = (await state(bob)).id;
    await waitForMediaFrom(ada, bobId);
    await waitForMediaFrom(bob, adaId);
    const seenByAda = await expectGrowing(ada, bobId, false);
    const seenByBob = await expectGrowing(bob, adaId, false);
    // The page relays (local), and so does the server (remote: its relay candidate).
    expect(seenByAda.path).toMatchObject({ local: 'relay', remote: 'relay' });
    expect(seenByBob.path).toMatchObject({ local: 'relay', remote: 'relay' });
    // The server's Peers allocated on coturn under usernames it made for itself, each dated
    // when its Peer was made: Bob's 10 minutes later than Ada's on the shifted clock.
    await turn.waitForLog(new RegExp(`user <\\d+:sfu-${bobId}>: incoming packet ALLOCATE processed, success`));
    expect(expiryOf(turn, `sfu-${bobId}`) - expiryOf(turn, `sfu-${adaId}`)).toBeGreaterThanOrEqual(590);
    expect(allocationsOf(turn, adaId).length).toBeGreaterThan(0);
    await screenshot(bob, 'turn-sfu');
    await Promise.all([ada.close(), bob.close()]);
  });

  it.skipIf(!BUILT)(`a \`callpeer bot --ice-transport-policy relay\` is heard by a page at ${TONE_HZ * 2} Hz, through coturn${BUILT ? '' : ' (skipped: run `npm run build` first)'}`, async () => {
    const server = await serverWithTurn();
    const bot = await startCli([
      'bot', `${server.url}/r/turn-bot`, '--tone', String(TONE_HZ * 2), '--bind', '127.0.0.1', '--ice-transport-policy', 'relay', '--duration', '25',
    ], /joined room turn-bot as \S+/);
    try {
      const botId = /joined room turn-bot as (\S+)/.exec(bot.output())![1]!;
      // The page relays too: a relay-only page lets in only what comes from a relay address
      // it was told of (coturn permissions), so the bot's host socket cannot reach it.
      const page = await joinCall(browser, server.url, 'turn-bot', 'Listener', { query: RELAY });
      const seen = await waitForMediaFrom(page, botId);
      // remote: the bot's relay candidate (a bot not forced to relay would offer its host one)
      expect(seen.path).toMatchObject({ local: 'relay', remote: 'relay' });
      await new Promise((r) => setTimeout(r, 500)); // past the jitter buffer's start
      const { sampleRate, samples } = await page.evaluate((id) => window.callpeer!.audio(id, 1500), botId);
      const pcm = floatToInt16(samples);
      expect(pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeGreaterThan(3000); // audio, not silence
      const w = Math.round(sampleRate / 2);
      const freqs = [0, 1, 2].map((k) => dominantFrequency(pcm.subarray(k * w, (k + 1) * w), sampleRate)).sort((a, b) => a - b);
      expect(Math.abs(freqs[1]! - TONE_HZ * 2), `windows: ${freqs.join(', ')} Hz`).toBeLessThanOrEqual(2);
      expect(allocationsOf(turn, botId).length).toBeGreaterThan(0);
      await page.close();
    } finally {
      bot.child.kill('SIGTERM');
      await bot.exited;
    }
  });

  it('credentials that expired before the join are refused by coturn, and the page says so in plain words', async () => {
    // Credentials dated 2 h ago with a 1 h lifetime expired an hour before anyone joins.
    const server = await serverWithTurn({}, { now: () => Date.now() - 2 * 3600_000 });
    const ada = await joinCall(browser, server.url, 'turn-expired', 'Ada', { query: RELAY });
    const bob = await joinCall(browser, server.url, 'turn-expired', 'Bob', { query: RELAY });
    const [adaId, bobId] = [(await state(ada)).id, (await state(bob)).id];
    for (const page of [ada, bob]) {
      await waitForPage(page, (text) => window.callpeer!.state().banners.includes(text), RELAY_REFUSED_TEXT as string, { timeoutMs: 10_000, what: 'the refused-credentials banner', debug: DEBUG_STATE });
    }
    for (const id of [adaId, bobId]) {
      await turn.waitForLog(new RegExp(`user <\\d+:${id}>: incoming packet \\S+ processed, error 401: Unauthorized`));
      expect(turn.lines(new RegExp(`Cannot find credentials of user <\\d+:${id}>`)).length).toBeGreaterThan(0);
      expect(allocationsOf(turn, id)).toEqual([]);
    }
    const st = await state(ada);
    expect(st.peers[0]!.connection).not.toBe('connected');
    expect(st.peers[0]!.tile!.status).toBe('Cannot connect');
    await screenshot(ada, 'turn-expired');
    await Promise.all([ada.close(), bob.close()]);
    expect(browser.pageErrors).toEqual([]);
  });
});
