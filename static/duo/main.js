// The /duo page: pairs with one other person over /ws/pcm and talks, audio only.
// Tests read it through `window.duo` (state, stats, and what the speakers played).
import { copyText, randomInviteCode, ROOM_ID_PATTERN } from '../js/rooms.js';
import { $, bannerTexts, clearBanner, fillIcons, showBanner, toast } from '../js/ui.js';
import { DuoAudio, SAMPLE_RATE } from './audio.js';
import { createCodec, opusAvailable } from './codec.js';
import { DuoConnection, pcmSocketUrl } from './connection.js';
import { meterLevel, render, renderLevels } from './view.js';

/** Unsent bytes in the socket beyond this mean the network lags: frames are skipped, not queued. */
const MAX_BUFFERED_BYTES = 64 * 1024;

const query = new URLSearchParams(location.search);
const raw = query.get('raw') === '1';
const token = query.get('token') ?? undefined;

const s = {
  /** idle | starting | connecting | waiting | connected | reconnecting | error */
  phase: 'idle',
  ready: false,
  opusAvailable: false,
  codec: 'pcm',
  pair: undefined,
  inviteUrl: undefined,
  muted: false,
  peerMuted: false,
  partnerLeft: false,
  /** What the server said we receive: {codec, sampleRate}. */
  receiving: undefined,
  /** {code, text} when the page stopped. */
  error: undefined,
  retryAt: 0,
};
const counters = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, skipped: 0, level: 0 };
let audio;
let codec;
/** Totals of the sessions' codecs that are gone. */
const past = { codecErrors: 0, codecSkipped: 0 };

const conn = new DuoConnection({
  url: () => pcmSocketUrl({ codec: s.codec, rate: SAMPLE_RATE, pair: s.pair, token }),
  opened() {
    if (s.muted) conn.send(JSON.stringify({ type: 'mute', muted: true }));
  },
  message: onMessage,
  audio(buf) {
    counters.framesReceived++;
    counters.bytesReceived += buf.byteLength;
    codec?.decode(buf);
  },
  lost(retry, err) {
    endSession();
    if (retry) {
      set({ phase: 'reconnecting', retryAt: Date.now() + retry.inMs });
    } else {
      // The card says it; a banner with the same words would only repeat it.
      clearBanner('server-error');
      void stop({ code: err.code, text: errorText(err) });
    }
  },
});

function set(patch) {
  Object.assign(s, patch);
  render(s);
}

function onMessage(msg) {
  switch (msg.type) {
    case 'waiting':
      set({ phase: 'waiting' });
      break;
    case 'connected':
      endSession();
      codec = createCodec(msg.codec, { sampleRate: msg.sampleRate, send, play: (samples) => audio?.play(samples) });
      set({ phase: 'connected', partnerLeft: false, peerMuted: false, receiving: { codec: msg.codec, sampleRate: msg.sampleRate } });
      break;
    case 'disconnected':
      endSession();
      set({ phase: 'waiting', partnerLeft: true, peerMuted: false });
      break;
    case 'peer-muted':
      audio?.pause(msg.muted === true);
      set({ peerMuted: msg.muted === true });
      break;
    case 'error':
      // A refusal then closes the socket and stops the page (`lost`); a bad frame does not.
      showBanner('server-error', errorText(msg), 'bad');
      break;
  }
}

function errorText(err) {
  switch (err.code) {
    case 'PAIR_FULL': return 'Two people are already talking with this invite link. Ask for a new link, or create your own invite.';
    case 'INVALID_MESSAGE': return `The server did not accept this page's request: ${err.message}.`;
    default: return `The server reported a problem (${err.code}): ${err.message}.`;
  }
}

/** One 20 ms microphone frame from the capture worklet. */
function onFrame(frame, rms) {
  counters.level = rms;
  if (s.phase !== 'connected' || s.muted || !codec || !conn.open) return;
  if (conn.buffered > MAX_BUFFERED_BYTES) return void counters.skipped++;
  codec.encode(frame);
}

function send(bytes) {
  if (!conn.open) return;
  conn.send(bytes);
  counters.framesSent++;
  counters.bytesSent += bytes.byteLength;
}

/** The pair (or the socket) ended: drop its codec and whatever it left in the jitter buffer. */
function endSession() {
  if (codec) {
    past.codecErrors += codec.errors;
    past.codecSkipped += codec.skipped;
  }
  codec?.close();
  codec = undefined;
  audio?.clear();
}

async function start() {
  clearBanner('server-error');
  set({ phase: 'starting', error: undefined, partnerLeft: false });
  try {
    audio = await DuoAudio.open({
      raw,
      onFrame,
      onEnded: () => void stop({ code: 'MICROPHONE', text: 'The microphone stopped (unplugged, or turned off for this site). Press Start again when it is back.' }),
    });
  } catch (err) {
    set({ phase: 'error', error: { code: 'MICROPHONE', text: err.message } });
    return;
  }
  set({ phase: 'connecting' });
  conn.connect();
}

async function stop(error) {
  conn.stop();
  endSession();
  const a = audio;
  audio = undefined;
  counters.level = 0;
  set({ phase: error ? 'error' : 'idle', error, peerMuted: false, partnerLeft: false, receiving: undefined });
  await a?.close();
}

/** A new codec or invite code while active: reconnect with it (the partner sees us leave). */
function reconnect() {
  if (s.phase === 'idle' || s.phase === 'error' || s.phase === 'starting') return;
  endSession();
  set({ phase: 'connecting', partnerLeft: false, peerMuted: false });
  conn.connect();
}

function setPair(code) {
  const url = new URL(location.href);
  url.searchParams.set('pair', code);
  history.replaceState(null, '', url);
  // The link to share carries only the code: not this page's test or token parameters.
  set({ pair: code, inviteUrl: `${location.origin}/duo?pair=${encodeURIComponent(code)}` });
}

function toggleMute() {
  if (s.phase === 'idle' || s.phase === 'error') return;
  set({ muted: !s.muted });
  conn.send(JSON.stringify({ type: 'mute', muted: s.muted }));
}

// ---- wiring ----
fillIcons();
$('start').addEventListener('click', () => void start());
$('btn-leave').addEventListener('click', () => void stop());
$('btn-mic').addEventListener('click', toggleMute);
document.addEventListener('keydown', (e) => {
  if (e.key.toLowerCase() === 'm' && !e.ctrlKey && !e.metaKey && !e.altKey && !(e.target instanceof HTMLInputElement)) toggleMute();
});
for (const input of document.querySelectorAll('input[name="codec"]')) {
  input.addEventListener('change', () => {
    if (!input.checked || input.value === s.codec) return;
    localStorage.setItem('callpeer.duo.codec', input.value);
    set({ codec: input.value });
    reconnect();
  });
}
$('create-invite').addEventListener('click', () => {
  setPair(randomInviteCode());
  reconnect();
});
$('copy-invite').addEventListener('click', async () => {
  toast((await copyText(s.inviteUrl)) ? 'Invite link copied' : 'Copy the link by hand: select it and press Ctrl+C');
});
window.addEventListener('pagehide', () => conn.stop());
// Back online: no need to sit out the rest of the backoff.
window.addEventListener('online', () => { if (s.phase === 'reconnecting') conn.connect(); });
document.addEventListener('pointerdown', () => audio?.resume());
// Meters and the reconnect countdown move on their own clock.
setInterval(() => {
  const play = audio?.playStats;
  const connected = s.phase === 'connected' && play;
  const partnerLevel = connected ? meterLevel(play.level) : 0;
  // What the line does, for the curious: how much audio waits to play, and gaps so far.
  const line = connected ? `${Math.round(play.bufferedMs)} ms buffered · ${play.underruns} ${play.underruns === 1 ? 'gap' : 'gaps'} · ${Math.round(play.droppedMs)} ms skipped to catch up` : '';
  renderLevels(s.muted ? 0 : meterLevel(counters.level), partnerLevel, partnerLevel > 0.35, line);
  if (s.phase === 'reconnecting') render(s);
}, 100);

const invited = query.get('pair');
if (invited !== null) {
  if (ROOM_ID_PATTERN.test(invited)) setPair(invited);
  else showBanner('bad-invite', 'This invite link is broken (its code has characters codes cannot have). Ask for a new link, or create your own invite.', 'bad');
}
render(s);

const opus = await opusAvailable(SAMPLE_RATE);
const wanted = query.get('codec') ?? localStorage.getItem('callpeer.duo.codec') ?? 'opus';
set({ ready: true, opusAvailable: opus, codec: wanted === 'opus' && opus ? 'opus' : 'pcm' });

window.duo = Object.freeze({
  state: () => ({
    phase: s.phase, codec: s.codec, opusAvailable: s.opusAvailable, pair: s.pair ?? null, inviteUrl: s.inviteUrl ?? null,
    muted: s.muted, peerMuted: s.peerMuted, partnerLeft: s.partnerLeft, receiving: s.receiving ?? null,
    error: s.error ?? null, status: $('status-text').textContent, banners: bannerTexts(),
  }),
  stats: () => {
    const play = audio?.playStats ?? { bufferedMs: 0, cushionMs: 0, playbackRate: 1, underruns: 0, droppedMs: 0, playedMs: 0, level: 0 };
    return {
      ...counters, codecErrors: past.codecErrors + (codec?.errors ?? 0), codecSkipped: past.codecSkipped + (codec?.skipped ?? 0), reconnects: conn.reconnects,
      underruns: play.underruns, droppedMs: play.droppedMs, bufferedMs: play.bufferedMs, cushionMs: play.cushionMs, playbackRate: play.playbackRate, playedMs: play.playedMs, partnerLevel: play.level,
    };
  },
  /** The next `ms` of what the speakers played, as plain numbers. */
  heard: async (ms = 400) => {
    const samples = audio ? await audio.tap(ms) : new Float32Array(0);
    return { sampleRate: SAMPLE_RATE, samples: Array.from(samples) };
  },
});
