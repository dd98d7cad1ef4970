// Rendering for the call page: video tiles, the grid, the people list, banners and dialogs.
import { gridShape } from './grid-layout.js';
import { colorFor, icons, initials, roleIcon } from './icons.js';
import { qualityCard } from './quality-card.js';
import { cardRows, signalBars, signalWord, warningWords } from './quality-view.js';

export const $ = (id) => document.getElementById(id);

export function fillIcons(root = document) {
  for (const el of root.querySelectorAll('[data-icon]')) el.innerHTML = icons[el.dataset.icon] ?? '';
}

function el(tag, cls, html) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (html !== undefined) e.innerHTML = html;
  return e;
}

const ROLE_LABEL = { bot: 'bot', recorder: 'recorder', phone: 'phone' };

/**
 * One participant's tile: video (or an avatar), name, mute/camera badges, level bars. A phone
 * (a PCM or phone-stream client of the gateway: audio only) shows a phone icon for its avatar.
 */
export class Tile {
  constructor(participant, { local = false } = {}) {
    this.id = participant.id;
    this.local = local;
    this.frames = 0;
    this.lastFrameAt = undefined;
    this.root = el('div', `tile${local ? ' local' : ''}`);
    this.root.dataset.peer = participant.id;
    this.video = el('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = local; // our own voice must not come back to us
    this.avatar = el('div', 'avatar', '<span></span>');
    this.status = el('div', 'status');
    this.status.hidden = true;
    this.badges = el('div', 'badges');
    this.plate = el('div', 'nameplate', '<span class="level"><i></i><i></i><i></i></span><span class="name"></span>');
    /** SFU rooms: the camera in a corner while the tile shows this participant's screen. */
    this.pip = el('video', 'pip');
    this.pip.autoplay = true;
    this.pip.playsInline = true;
    this.pip.muted = true;
    this.pip.hidden = true;
    /** SFU rooms: the forwarded camera and screen tracks, each shown apart. */
    this.videos = { camera: undefined, screen: undefined };
    this.root.append(this.video, this.pip, this.avatar, this.status, this.badges, this.plate);
    this.countFrames();
    this.update(participant);
  }

  /** Counts presented frames so tests (and the "no video" fallback) know video really plays. */
  countFrames() {
    if (!('requestVideoFrameCallback' in HTMLVideoElement.prototype)) return;
    const tick = () => {
      this.frames++;
      this.lastFrameAt = performance.now();
      if (this.root.classList.contains('novideo')) this.refreshVideo();
      this.video.requestVideoFrameCallback(tick);
    };
    this.video.requestVideoFrameCallback(tick);
  }

  update(p) {
    this.participant = p;
    const label = `${p.name}${this.local ? ' (you)' : ''}${p.screen ? ' · presenting' : ''}`;
    this.plate.querySelector('.name').textContent = label;
    // A guest (let in without a token, `--allow-guests`) is labelled so others know who is who.
    const role = ROLE_LABEL[p.role] ?? (p.guest ? 'guest' : undefined);
    let roleEl = this.plate.querySelector('.role');
    if (role && !roleEl) {
      roleEl = el('span', 'role');
      this.plate.append(roleEl);
    }
    if (roleEl) roleEl.textContent = role ?? '';
    const av = this.avatar.firstElementChild;
    const icon = roleIcon(p.role);
    if (icon) av.innerHTML = icon;
    else av.textContent = initials(p.name);
    this.root.classList.toggle('phone', p.role === 'phone');
    av.style.background = colorFor(p.name);
    for (const b of this.badges.querySelectorAll('.badge:not(.signal):not(.layer)')) b.remove();
    if (!p.audio) this.badges.append(el('span', 'badge off mic-off', icons.micOff));
    if (p.screen) this.badges.append(el('span', 'badge screen-on', icons.screen));
    this.root.classList.toggle('muted', !p.audio);
    this.root.classList.toggle('screen', Boolean(p.screen));
    this.plate.querySelector('.level').classList.toggle('muted', !p.audio);
    this.refreshVideo();
  }

  setStream(stream) {
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    if (stream) this.play();
    this.refreshVideo();
  }

  /**
   * SFU rooms: sets this participant's camera or screen track (`undefined`: gone, if it is still
   * `was`). The screen fills the tile with the camera in a corner; else the camera fills it.
   */
  setVideo(source, track, was = this.videos[source]) {
    if (this.videos[source] !== was) return;
    this.videos[source] = track;
    const { camera, screen } = this.videos;
    const main = screen ?? camera;
    const audio = this.video.srcObject?.getAudioTracks() ?? [];
    if (this.video.srcObject?.getVideoTracks()[0] !== main) this.setStream(new MediaStream([...audio, ...(main ? [main] : [])]));
    const corner = screen ? camera : undefined;
    if (this.pip.srcObject?.getVideoTracks()[0] !== corner) this.pip.srcObject = corner ? new MediaStream([corner]) : null;
    this.pip.hidden = !corner;
    this.refreshVideo();
  }

  /** SFU rooms: which simulcast layer of the camera the server forwards (`low`, `medium`, `high`). */
  setLayer(quality) {
    let badge = this.badges.querySelector('.layer');
    if (!badge) {
      badge = el('span', 'badge layer');
      this.badges.append(badge);
    }
    badge.textContent = quality[0].toUpperCase();
    badge.title = `Receiving the ${quality} quality layer of this camera`;
    badge.dataset.quality = quality;
  }

  play() {
    this.video.play().catch((err) => {
      // Autoplay with sound was refused: play muted now, unmute on the first click anywhere.
      // (An AbortError only means a newer stream replaced this one.)
      if (this.local || err?.name !== 'NotAllowedError') return;
      this.video.muted = true;
      this.video.play().catch(() => {});
      document.dispatchEvent(new Event('callpeer:sound-blocked'));
      document.addEventListener('click', () => { this.video.muted = false; }, { once: true });
    });
  }

  /**
   * Shows the avatar when the participant sends no live video (camera off, audio-only bot).
   * Frames actually shown count as live too: `muted` can lag behind after a renegotiation.
   */
  refreshVideo() {
    const p = this.participant;
    const track = this.video.srcObject?.getVideoTracks().find((t) => t.readyState === 'live');
    const wants = Boolean(p.video || p.screen);
    const recentFrames = performance.now() - (this.lastFrameAt ?? -Infinity) < 1000;
    const live = Boolean(track) && (this.local || !track.muted || recentFrames);
    this.root.classList.toggle('novideo', !(wants && live));
  }

  setLevel(level) {
    this.plate.querySelector('.level').style.setProperty('--l', level.toFixed(2));
    this.root.classList.toggle('speaking', level > 0.12 && this.participant.audio);
  }

  /** The page's own measure of what it receives from this participant (the test hook reports it). */
  setQuality(q) {
    this.quality = q;
  }

  /**
   * The server's reading of this participant's connection (a `quality` message; ours on our own
   * tile), or undefined when there is none: signal bars from its score, and the quality card
   * (quality-card.js) with its figures on hover, focus or a tap of the bars.
   */
  setSignal(q) {
    this.signal = q;
    this.signalAt = performance.now();
    if (!q) {
      qualityCard.hide(this, true);
      this.bars?.remove();
      this.bars = undefined;
      return;
    }
    if (!this.bars) {
      const bars = el('button', 'badge signal', '<i></i><i></i><i></i><i></i>');
      bars.type = 'button';
      bars.title = ''; // not the tile's "Click to pin"
      // The bars are inside the tile: a click or Enter on them must not pin the tile.
      bars.addEventListener('click', (e) => {
        e.stopPropagation();
        qualityCard.toggle(this);
      });
      bars.addEventListener('keydown', (e) => e.stopPropagation());
      bars.addEventListener('mouseenter', () => qualityCard.show(this, false));
      bars.addEventListener('mouseleave', () => qualityCard.hide(this));
      bars.addEventListener('focus', () => qualityCard.show(this, false));
      bars.addEventListener('blur', () => qualityCard.hide(this));
      this.bars = bars;
      this.badges.prepend(bars);
    }
    this.bars.dataset.bars = String(signalBars(q.score));
    this.bars.setAttribute('aria-label', `${this.local ? 'Your connection' : 'Connection'}: ${signalWord(q.score).toLowerCase()}. Details`);
    qualityCard.update(this);
  }

  /** Forgets a reading older than `maxAgeMs` (nobody measures this participant any more). */
  expireSignal(maxAgeMs) {
    if (this.signal && performance.now() - this.signalAt > maxAgeMs) this.setSignal(undefined);
  }

  /** The size and frame rate of this tile's video as we receive it (our own tile: as we send it), for the card. */
  setVideoSize(video) {
    this.videoSize = video;
    qualityCard.update(this);
  }

  /** Writes the quality card's content: the score in a word, the figures, the warnings. */
  fillCard(card) {
    const q = this.signal;
    if (!q) return;
    const head = el('div', 'head');
    const title = el('b');
    title.textContent = this.local ? 'Your connection' : this.participant.name;
    const word = el('span', 'word');
    word.dataset.bars = String(signalBars(q.score));
    word.textContent = `${signalWord(q.score)} · ${q.score}`;
    head.append(title, word);
    const dl = el('dl');
    for (const [label, value] of cardRows(q, this.videoSize)) {
      const dt = el('dt');
      dt.textContent = label;
      const dd = el('dd');
      dd.textContent = value;
      dl.append(dt, dd);
    }
    card.append(head, dl);
    const warnings = warningWords(q);
    if (warnings) {
      const p = el('p', 'warn');
      p.textContent = warnings[0].toUpperCase() + warnings.slice(1);
      card.append(p);
    }
  }

  setStatus(text, bad = false) {
    this.status.hidden = !text;
    this.status.textContent = text;
    this.status.classList.toggle('bad', bad);
  }

  /** Takes the tile out of the page and lets go of its stream (a detached element would keep it alive). */
  destroy() {
    qualityCard.hide(this, true);
    this.video.srcObject = null;
    this.pip.srcObject = null;
    this.root.remove();
  }

  /** What the test hook reports about this tile. */
  info() {
    const v = this.video;
    return {
      frames: this.frames, videoWidth: v.videoWidth, videoHeight: v.videoHeight, currentTime: v.currentTime,
      paused: v.paused, showsVideo: !this.root.classList.contains('novideo'), speaking: this.root.classList.contains('speaking'),
      status: this.status.hidden ? '' : this.status.textContent,
      quality: this.quality?.verdict ?? '',
      signal: this.signal ? {
        bars: signalBars(this.signal.score), score: this.signal.score, packetLoss: this.signal.packetLoss, jitterMs: this.signal.jitterMs,
        rttMs: this.signal.rttMs, bitrateKbps: this.signal.bitrateKbps, warnings: [...this.signal.warnings], video: this.videoSize ?? null,
        card: qualityCard.isOpenFor(this),
      } : null,
      layer: this.badges.querySelector('.layer')?.dataset.quality ?? '',
      pip: this.pip.hidden ? null : { videoWidth: this.pip.videoWidth, videoHeight: this.pip.videoHeight },
    };
  }
}

/**
 * Picks columns so tiles are as large as possible for the grid's size (gridShape); too many
 * people for the smallest useful tile make the grid scroll.
 */
export function layoutGrid(grid) {
  const style = getComputedStyle(grid);
  const shape = gridShape({
    width: (grid.clientWidth || window.innerWidth) - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
    height: (grid.clientHeight || window.innerHeight) - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom),
    count: grid.children.length,
    gap: parseFloat(style.getPropertyValue('--gap')) || 12,
    spotlit: grid.classList.contains('spotlit'),
  });
  if (shape.spotW !== undefined) grid.style.setProperty('--spot-w', `${shape.spotW}px`);
  else grid.style.setProperty('--ar', String(shape.ratio));
  grid.style.setProperty('--cols', String(shape.cols));
  grid.style.setProperty('--tile-w', `${shape.tileW}px`);
}

/** Shows (or removes) the "waiting for others" card with the room's link in the grid. */
export function renderInvite(grid, show, url, onCopy) {
  let card = $('invite');
  if (!show) {
    card?.remove();
    return;
  }
  if (card) return;
  card = el('div', 'tile invite', '<div><h3>Waiting for others to join</h3><p>Share this link with the people you want to talk to:</p><code></code><button class="btn primary" type="button">Copy invite link</button></div>');
  card.id = 'invite';
  card.querySelector('code').textContent = url;
  card.querySelector('button').onclick = onCopy;
  grid.append(card);
}

export function renderPeople(list, entries) {
  list.innerHTML = '';
  for (const { participant: p, you, state } of entries) {
    const li = el('li');
    li.dataset.peer = p.id;
    const avatar = el('span', 'mini-avatar', roleIcon(p.role));
    if (!roleIcon(p.role)) avatar.textContent = initials(p.name);
    avatar.style.background = colorFor(p.name);
    const who = el('div', 'who');
    const b = el('b');
    b.textContent = you ? `${p.name} (you)` : p.name;
    const small = el('small');
    small.textContent = [p.role !== 'participant' ? p.role : '', p.guest ? 'guest' : '', p.canPublish === false ? 'listening only' : '', p.screen ? 'presenting' : '', state].filter(Boolean).join(' · ');
    who.append(b, small);
    const ic = el('span', 'icons');
    ic.append(el('span', p.audio ? '' : 'off', p.audio ? icons.mic : icons.micOff));
    ic.append(el('span', p.video ? '' : 'off', p.video ? icons.cam : icons.camOff));
    li.append(avatar, who, ic);
    list.append(li);
  }
}

/**
 * Opens the side panel on `tab` ('people' | 'chat'), or closes it when that tab is already
 * showing or `tab` is ''. Returns the tab now showing, or ''.
 */
export function toggleSide(tab) {
  const side = $('side');
  const showing = !side.hidden && tab !== '' && !$(`panel-${tab}`).hidden;
  side.hidden = tab === '' || showing;
  const open = side.hidden ? '' : tab;
  for (const t of ['people', 'chat']) {
    if (open) $(`panel-${t}`).hidden = t !== open;
    $(`tab-${t}`).classList.toggle('active', t === open);
    $(`btn-${t}`).classList.toggle('on', t === open);
  }
  return open;
}

const banners = new Map();

/** A dismissible line under the top bar; one per `key`, replaced when shown again. */
export function showBanner(key, text, kind = 'warn') {
  clearBanner(key);
  const b = el('div', `banner ${kind}`);
  b.dataset.key = key;
  b.innerHTML = icons.alert;
  b.firstElementChild.style.cssText = 'width:18px;height:18px;flex:none;margin-top:1px';
  const span = el('span');
  span.textContent = text;
  const close = el('button', 'close', '&times;');
  close.setAttribute('aria-label', 'Dismiss');
  close.onclick = () => clearBanner(key);
  b.append(span, close);
  $('banners').append(b);
  banners.set(key, b);
}

export function clearBanner(key) {
  banners.get(key)?.remove();
  banners.delete(key);
}

export function bannerTexts() {
  return [...banners.values()].map((b) => b.textContent.replace(/×$/, '').trim());
}

/** A full-page dialog (room full, left, fatal error). */
export function showNotice({ icon = 'alert', title, text, actions = [] }) {
  $('notice-icon').innerHTML = icons[icon] ?? '';
  $('notice-title').textContent = title;
  $('notice-text').textContent = text;
  const box = $('notice-actions');
  box.innerHTML = '';
  for (const a of actions) {
    const btn = el('button', `btn${a.primary ? ' primary' : ''}`);
    btn.textContent = a.label;
    btn.onclick = a.onClick;
    box.append(btn);
  }
  $('notice').hidden = false;
}

export function hideNotice() {
  $('notice').hidden = true;
}

/** The connection pill in the top bar. */
export function setStatus(kind, text) {
  $('status').className = `pill ${kind}`;
  $('status').firstElementChild.className = kind === 'warn' ? 'spinner' : 'dot';
  $('status-text').textContent = text;
}

/** A round control button: `off` paints it red (muted, camera off). */
export function setControl(btn, { icon, off = false, on = false, label, disabled = false }) {
  btn.innerHTML = icons[icon];
  btn.dataset.icon = icon;
  btn.classList.toggle('off', off);
  btn.classList.toggle('on', on);
  btn.setAttribute('aria-label', label);
  btn.title = label;
  btn.disabled = disabled;
}

let toastTimer;
export function toast(text) {
  let t = document.querySelector('.toast');
  if (!t) {
    t = el('div', 'toast');
    document.body.append(t);
  }
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 2500);
}
