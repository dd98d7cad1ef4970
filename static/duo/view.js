// Draws the /duo page from its state: status pill and headline, the two people with their
// meters and mute badges, the format switch, the invite link and the buttons.
import { icons } from '../js/icons.js';
import { $ } from '../js/ui.js';

/** Microphone RMS to a 0..1 meter reading on a -60..0 dBFS scale. */
export function meterLevel(rms) {
  if (!(rms > 0)) return 0;
  return Math.max(0, Math.min(1, (20 * Math.log10(rms) + 60) / 60));
}

const ERROR_HEADLINES = { PAIR_FULL: 'This invite link is taken', MICROPHONE: 'No microphone' };

/** The words for each phase: [pill class, pill text, headline, detail]. */
export function describe(s) {
  const fmt = s.receiving ? `${s.receiving.codec === 'opus' ? 'Opus' : 'PCM'}, ${s.receiving.sampleRate / 1000} kHz` : '';
  const waitingFor = s.pair
    ? 'You will be connected as soon as someone opens your invite link.'
    : 'You will be connected with the next person who opens this page.';
  switch (s.phase) {
    case 'idle': return ['', 'Not started', 'Talk with one other person', 'Audio only, straight from this page. Press Start, then share an invite link or wait for whoever opens this page next.'];
    case 'starting': return ['', 'Starting', 'Starting your microphone…', 'Your browser may ask to use the microphone.'];
    case 'connecting': return ['warn', 'Connecting', 'Connecting…', 'Reaching the server.'];
    case 'waiting': return s.partnerLeft
      ? ['warn', 'Partner left, waiting', 'Your partner left', `Waiting for someone new. ${waitingFor}`]
      : ['warn', 'Waiting', 'Waiting for a partner', waitingFor];
    case 'connected': return ['good', 'Connected', 'You are connected', `Talk away: your partner hears you now (${fmt}).`];
    case 'reconnecting': return ['bad', 'Reconnecting', 'Connection lost', `Trying again in ${Math.max(1, Math.ceil((s.retryAt - Date.now()) / 1000))} s. Your partner may be paired again when you are back.`];
    default: return ['bad', 'Stopped', ERROR_HEADLINES[s.error?.code] ?? 'Something went wrong', s.error?.text ?? 'Press Start to try again.'];
  }
}

export function render(s) {
  const [cls, pill, headline, detail] = describe(s);
  $('status').className = `pill ${cls}`.trim();
  $('status-text').textContent = pill;
  $('headline').textContent = headline;
  $('detail').textContent = detail;

  const active = s.phase !== 'idle' && s.phase !== 'error';
  $('start').hidden = active;
  $('start').disabled = s.phase === 'starting' || !s.ready;
  $('start').textContent = s.phase === 'error' ? 'Start again' : 'Start';
  $('controls').hidden = !active;

  const mic = $('btn-mic');
  mic.innerHTML = s.muted ? icons.micOff : icons.mic;
  mic.classList.toggle('off', s.muted);
  mic.setAttribute('aria-pressed', String(s.muted));
  mic.setAttribute('aria-label', s.muted ? 'Unmute microphone' : 'Mute microphone');
  mic.title = s.muted ? 'Unmute (M)' : 'Mute (M)';

  const me = $('me');
  me.classList.toggle('muted', active && s.muted);
  $('me-icon').innerHTML = s.muted ? icons.micOff : icons.mic;
  $('me-note').textContent = !active ? 'Microphone off' : s.muted ? 'Muted: your partner hears nothing' : 'Microphone on';

  const connected = s.phase === 'connected';
  const partner = $('partner');
  partner.classList.toggle('present', connected);
  partner.classList.toggle('absent', !connected);
  partner.classList.toggle('muted', connected && s.peerMuted);
  $('partner-note').textContent = connected ? (s.peerMuted ? 'Muted' : 'Connected')
    : s.phase === 'reconnecting' ? 'Out of reach' : s.partnerLeft ? 'Left the call' : 'Nobody yet';
  $('wire').classList.toggle('live', connected);

  for (const input of document.querySelectorAll('input[name="codec"]')) input.checked = input.value === s.codec;
  $('codec-opus').disabled = !s.opusAvailable;
  $('codec-note').textContent = s.opusAvailable
    ? (active ? 'Changing the format reconnects you.' : 'Opus saves bandwidth; PCM is uncompressed.')
    : 'Opus needs WebCodecs, which this browser does not offer here, so audio goes as PCM.';

  $('invite-box').hidden = !s.pair;
  $('invite-link').textContent = s.inviteUrl ?? '';
  $('create-invite-text').textContent = s.pair ? 'New invite' : 'Create invite';
  $('invite-note').textContent = s.pair
    ? `Code ${s.pair}: only the person with this link can join you.`
    : 'Without an invite you talk to the next person who opens this page.';
}

/** Moves the meters and the line's figures (called often, apart from `render`). */
export function renderLevels(me, partner, speaking, line) {
  $('line-note').hidden = !line;
  if (line) $('line-note').textContent = line;
  for (const [id, v] of [['me-meter', me], ['partner-meter', partner]]) {
    const el = $(id);
    el.style.setProperty('--l', v.toFixed(3));
    el.setAttribute('aria-valuenow', String(Math.round(v * 100)));
  }
  $('partner').classList.toggle('speaking', speaking);
}
