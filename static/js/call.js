// The call page: joins the room in the URL, keeps its media connections (links.js: a PeerLink
// per remote participant in a mesh, one SfuLink to the server in an SFU room), and drives the
// UI. `window.callpeer` is a read-only hook for tests and curious people.
import { ChatPanel } from './chat.js';
import { grantedName, joinRefusal, joinToken, tokenClaims } from './join-token.js';
import { LISTEN_ONLY_NOTE, LocalMedia } from './local-media.js';
import { wireControls, renderControls } from './controls.js';
import { createHook } from './hook.js';
import { LevelMeters, resumeAudio } from './media.js';
import { LinkStats } from './link-stats.js';
import { MediaLinks } from './links.js';
import { applyServerMute, removedNotice, serverMuteText } from './moderation.js';
import { loweredText, ownQualityText } from './quality-view.js';
import { SendAdapter } from './adapt.js';
import { cameraConstraints } from './media-settings.js';
import { copyText, rememberRoom, roomUrl } from './rooms.js';
import { SERVER } from './sfu.js';
import { SfuView } from './sfu-view.js';
import { Signaling, signalingUrl } from './signaling.js';
import {
  $, Tile, bannerTexts, clearBanner, fillIcons, hideNotice, layoutGrid, renderInvite, renderPeople, setStatus, showBanner, showNotice,
  toast,
} from './ui.js';

const params = new URLSearchParams(location.search);
const roomId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
/** The invitation's join token ('' = none), kept for every (re-)join; its claims only shape the page. */
const token = joinToken();
const claims = tokenClaims(token);

/** How long a peer may take to connect before the page says why it might not, ms (tests may lower it). */
const CONNECT_TIMEOUT_MS = Number(window.CALLPEER_CONNECT_TIMEOUT_MS) || 15_000;

/** How often connection quality is measured, ms. */
const QUALITY_INTERVAL_MS = 2000;

/** How often each connection's getStats() is read for `stats` reports (mesh) and the quality cards, ms (PROTOCOL.md: every 2-5 s). */
const STATS_INTERVAL_MS = 2000;

/** A server reading older than this is dropped from its tile (the server sends one every 2 s while anyone measures). */
const SIGNAL_STALE_MS = 10_000;

/**
 * The banner about our own connection waits this long after we join, ms: a new call ramps up
 * (encoders start low, first key frames come in bursts), which reads as low bitrate and video
 * jitter for its first 10-15 s even on a perfect network.
 */
const OWN_QUALITY_GRACE_MS = 15_000;

const s = {
  /** prejoin | joining | joined | reconnecting | full | left | error | removed (kicked) | ended (room closed) */
  phase: 'prejoin',
  selfId: '',
  name: '',
  maxMembers: 0,
  iceServers: [],
  /** 'mesh' | 'sfu', from `joined`. */
  topology: 'mesh',
  /** The server's media settings (`joined.room.media`), if it sends them. */
  media: undefined,
  error: undefined,
  participants: new Map(),
  /** Peer connections by remote id: participants (mesh), or the one SfuLink under SERVER. */
  links: new Map(),
  tiles: new Map(),
  linkStates: new Map(),
  /** Tile id the user pinned big, if any. */
  pinned: undefined,
  /** Audio output for remote streams ('' = default). */
  speaker: '',
};
const meters = new LevelMeters();
const local = new LocalMedia({
  sendTrack: (kind, track) => Promise.all([...s.links.values()].map((l) => l.setTrack(kind, track))),
  changed: () => {
    signaling.send({ type: 'media', ...local.state });
    refreshControls();
    if (s.phase === 'prejoin') return refreshPreview();
    refreshLocalTile();
    renderSide();
  },
});

const signaling = new Signaling(signalingUrl());
const links = new MediaLinks({
  s, local, send: (m) => signaling.send(m), changed: () => renderSide(), connectTimeoutMs: CONNECT_TIMEOUT_MS, serverOffered: () => sfuView.refresh(),
});
const grid = $('grid');
const sfuView = new SfuView({
  s, send: (m) => signaling.send(m), connected: () => s.links.get(SERVER)?.offered === true, hidden: () => document.hidden,
});
/** Mesh: each connection's video steps down on a lossy or slow link (tests may shorten the wait to step up, ms). */
const adapter = new SendAdapter({
  media: () => s.media, changed: () => renderOwnBanner(), options: Number(window.CALLPEER_ADAPT_UP_MS) ? { upAfterMs: Number(window.CALLPEER_ADAPT_UP_MS) } : {},
});
const linkStats = new LinkStats({
  s, send: (m) => signaling.send(m), video: (id, v) => s.tiles.get(id)?.setVideoSize(v), sampled: (link, report) => adapter.sample(link, report),
});
const chat = new ChatPanel({
  list: $('messages'), form: $('chat-form'), input: $('chat-input'), unread: $('unread'),
  send: (text) => signaling.send({ type: 'chat', text }),
  isVisible: () => !$('side').hidden && !$('panel-chat').hidden,
});

// ---- participants and tiles ----

function selfParticipant() {
  return { id: s.selfId || 'self', name: s.name, role: 'participant', canPublish: !local.listenOnly, ...local.state };
}

function refreshLocalTile() {
  let tile = s.tiles.get('self');
  if (!tile) {
    tile = new Tile(selfParticipant(), { local: true });
    makePinnable('self', tile);
    s.tiles.set('self', tile);
    grid.prepend(tile.root);
  }
  tile.update(selfParticipant());
  // A new srcObject only when the track changed (a new one restarts playback: a flicker).
  // None without video: an empty stream would hold the page's load event forever.
  const v = local.video;
  if (tile.video.srcObject?.getVideoTracks()[0] !== v) tile.setStream(v ? new MediaStream([v]) : null);
  relayout();
}

function upsertParticipant(p) {
  s.participants.set(p.id, p);
  let tile = s.tiles.get(p.id);
  if (!tile) {
    tile = new Tile(p);
    makePinnable(p.id, tile);
    if (s.speaker) tile.video.setSinkId?.(s.speaker).catch(() => {});
    tile.setStatus('Connecting…');
    s.tiles.set(p.id, tile);
    grid.append(tile.root);
    sfuView.observe(tile);
    links.adopt(p.id);
  }
  tile.update(p);
  relayout();
  renderSide();
}

function removeParticipant(id) {
  s.participants.delete(id);
  links.drop(id);
  meters.drop(id);
  if (s.tiles.has(id)) sfuView.forget(s.tiles.get(id));
  s.tiles.get(id)?.destroy();
  s.tiles.delete(id);
  relayout();
  renderSide();
}

function clearRemotes() {
  for (const id of [...s.participants.keys()]) removeParticipant(id);
  links.closeServer();
}

/** The pinned participant, else the first one sharing a screen, gets the big tile. */
function refreshSpotlight() {
  const pinned = s.pinned !== undefined && s.tiles.has(s.pinned) ? s.pinned : undefined;
  const id = pinned ?? [...s.participants.values()].find((p) => p.screen)?.id;
  for (const [tid, tile] of s.tiles) tile.root.classList.toggle('spotlight', tid === id);
  grid.classList.toggle('spotlit', id !== undefined && s.tiles.size > 1);
  return id;
}

function relayout() {
  // While nobody else is here, an invite card sits next to our own tile.
  renderInvite(grid, s.phase === 'joined' && s.participants.size === 0, roomUrl(roomId), () => $('copy-link').click());
  refreshSpotlight();
  layoutGrid(grid);
  sfuView.refresh();
}

/** A click on a tile pins it big; another click unpins. */
function makePinnable(id, tile) {
  tile.root.title = 'Click to pin';
  tile.root.tabIndex = 0;
  const toggle = () => {
    s.pinned = s.pinned === id ? undefined : id;
    relayout();
  };
  tile.root.addEventListener('click', toggle);
  tile.root.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    toggle();
  });
}

function renderSide() {
  const everyone = [{ participant: selfParticipant(), you: true, state: '' }];
  for (const p of s.participants.values()) {
    const st = s.linkStates.get(p.id);
    everyone.push({ participant: p, you: false, state: st === 'connected' || !st ? '' : st });
  }
  renderPeople($('people'), everyone);
  $('tab-people').textContent = `People (${everyone.length})`;
  const recording = [...s.participants.values()].some((p) => p.role === 'recorder');
  $('recording').hidden = !recording;
}

// ---- signaling ----

function sendJoin() {
  const join = { type: 'join', room: roomId, name: s.name, audio: local.state.audio, video: local.state.video };
  if (token) join.token = token;
  signaling.send(join);
}

signaling.addEventListener('open', () => {
  s.phase = s.phase === 'reconnecting' ? 'reconnecting' : 'joining';
  sendJoin();
});

signaling.addEventListener('down', (e) => {
  if (s.phase !== 'joined' && s.phase !== 'joining' && s.phase !== 'reconnecting') return;
  s.phase = 'reconnecting';
  const { code, retryInMs } = e.detail;
  setStatus('warn', 'Reconnecting');
  const why = code === 1001 ? 'The server is restarting.' : 'Lost the connection to the server.';
  // Mesh media goes peer to peer and carries on; in an SFU room it went through the server.
  const media = s.topology === 'sfu' ? 'The call resumes when it is back.' : 'People already connected can still hear and see you.';
  showBanner('server', `${why} Reconnecting… (next try in ${Math.ceil(retryInMs / 1000)} s). ${media}`);
});

signaling.addEventListener('message', (e) => {
  const m = e.detail;
  switch (m.type) {
    case 'joined': return onJoined(m);
    case 'peer-joined':
      toast(`${m.participant.name} joined`);
      return upsertParticipant(m.participant);
    case 'peer-updated': return upsertParticipant(m.participant);
    case 'peer-left':
      if (s.participants.has(m.id)) toast(`${s.participants.get(m.id).name} left`);
      return removeParticipant(m.id);
    case 'offer': {
      // In an SFU room only the server offers, on the link we opened.
      if (s.topology === 'sfu') return s.links.get(m.from)?.description('offer', m.sdp);
      const p = s.participants.get(m.from) ?? { id: m.from, name: 'Guest', role: 'participant' };
      const link = s.links.get(m.from) ?? links.mesh(p, false);
      return link.description('offer', m.sdp);
    }
    case 'answer': return s.links.get(m.from)?.description('answer', m.sdp);
    case 'candidate': return s.links.get(m.from)?.candidate(m.candidate, m.mid);
    case 'tracks':
      links.pruneTracks(new Set(m.tracks.map((t) => t.id)));
      return sfuView.onTracks(m.tracks);
    case 'layer': return sfuView.onLayer(m);
    case 'publish-layers': return s.links.get(SERVER)?.setPublishLayers(m.active);
    case 'chat': return chat.add(m);
    case 'quality': return onQuality(m);
    case 'kicked':
    case 'room-closed': return endCall(m.type === 'kicked' ? 'removed' : 'ended', removedNotice(m));
    case 'muted-by-server':
      complain(serverMuteText(m));
      return applyServerMute(local, m);
    case 'error': return onError(m);
    default: return undefined;
  }
});

function onJoined(m) {
  rememberRoom(roomId);
  // A (re)join starts over: ids changed, so old connections are of no use.
  clearRemotes();
  sfuView.onTracks([]);
  s.phase = 'joined';
  s.selfId = m.id;
  chat.selfId = m.id;
  s.maxMembers = m.room.maxMembers;
  s.iceServers = Array.isArray(m.iceServers) ? m.iceServers : [];
  s.topology = m.room.topology === 'sfu' ? 'sfu' : 'mesh';
  s.media = m.room.media;
  // The server's largest picture and frame rate: the camera captures no more (every link sends it).
  const limits = cameraConstraints(s.media);
  if (limits) local.camera?.applyConstraints(limits).catch(() => {});
  clearBanner('server');
  // Readings of our old self no longer apply.
  clearBanner('quality');
  ownBanner.warnings = '';
  ownBanner.text = '';
  ownBanner.reading = undefined;
  ownBanner.quietUntil = performance.now() + OWN_QUALITY_GRACE_MS;
  s.tiles.get('self')?.setSignal(undefined);
  setStatus('good', 'Connected');
  $('topology').hidden = s.topology !== 'sfu';
  refreshLocalTile();
  for (const p of m.participants) {
    upsertParticipant(p);
    if (s.topology === 'mesh') links.mesh(p, true);
  }
  if (s.topology === 'sfu') links.server();
  renderSide();
}

/** The server's reading of someone's connection (ours too): their tile's bars, and our banner. */
function onQuality(q) {
  const own = q.id === s.selfId;
  s.tiles.get(own ? 'self' : q.id)?.setSignal(q);
  if (own) showOwnQuality(q);
}

/**
 * The banner about our own connection as last shown: its warnings and text ('' = none); the
 * server's last reading of us (none before `quietUntil`).
 */
const ownBanner = { warnings: '', text: '', quietUntil: 0, reading: undefined };

function showOwnQuality(q) {
  if (performance.now() < ownBanner.quietUntil) return;
  ownBanner.reading = q;
  renderOwnBanner();
}

/**
 * Our lowered video (adapt.js), else our reading's warnings, in plain words; gone when they
 * clear. Lowering is our own doing, so it shows even in the first seconds of a call. Closed by
 * hand, the banner stays away until what it says changes.
 */
function renderOwnBanner() {
  const lowered = adapter.reason();
  const text = lowered ? loweredText(lowered) : ownBanner.reading ? ownQualityText(ownBanner.reading) : '';
  const warnings = lowered ? `lowered-${lowered}` : ownBanner.reading?.warnings.join() ?? '';
  const dismissed = ownBanner.text !== '' && !bannerTexts().includes(ownBanner.text);
  if (!text) {
    clearBanner('quality');
    ownBanner.warnings = '';
    ownBanner.text = '';
    return;
  }
  if (dismissed && warnings === ownBanner.warnings) return;
  ownBanner.warnings = warnings;
  if (text === ownBanner.text && !dismissed) return;
  ownBanner.text = text;
  showBanner('quality', text);
}

function onError(m) {
  if (m.ref === 'join' && m.code === 'ROOM_FULL') {
    s.phase = 'full';
    s.error = { code: m.code, message: m.message };
    signaling.stop();
    setStatus('bad', 'Room full');
    showNotice({
      title: 'This room is full',
      text: `"${roomId}" already has as many people as it allows. Try again in a little while, or start a new room.`,
      actions: [{ label: 'Try again', onClick: () => location.reload() }, { label: 'New room', primary: true, onClick: () => location.assign('/') }],
    });
  } else if (m.ref === 'join') {
    // Refused (no valid token, no such room...): stop here, a retry would only be refused again.
    s.phase = 'error';
    s.error = { code: m.code, message: m.message };
    signaling.stop();
    setStatus('bad', 'Not joined');
    const { title, text } = joinRefusal(m.code, m.message, token !== '');
    showNotice({ title, text, actions: [{ label: 'Back to the lobby', primary: true, onClick: () => location.assign('/') }] });
  } else if (s.topology === 'sfu' && ['offer', 'answer', 'candidate'].includes(m.ref) && s.links.has(SERVER)) {
    // The server refused our side of the negotiation: the hook reports it as the link's error.
    s.links.get(SERVER).lastError = `${m.code}: ${m.message}`;
  } else if (m.code === 'RATE_LIMITED' || m.code === 'MESSAGE_TOO_LARGE') {
    toast(m.ref === 'chat' ? 'That message was not sent: slow down or make it shorter.' : 'Too many actions at once; slow down.');
  }
}

// ---- controls ----

const complain = (text) => { if (text) toast(text); };
wireControls({
  local,
  complain,
  relayout,
  markChatRead: () => chat.markRead(),
  speaker: () => s.speaker,
  useSpeaker: (deviceId) => {
    s.speaker = deviceId;
    for (const [id, tile] of s.tiles) if (id !== 'self') tile.video.setSinkId?.(deviceId).catch(() => complain('That speaker could not be used.'));
  },
});
const refreshControls = () => renderControls(local);

$('btn-leave').onclick = () => leave();

/** Ends the call on this page for good: no reconnect, connections closed, camera and microphone released. */
function hangUp(phase) {
  signaling.stop();
  clearRemotes();
  local.stopAll();
  s.phase = phase;
}

function leave() {
  signaling.send({ type: 'leave' });
  hangUp('left');
  setStatus('', 'Left');
  showNotice({
    icon: 'leave', title: 'You left the call', text: `Thanks for calling. The link to this room stays valid: ${roomUrl(roomId)}`,
    actions: [{ label: 'Rejoin', onClick: () => location.reload() }, { label: 'Back to the lobby', primary: true, onClick: () => location.assign('/') }],
  });
}

/** The server put us out (`kicked`, `room-closed`): said in plain words, and no re-join. */
function endCall(phase, { title, text }) {
  hangUp(phase);
  s.error = { code: phase === 'removed' ? 'KICKED' : 'ROOM_CLOSED', message: text };
  setStatus('bad', phase === 'removed' ? 'Removed' : 'Call ended');
  showNotice({ icon: 'leave', title, text, actions: [{ label: 'Back to the lobby', primary: true, onClick: () => location.assign('/') }] });
}

$('copy-link').onclick = async () => {
  toast((await copyText(roomUrl(roomId))) ? 'Invite link copied' : roomUrl(roomId));
};

// ---- audio levels (and video liveness, on the same 100 ms tick) ----

function tickLevels() {
  for (const [id, tile] of s.tiles) {
    tile.setLevel(meters.measure(id, id === 'self' ? local.mic : tile.video.srcObject?.getAudioTracks()[0]));
    tile.refreshVideo();
  }
}

// ---- test hook ----

window.callpeer = createHook({ s, local, meters, chat, signaling, grid, roomId, sfuView, linkStats, adapter });

// ---- start ----

let devicesReady;

async function start(name) {
  // A name the token grants is the one the server uses: show the same.
  s.name = grantedName(claims) || name.trim().slice(0, 64);
  if (!grantedName(claims)) localStorage.setItem('callpeer.name', s.name);
  $('prejoin').hidden = true;
  resumeAudio();
  setStatus('warn', 'Connecting');
  s.phase = 'joining';
  await devicesReady;
  refreshControls();
  refreshLocalTile();
  signaling.connect();
}

function showDevices(dev) {
  if (dev.note) showBanner('devices', dev.note);
  refreshControls();
  return dev;
}

function refreshPreview() {
  const cam = local.camera;
  $('preview').srcObject = cam ? new MediaStream([cam]) : null;
  $('preview-note').hidden = Boolean(cam);
  $('preview-note').textContent = cam ? '' : (local.devices.video ? 'Your camera is off' : local.devices.note || 'No camera');
}

function init() {
  fillIcons();
  $('room-name').textContent = roomId;
  document.title = `${roomId} · callpeer`;
  refreshControls();
  new ResizeObserver(relayout).observe(grid);
  setInterval(tickLevels, 100);
  setInterval(() => links.tickQuality(), QUALITY_INTERVAL_MS);
  setInterval(() => {
    adapter.prune(new Set(s.links.keys()));
    linkStats.tick();
    for (const tile of s.tiles.values()) tile.expireSignal(SIGNAL_STALE_MS);
  }, STATS_INTERVAL_MS);
  hideNotice();
  // A token with `publish: false`: the page opens no device and joins to listen only.
  const opening = claims.publish === false ? local.openNone(`Your camera and microphone stay off: ${LISTEN_ONLY_NOTE}.`) : local.open({ raw: params.get('raw') === '1' });
  devicesReady = opening.then(showDevices);

  const given = params.get('name');
  if (given) {
    start(given);
    return;
  }
  $('prejoin').hidden = false;
  $('prejoin-title').textContent = `Join ${roomId}`;
  $('prejoin-name').value = grantedName(claims) || (localStorage.getItem('callpeer.name') ?? '');
  $('prejoin-name').readOnly = grantedName(claims) !== '';
  $('prejoin-name').focus();
  $('prejoin-form').onsubmit = (e) => {
    e.preventDefault();
    const name = $('prejoin-name').value.trim();
    if (name) start(name);
  };
  devicesReady.then(refreshPreview);
}

document.addEventListener('callpeer:sound-blocked', () => {
  showBanner('sound', 'Your browser holds back sound until you interact with the page: click anywhere to hear the others.');
  document.addEventListener('click', () => clearBanner('sound'), { once: true });
});
window.addEventListener('pagehide', () => signaling.send({ type: 'leave' }));
document.addEventListener('visibilitychange', () => sfuView.refresh());
init();
