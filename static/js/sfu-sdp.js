// What the page adds to the offers it sends an SFU server (only to the text sent: the browser's
// own description stays as it made it). Chromium announces simulcast with rids alone, no
// a=ssrc lines, and the server's WebRTC stack (libdatachannel) routes incoming RTP by the SSRCs
// an SDP lists: so once the browser has chosen its SSRCs (after the first answer), the page
// re-offers with them, low → high as an SSRC group SIM. A screen share is marked
// a=content:slides (RFC 4796) so the server lists it as `screen`, not a second camera.

/**
 * @param {string} sdp an offer
 * @param {{ssrcs?: Map<string, number[]>, slides?: Set<string>, cname?: string}} o
 *   ssrcs: per mid, the SSRCs of its encodings low → high; slides: mids carrying a screen
 * @returns {string} the offer with those lines added to each section (after its a=mid)
 */
export function annotateOffer(sdp, { ssrcs = new Map(), slides = new Set(), cname = 'callpeer' } = {}) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  // Sections that list SSRCs already (Firefox does for simulcast) are left as they are.
  const listed = new Set();
  let mid;
  for (const line of lines) {
    if (line.startsWith('m=')) mid = undefined;
    mid = /^a=mid:(.+)$/.exec(line)?.[1] ?? mid;
    if (line.startsWith('a=ssrc:') && mid !== undefined) listed.add(mid);
  }
  const out = [];
  for (const line of lines) {
    out.push(line);
    const m = /^a=mid:(.+)$/.exec(line)?.[1];
    if (m === undefined) continue;
    if (slides.has(m)) out.push('a=content:slides');
    const list = listed.has(m) ? [] : ssrcs.get(m) ?? [];
    if (list.length > 1) out.push(`a=ssrc-group:SIM ${list.join(' ')}`);
    for (const ssrc of list) out.push(`a=ssrc:${ssrc} cname:${cname}`);
  }
  return out.join(eol);
}

/** The track id of the a=msid line in section `mid` (how the server names a forwarded track). */
export function msidTrackOf(sdp, mid) {
  let current;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) current = undefined;
    current = /^a=mid:(.+)$/.exec(line)?.[1] ?? current;
    const msid = /^a=msid:\S+ (\S+)$/.exec(line);
    if (msid && current === mid) return msid[1];
  }
  return undefined;
}

/** The CNAME the browser put in its offer, if any. */
export function offerCname(sdp) {
  return /^a=ssrc:\d+ cname:(\S+)/m.exec(sdp)?.[1];
}

/**
 * The SSRCs a sender uses per encoding, from its outbound-rtp stats, ordered as `rids`
 * (low → high); encodings the browser does not send yet (it may drop the top one for a small
 * camera) are left out, so the caller re-offers when the list grows.
 * @param {Iterable<{type: string, mid?: string, rid?: string, ssrc: number}>} stats
 */
export function simulcastSsrcs(stats, mid, rids) {
  const byRid = new Map();
  for (const s of stats) if (s.type === 'outbound-rtp' && (s.mid === undefined || s.mid === mid) && s.rid) byRid.set(s.rid, s.ssrc);
  return rids.map((r) => byRid.get(r)).filter((x) => x !== undefined);
}
