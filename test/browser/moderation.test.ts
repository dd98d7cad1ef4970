/**
 * The call page and the lobby with auth, roles and the room API (docs/call-pages.md), in real
 * Chromium: invitation links carry a join token in the fragment; refused joins are said in
 * plain words and not retried; a kick, a server mute and a deleted room reach the pages; the
 * lobby creates mesh or SFU rooms where the API answers it; guests are labelled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { mintToken, type MintOptions } from '../../src/auth/tokens.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import {
  hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser,
} from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { DEBUG_STATE, state, stats } from './call-page.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

declare global {
  interface Window {
    /** `join` frames the page sent (WATCH). */
    __joins?: number;
    /** getUserMedia calls the page made (WATCH). */
    __gum?: number;
  }
}

/** Page-side, before the page's scripts: counts the joins it sends and its getUserMedia calls. */
const WATCH = `(() => {
  window.__joins = 0;
  window.__gum = 0;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) {
    if (typeof d === 'string' && d.includes('"type":"join"')) window.__joins++;
    return send.call(this, d);
  };
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => { window.__gum++; return gum(c); };
})();`;

type TokenClaims = Omit<MintOptions, 'secret' | 'ttlSeconds'> & { ttlSeconds?: number };
const token = (o: TokenClaims) => mintToken({ secret: SECRET, ttlSeconds: 600, ...o });

/** A room API call; `bearer` is an admin token (auth on). */
async function api(server: RunningServer, method: string, path: string, { body, bearer }: { body?: unknown; bearer?: string } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(bearer && { authorization: `Bearer ${bearer}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

interface OpenOptions {
  name: string;
  /** Put in the fragment (`#token=`), or in the query with `tokenIn: 'query'`. */
  token?: string;
  tokenIn?: 'fragment' | 'query';
  query?: Record<string, string>;
}

/** Pages a test opened: closed after it, pass or fail (one browser allows 16 microphone captures). */
const opened: Page[] = [];

async function newPage(b: TestBrowser, url: string, initScript?: string): Promise<Page> {
  const page = await b.newPage(url, initScript === undefined ? {} : { initScript });
  opened.push(page);
  return page;
}

/** Opens /r/<room>?name=…[#token=…] with the WATCH counters. */
function openCall(b: TestBrowser, base: string, room: string, o: OpenOptions): Promise<Page> {
  const q = new URLSearchParams({ name: o.name, ...o.query });
  if (o.token && o.tokenIn === 'query') q.set('token', o.token);
  const hash = o.token && o.tokenIn !== 'query' ? `#token=${o.token}` : '';
  return newPage(b, `${base}/r/${room}?${q.toString()}${hash}`, WATCH);
}

function joined(page: Page, what: string): Promise<true> {
  return waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: `${what} to join`, debug: DEBUG_STATE });
}

/** Waits until `page` lists `n` other participants. */
function seesPeers(page: Page, n: number, what: string): Promise<true> {
  return waitForPage(page, (k) => window.callpeer!.state().peers.length === k, n, { what, debug: DEBUG_STATE });
}

const joinsSent = (page: Page) => page.evaluate(() => window.__joins);

describe.skipIf(!hasChromium())(`call page with auth and moderation in Chromium${skipNote()}`, { timeout: 60_000 }, () => {
  /** Auth on. A socket in no room is closed after 1 s, so a page that kept its socket after a kick would reconnect and re-join soon. */
  let auth: RunningServer;
  /** Auth on with --allow-guests. */
  let guests: RunningServer;
  /** Auth off: the room API answers loopback. */
  let open: RunningServer;
  let browser: TestBrowser;
  let admin: string;

  beforeAll(async () => {
    auth = await startTestServer({ authSecret: SECRET }, { joinTimeoutMs: 1000 });
    guests = await startTestServer({ authSecret: SECRET, allowGuests: true });
    open = await startTestServer({ maxMembers: 8 });
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(440) });
    admin = await token({ identity: 'root', room: '*', roles: ['admin'] });
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((p) => p.context().close()));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([auth?.close(), guests?.close(), open?.close()]);
    cleanupRtc();
  });

  it('a #token= link joins under the token\'s name; ?token= works too', async () => {
    expect((await api(auth, 'POST', '/api/rooms', { bearer: admin, body: { id: 'invited' } })).status).toBe(201);
    const ada = await openCall(browser, auth.url, 'invited', { name: 'Typed Name', token: await token({ identity: 'ada', room: 'invited', name: 'Ada Lovelace' }) });
    await joined(ada, 'Ada');
    const bob = await openCall(browser, auth.url, 'invited', { name: 'Bob', token: await token({ identity: 'bob', room: 'invited' }), tokenIn: 'query' });
    await joined(bob, 'Bob');
    await seesPeers(bob, 1, 'Bob to see Ada');

    // Her own tile and Bob's tile of her carry the token's name, not the typed one.
    expect((await state(ada)).name).toBe('Ada Lovelace');
    expect(await ada.textContent('.tile.local .name')).toBe('Ada Lovelace (you)');
    const seen = (await state(bob)).peers[0]!;
    expect(seen).toMatchObject({ name: 'Ada Lovelace', identity: 'ada', guest: false });
    expect(await bob.textContent(`.tile[data-peer="${seen.id}"] .name`)).toBe('Ada Lovelace');
    expect((await api(auth, 'GET', '/api/rooms/invited', { bearer: admin })).body.participants.map((p: { identity: string }) => p.identity).sort()).toEqual(['ada', 'bob']);
  });

  it('an expired token is refused in plain words, and the page does not try again', async () => {
    const expired = await token({ identity: 'eve', room: 'invited', ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    const eve = await openCall(browser, auth.url, 'invited', { name: 'Eve', token: expired });
    await waitForPage(eve, () => window.callpeer!.state().notice !== null, undefined, { what: 'the refusal', debug: DEBUG_STATE });
    const st = await state(eve);
    expect(st.phase).toBe('error');
    expect(st.error?.code).toBe('UNAUTHORIZED');
    expect(st.notice!.text).toContain('This room needs an invitation link: the link you used has no valid token (it may have expired).');
    expect(st.notice!.text).toMatch(/expired/);
    // A loop would have re-joined within 4 s: the server closes an idle socket after 1 s and the page retries after 0.5 s.
    await sleep(4000);
    expect(await joinsSent(eve)).toBe(1);
    expect((await state(eve)).signaling).toBe('stopped');
    expect((await state(eve)).notice!.text).toContain('it may have expired');

    // A valid token for a room nobody created: the room does not exist (yet).
    const early = await openCall(browser, auth.url, 'not-made-yet', { name: 'Early', token: await token({ identity: 'early', room: '*' }) });
    await waitForPage(early, () => window.callpeer!.state().notice !== null, undefined, { what: 'the refusal', debug: DEBUG_STATE });
    expect((await state(early)).notice!.text).toMatch(/^This room does not exist \(yet\)\./);
    expect((await state(early)).error?.code).toBe('ROOM_NOT_FOUND');
  });

  it('a token with publish: false opens no device and joins to listen; the others see it', async () => {
    expect((await api(auth, 'POST', '/api/rooms', { bearer: admin, body: { id: 'listeners', topology: 'sfu' } })).status).toBe(201);
    const speaker = await openCall(browser, auth.url, 'listeners', { name: 'Speaker', token: await token({ identity: 'sp', room: 'listeners' }) });
    await joined(speaker, 'the speaker');
    const ear = await openCall(browser, auth.url, 'listeners', { name: 'Ear', token: await token({ identity: 'ear', room: 'listeners', publish: false }) });
    await joined(ear, 'the listener');
    const st = await state(ear);
    expect(st).toMatchObject({ listenOnly: true, local: { audio: false, video: false }, tracks: [] });
    expect(await ear.evaluate(() => window.__gum)).toBe(0);
    expect(st.banners.join(' ')).toMatch(/listen and watch only/);
    expect(await ear.getAttribute('#btn-mic', 'title')).toMatch(/listen and watch only/);
    await waitForPage(speaker, () => window.callpeer!.state().peers[0]?.canPublish === false, undefined, { what: 'the listener shown as such', debug: DEBUG_STATE });
    // It still hears the speaker through the server.
    const speakerId = (await state(speaker)).id;
    await waitForPage(ear, async (id) => ((await window.callpeer!.stats())[id]?.inbound.audio?.packetsReceived ?? 0) > 20, speakerId, { timeoutMs: 15_000, what: 'the speaker heard', debug: DEBUG_STATE });
  });

  it('a kick through the API ends the call on the kicked page for good; the other page sees them go', async () => {
    expect((await api(auth, 'POST', '/api/rooms', { bearer: admin, body: { id: 'kick-room' } })).status).toBe(201);
    const alice = await openCall(browser, auth.url, 'kick-room', { name: 'Alice', token: await token({ identity: 'alice', room: 'kick-room' }) });
    await joined(alice, 'Alice');
    const bob = await openCall(browser, auth.url, 'kick-room', { name: 'Bob', token: await token({ identity: 'bob', room: 'kick-room' }) });
    await joined(bob, 'Bob');
    await seesPeers(alice, 1, 'Alice to see Bob');
    const [aliceId, bobId] = [(await state(alice)).id, (await state(bob)).id];
    expect((await state(bob)).tracks.find((t) => t.kind === 'audio')?.readyState).toBe('live');

    const kick = await api(auth, 'POST', `/api/rooms/kick-room/participants/${bobId}/kick`, { bearer: admin, body: { reason: 'spamming the chat' } });
    expect(kick.status).toBe(204);
    await waitForPage(bob, () => window.callpeer!.state().notice !== null, undefined, { what: 'the removed notice', debug: DEBUG_STATE });
    const st = await state(bob);
    expect(st.notice).toEqual({ title: 'Removed from the call', text: 'You were removed from the call: spamming the chat' });
    expect(st.phase).toBe('removed');
    const mic = st.tracks.filter((t) => t.kind === 'audio');
    expect(mic.length).toBe(1);
    expect(mic[0]!.readyState).toBe('ended');
    expect(st.tracks.every((t) => t.readyState === 'ended')).toBe(true);
    expect(await bob.locator('#notice-actions button', { hasText: 'Back to the lobby' }).count()).toBe(1);
    await screenshot(bob, 'moderation-kicked');

    await seesPeers(alice, 0, 'Bob\'s tile gone from Alice\'s page');
    expect(await alice.locator(`.tile[data-peer="${bobId}"]`).count()).toBe(0);

    // Not back within 3 s (its socket would have been closed after 1 s in no room, then re-joined).
    await sleep(3000);
    expect((await api(auth, 'GET', '/api/rooms/kick-room', { bearer: admin })).body.participants.map((p: { id: string }) => p.id)).toEqual([aliceId]);
    expect(await joinsSent(bob)).toBe(1);
    expect((await state(bob)).signaling).toBe('stopped');
    expect((await state(alice)).peers).toEqual([]);
  });

  it('a server mute turns the microphone off as the mute button does; the muted page can unmute itself', async () => {
    expect((await api(auth, 'POST', '/api/rooms', { bearer: admin, body: { id: 'mute-room', topology: 'sfu' } })).status).toBe(201);
    const alice = await openCall(browser, auth.url, 'mute-room', { name: 'Alice', token: await token({ identity: 'alice', room: 'mute-room' }), query: { raw: '1' } });
    await joined(alice, 'Alice');
    const bob = await openCall(browser, auth.url, 'mute-room', { name: 'Bob', token: await token({ identity: 'bob', room: 'mute-room' }), query: { raw: '1' } });
    await joined(bob, 'Bob');
    const bobId = (await state(bob)).id;
    const packetsFromBob = async () => (await stats(alice))[bobId]?.inbound.audio?.packetsReceived ?? 0;
    await waitForPage(alice, async (id) => ((await window.callpeer!.stats())[id]?.inbound.audio?.packetsReceived ?? 0) > 20, bobId, { timeoutMs: 15_000, what: 'Bob heard', debug: DEBUG_STATE });
    expect(await bob.getAttribute('#btn-mic', 'class')).not.toContain('off');

    expect((await api(auth, 'POST', `/api/rooms/mute-room/participants/${bobId}/mute`, { bearer: admin, body: { audio: false } })).status).toBe(204);
    const toast = await waitForPage(bob, () => {
      const st = window.callpeer!.state();
      return !st.local.audio && document.getElementById('btn-mic')!.classList.contains('off') && st.toast;
    }, undefined, { what: 'Bob\'s mute button shown muted', debug: DEBUG_STATE });
    expect(toast).toBe('A moderator muted your microphone');
    expect((await state(bob)).tracks.find((t) => t.kind === 'audio')).toMatchObject({ enabled: false, readyState: 'live' });
    expect(await bob.getAttribute('#btn-mic', 'title')).toBe('Unmute microphone');
    await waitForPage(alice, (id) => window.callpeer!.state().peers.find((p) => p.id === id)?.audio === false, bobId, { what: 'Bob shown muted on Alice\'s page', debug: DEBUG_STATE });
    expect(await alice.locator(`.tile[data-peer="${bobId}"] .badge.mic-off`).count()).toBe(1);
    // The SFU forwards nothing of his while he is muted.
    await sleep(500);
    const held = await packetsFromBob();
    await sleep(1000);
    expect(await packetsFromBob()).toBe(held);

    // He unmutes himself, with his own button: Alice sees it and hears him again.
    await bob.click('#btn-mic');
    await waitForPage(alice, (id) => window.callpeer!.state().peers.find((p) => p.id === id)?.audio === true, bobId, { what: 'Bob shown unmuted on Alice\'s page', debug: DEBUG_STATE });
    expect((await state(bob)).local.audio).toBe(true);
    expect(await alice.locator(`.tile[data-peer="${bobId}"] .badge.mic-off`).count()).toBe(0);
    await waitForPage(alice, async ([id, n]) => ((await window.callpeer!.stats())[id]?.inbound.audio?.packetsReceived ?? 0) > n + 20, [bobId, held] as const, { what: 'Bob heard again', debug: DEBUG_STATE });
  });

  it('deleting the room ends the call on every page, without a re-join', async () => {
    expect((await api(auth, 'POST', '/api/rooms', { bearer: admin, body: { id: 'closing' } })).status).toBe(201);
    const pages = [
      await openCall(browser, auth.url, 'closing', { name: 'Alice', token: await token({ identity: 'alice', room: 'closing' }) }),
      await openCall(browser, auth.url, 'closing', { name: 'Bob', token: await token({ identity: 'bob', room: 'closing' }) }),
    ];
    for (const p of pages) await joined(p, 'a page');
    await seesPeers(pages[0]!, 1, 'Alice to see Bob');
    expect((await api(auth, 'DELETE', '/api/rooms/closing', { bearer: admin })).status).toBe(204);
    for (const p of pages) {
      await waitForPage(p, () => window.callpeer!.state().notice !== null, undefined, { what: 'the ended notice', debug: DEBUG_STATE });
      const st = await state(p);
      expect(st.notice).toEqual({ title: 'The call has ended', text: 'This call has ended: the room was closed.' });
      expect(st.phase).toBe('ended');
      expect(st.tracks.filter((t) => t.kind === 'audio').map((t) => t.readyState)).toEqual(['ended']);
    }
    // A reconnect would have met ROOM_NOT_FOUND and replaced the notice.
    await sleep(2000);
    for (const p of pages) {
      expect((await state(p)).notice!.text).toBe('This call has ended: the room was closed.');
      expect(await joinsSent(p)).toBe(1);
    }
  });

  it('a guest is labelled on the others\' pages', async () => {
    expect((await api(guests, 'POST', '/api/rooms', { bearer: admin, body: { id: 'open-door' } })).status).toBe(201);
    const alice = await openCall(browser, guests.url, 'open-door', { name: 'Alice', token: await token({ identity: 'alice', room: 'open-door' }) });
    await joined(alice, 'Alice');
    const gus = await openCall(browser, guests.url, 'open-door', { name: 'Gus' });
    await joined(gus, 'the guest');
    await seesPeers(alice, 1, 'Alice to see the guest');
    await seesPeers(gus, 1, 'the guest to see Alice');
    const [aliceId, gusId] = [(await state(alice)).id, (await state(gus)).id];
    expect((await state(alice)).peers[0]).toMatchObject({ id: gusId, name: 'Gus', guest: true, identity: null });
    const label = (page: Page, id: string) => page.evaluate((peer) => document.querySelector(`.tile[data-peer="${peer}"] .nameplate .role`)?.textContent ?? null, id);
    expect(await label(alice, gusId)).toBe('guest');
    // Alice came with a token: no label on the guest's page.
    expect((await state(gus)).peers[0]).toMatchObject({ id: aliceId, guest: false, identity: 'alice' });
    expect(await label(gus, aliceId)).toBe(null);
  });

  it('the lobby creates an SFU room with a capacity from its form and joins it; 409 and 400 are said', async () => {
    const page = await newPage(browser, `${open.url}/`);
    await waitForPage(page, () => document.documentElement.dataset.roomApi, undefined, { what: 'the room API check' });
    expect(await page.isVisible('#create-form')).toBe(true);

    expect((await api(open, 'POST', '/api/rooms', { body: { id: 'taken' } })).status).toBe(201);
    await page.fill('#name', 'Grace');
    await page.fill('#create-id', 'taken');
    await page.click('#create');
    await waitForPage(page, () => /exists/.test(document.getElementById('create-hint')!.textContent ?? ''), undefined, { what: 'the 409 message' });
    expect(await page.textContent('#create-hint')).toBe('Not created: a room with that id exists already. Pick another name, or join that room with the form above.');
    await screenshot(page, 'lobby-create-form');

    await page.fill('#create-id', 'sfu-three');
    await page.fill('#create-capacity', '5000');
    await page.click('#create');
    await waitForPage(page, () => /maxMembers/.test(document.getElementById('create-hint')!.textContent ?? ''), undefined, { what: 'the 400 message' });
    expect(await page.textContent('#create-hint')).toMatch(/^Not created: "maxMembers" must be a whole number from 1 to 1000\.$/);
    expect((await api(open, 'GET', '/api/rooms/sfu-three')).status).toBe(404);

    await page.fill('#create-capacity', '3');
    await page.selectOption('#create-topology', 'sfu');
    await page.click('#create');
    await page.waitForURL(/\/r\/sfu-three\?name=Grace$/);
    await joined(page, 'the page');
    const st = (await state(page)) as Awaited<ReturnType<typeof state>> & { topology: string };
    expect(st).toMatchObject({ topology: 'sfu', maxMembers: 3, name: 'Grace' });
    expect((await api(open, 'GET', '/api/rooms/sfu-three')).body).toMatchObject({ topology: 'sfu', maxMembers: 3 });
  });

  it('with auth on the lobby hides the create form', async () => {
    const page = await newPage(browser, `${auth.url}/`);
    await waitForPage(page, () => document.documentElement.dataset.roomApi, undefined, { what: 'the room API check' });
    expect(await page.evaluate(() => document.documentElement.dataset.roomApi)).toBe('closed');
    expect(await page.isVisible('#create-form')).toBe(false);
    expect(await page.isVisible('#join-form')).toBe(true);
    expect(browser.pageErrors).toEqual([]);
  });
});
