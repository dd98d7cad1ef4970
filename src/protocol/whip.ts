/**
 * WHIP (RFC 9725) on the wire: the media types, the trickle ICE fragment of a PATCH (RFC 8840)
 * and the `Link` header that hands a client its ICE servers. Pure functions; the HTTP side is
 * src/server/whip.ts, a client src/client/whip-client.ts.
 */
import { CallpeerError } from '../errors.js';
import type { IceServer } from './signaling.js';

export const SDP_CONTENT_TYPE = 'application/sdp';
export const TRICKLE_CONTENT_TYPE = 'application/trickle-ice-sdpfrag';
/** The largest offer or fragment read, bytes (a browser's offer with simulcast is ~6 KiB). */
export const WHIP_MAX_BODY_BYTES = 64 * 1024;

export interface TrickleFragment {
  /** a=ice-ufrag / a=ice-pwd: new ones mean an ICE restart. */
  ufrag?: string;
  pwd?: string;
  /** Candidates by the mid of the m= section they follow (a=candidate lines before any m= have none). */
  candidates: { candidate: string; mid: string | undefined }[];
  /** a=end-of-candidates was present. */
  end: boolean;
}

/**
 * Parses an `application/trickle-ice-sdpfrag` body. Throws INVALID_SDP for text that is no
 * SDP fragment (a line without `x=`, a candidate line with no fields).
 */
export function parseTrickleFragment(text: string): TrickleFragment {
  const out: TrickleFragment = { candidates: [], end: false };
  let mid: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (!/^[a-z]=/.test(line)) throw new CallpeerError('INVALID_SDP', `not an SDP fragment line: "${line.slice(0, 60)}"`);
    if (line.startsWith('m=')) {
      mid = undefined;
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line.slice(2) : line.slice(2, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1);
    if (name === 'mid') mid = value;
    else if (name === 'ice-ufrag') out.ufrag = value;
    else if (name === 'ice-pwd') out.pwd = value;
    else if (name === 'end-of-candidates') out.end = true;
    else if (name === 'candidate') {
      if (value.trim().split(/\s+/).length < 8) throw new CallpeerError('INVALID_SDP', `a candidate needs 8 fields at least: "${line.slice(0, 80)}"`);
      out.candidates.push({ candidate: `candidate:${value}`, mid });
    }
  }
  return out;
}

/** `Link` header values for ICE servers, one per URL (RFC 9725 section 4.6). */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  const links: string[] = [];
  for (const s of servers) {
    for (const url of Array.isArray(s.urls) ? s.urls : [s.urls]) {
      let link = `<${url}>; rel="ice-server"`;
      if (s.username !== undefined && s.credential !== undefined) {
        link += `; username=${quote(s.username)}; credential=${quote(s.credential)}; credential-type="password"`;
      }
      links.push(link);
    }
  }
  return links;
}
