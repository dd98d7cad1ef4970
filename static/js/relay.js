// TURN relaying on the call page, forced and explained. `?relay=1` in the page's address makes
// every connection use relay candidates only (RTCPeerConnection iceTransportPolicy 'relay'): a
// way to check that the server's TURN relay works, since nothing else can carry the call then.
// Pure, so it is tested in Node.

/** True when the page's query string asks for relaying only (`relay=1`). */
export function relayOnly(search) {
  return new URLSearchParams(search).get('relay') === '1';
}

/** The RTCPeerConnection iceTransportPolicy for that choice. */
export function iceTransportPolicy(relay) {
  return relay ? 'relay' : 'all';
}

/** True when `iceServers` (from `joined`) name a TURN server. */
export function hasTurnServer(iceServers) {
  return (iceServers ?? []).some((s) => [s.urls].flat().some((u) => /^turns?:/.test(String(u))));
}

/**
 * True for an `icecandidateerror` in which a TURN server refused our credentials: 401
 * Unauthorized (wrong or expired REST-API credentials) or 403 Forbidden. The first 401 of an
 * allocation (the server's challenge) is answered by the browser and never reported.
 */
export function isCredentialRefusal(e) {
  return (e.errorCode === 401 || e.errorCode === 403) && /^turns?:/.test(String(e.url ?? ''));
}

export const RELAY_REFUSED_TEXT = "The relay server refused this call's credentials (they may have expired). Leave and join again to get new ones.";

export const NO_RELAY_TEXT = 'This page was opened with relay=1, so it connects only through a relay (TURN) server, and this server offers none. Remove relay=1 from the address, or ask whoever runs the server to add one (serve --turn-url).';

/**
 * The banner for a connection that could not be made when relaying only. `refused`: a TURN
 * server refused our credentials on it; `who`: whom we could not reach, in words.
 */
export function relayProblemText({ refused, hasTurn, who }) {
  if (!hasTurn) return NO_RELAY_TEXT;
  if (refused) return RELAY_REFUSED_TEXT;
  return `Could not connect to ${who} through the relay server: it did not answer, or it refused this call's credentials (they may have expired). Leave and join again to get new ones.`;
}
