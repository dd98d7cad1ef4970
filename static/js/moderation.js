// What the room API's moderation does to this page (docs/PROTOCOL.md, "Auth, roles and the
// room API"): `kicked` and `room-closed` end the call here for good; `muted-by-server` turns
// off what it names exactly as the page's own buttons do, so the user can turn it on again.

/** The notice shown when the server ended our part in the call: {title, text}. */
export function removedNotice(m) {
  if (m.type === 'kicked') {
    const reason = typeof m.reason === 'string' && m.reason.trim() ? m.reason.trim() : 'no reason given';
    return { title: 'Removed from the call', text: `You were removed from the call: ${reason}` };
  }
  if (m.reason === 'deleted') return { title: 'The call has ended', text: 'This call has ended: the room was closed.' };
  return { title: 'The call has ended', text: 'This call has ended: the server that held the room went away.' };
}

/** The toast for `muted-by-server`, e.g. "A moderator muted your microphone" ('' if it names nothing). */
export function serverMuteText(m) {
  const what = [];
  if (m.audio === false) what.push('muted your microphone');
  if (m.video === false) what.push('turned off your camera');
  if (m.screen === false) what.push('stopped your screen sharing');
  if (what.length === 0) return '';
  const last = what.pop();
  return `A moderator ${what.length ? `${what.join(', ')} and ${last}` : last}`;
}

/**
 * Turns off what `muted-by-server` names, through the same LocalMedia calls as the buttons
 * (which also send `media {…: false}`); what is off already stays off.
 * @param {import('./local-media.js').LocalMedia} local
 */
export async function applyServerMute(local, m) {
  if (m.audio === false && local.state.audio) local.toggleMic();
  if (m.screen === false && local.state.screen) await local.stopScreen();
  if (m.video === false && local.state.video) await local.toggleCamera();
}
