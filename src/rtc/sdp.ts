/**
 * Pure parsing of the parts of an SDP (RFC 8866, JSEP) the Peer needs to answer a remote
 * offer with exactly what it supports: m-sections with their mid, direction, codecs
 * (rtpmap/fmtp/rtcp-fb), a=ssrc lines (cname/msid), ssrc-groups and extmaps.
 * Unknown lines are ignored; a description without any m-section, or an m-line that does not
 * parse, is refused with INVALID_SDP.
 */
import { CallpeerError } from '../errors.js';

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpCodec {
  payloadType: number;
  /** Encoding name as written (`opus`, `VP8`, `H264`, `rtx`...). Compare case-insensitively. */
  name: string;
  /** Hz */
  clockRate: number;
  /** Audio channels (1 when not given). */
  channels: number;
  /** The a=fmtp parameters, verbatim ('' when absent). */
  fmtp: string;
  /** a=rtcp-fb values for this payload type (`nack`, `nack pli`, `transport-cc`...). */
  rtcpFb: string[];
}

export interface SdpSsrc {
  ssrc: number;
  cname?: string;
  /** Stream id of `a=ssrc:N msid:<stream> <track>`. */
  streamId?: string;
  trackId?: string;
}

export interface SdpExtmap {
  id: number;
  uri: string;
}

export interface SdpMedia {
  /** `audio`, `video`, `application` or anything else the m-line says. */
  kind: string;
  /** Port of the m-line; 0 means the section is rejected/stopped, unless `bundleOnly`. */
  port: number;
  /** a=bundle-only (RFC 8843): port 0, yet in use on the bundle's transport (GStreamer's webrtcbin offers so). */
  bundleOnly: boolean;
  protocol: string;
  /** The m-line's format list (payload types for RTP, `webrtc-datachannel` for SCTP). */
  formats: string[];
  /** a=mid, or the section index as a string when absent (pre-JSEP peers). */
  mid: string;
  /** a=sendrecv etc.; `sendrecv` when absent (RFC 8866 default). */
  direction: SdpDirection;
  /** Codecs in m-line order (the offerer's preference order). */
  codecs: SdpCodec[];
  ssrcs: SdpSsrc[];
  ssrcGroups: { semantics: string; ssrcs: number[] }[];
  extmaps: SdpExtmap[];
  /** a=msid (Unified Plan). */
  msid?: { streamId: string; trackId: string };
  rids: string[];
  /** a=simulcast value (`send q;h;f`), RFC 8853. */
  simulcast?: string;
  /** a=content (RFC 4796): `slides` marks a screen share. */
  content?: string;
  /** a=setup (actpass/active/passive), session-level value when the section has none. */
  setup?: string;
}

export interface SessionDescription {
  media: SdpMedia[];
  /** Mids of a=group:BUNDLE, in order. */
  bundle: string[];
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function invalid(message: string): CallpeerError {
  return new CallpeerError('INVALID_SDP', message);
}

function toInt(text: string | undefined, what: string, line: number): number {
  const n = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw invalid(`line ${line}: bad ${what}`);
  return n;
}

/** Parses an SDP; throws CallpeerError('INVALID_SDP') on a structural error. */
export function parseSdp(sdp: string): SessionDescription {
  if (typeof sdp !== 'string' || !sdp.startsWith('v=')) throw invalid('SDP must start with v=');
  const lines = sdp.split(/\r?\n/);
  const media: (SdpMedia & { hasDirection: boolean })[] = [];
  const bundle: string[] = [];
  let sessionSetup: string | undefined;
  let sessionDirection: SdpDirection | undefined;
  let cur: (SdpMedia & { hasDirection: boolean }) | undefined;
  const codecOf = (m: SdpMedia, pt: number): SdpCodec | undefined => m.codecs.find((c) => c.payloadType === pt);
  const ssrcOf = (m: SdpMedia, ssrc: number): SdpSsrc => {
    let s = m.ssrcs.find((x) => x.ssrc === ssrc);
    if (!s) { s = { ssrc }; m.ssrcs.push(s); }
    return s;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const n = i + 1;
    if (line.startsWith('m=')) {
      const parts = line.slice(2).split(' ');
      if (parts.length < 3) throw invalid(`line ${n}: bad m-line`);
      const [kind, portText, protocol, ...formats] = parts as [string, string, string, ...string[]];
      const port = toInt(portText.split('/')[0], 'port', n);
      cur = {
        kind, port, protocol, formats, mid: String(media.length), direction: 'sendrecv', codecs: [], bundleOnly: false,
        ssrcs: [], ssrcGroups: [], extmaps: [], rids: [], hasDirection: false,
      };
      if (sessionSetup !== undefined) cur.setup = sessionSetup;
      // Payload types in m-line order; rtpmap fills in names. Static types keep an empty name.
      if (protocol.includes('RTP')) {
        for (const f of formats) {
          const pt = toInt(f, 'payload type', n);
          cur.codecs.push({ payloadType: pt, name: '', clockRate: 0, channels: 1, fmtp: '', rtcpFb: [] });
        }
      }
      media.push(cur);
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    const colon = attr.indexOf(':');
    const key = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? '' : attr.slice(colon + 1);

    if (!cur) {
      if (key === 'group' && value.startsWith('BUNDLE')) bundle.push(...value.split(' ').slice(1).filter(Boolean));
      else if (key === 'setup') sessionSetup = value;
      else if (DIRECTIONS.has(key)) sessionDirection = key as SdpDirection;
      continue;
    }
    switch (key) {
      case 'mid': cur.mid = value; break;
      case 'sendrecv': case 'sendonly': case 'recvonly': case 'inactive':
        cur.direction = key; cur.hasDirection = true; break;
      case 'setup': cur.setup = value; break;
      case 'bundle-only': cur.bundleOnly = true; break;
      case 'rtpmap': {
        const m = /^(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?/.exec(value);
        if (!m) throw invalid(`line ${n}: bad rtpmap`);
        const codec = codecOf(cur, Number(m[1]));
        if (codec) {
          codec.name = m[2]!;
          codec.clockRate = Number(m[3]);
          codec.channels = m[4] === undefined ? 1 : Number(m[4]);
        }
        break;
      }
      case 'fmtp': {
        const sp = value.indexOf(' ');
        const codec = codecOf(cur, toInt(sp < 0 ? value : value.slice(0, sp), 'fmtp payload type', n));
        if (codec) codec.fmtp = sp < 0 ? '' : value.slice(sp + 1).trim();
        break;
      }
      case 'rtcp-fb': {
        const sp = value.indexOf(' ');
        const pt = value.slice(0, sp);
        const fb = value.slice(sp + 1).trim();
        const targets = pt === '*' ? cur.codecs : cur.codecs.filter((c) => String(c.payloadType) === pt);
        for (const c of targets) c.rtcpFb.push(fb);
        break;
      }
      case 'ssrc': {
        const m = /^(\d+) ([^:]+)(?::(.*))?$/.exec(value);
        if (!m) throw invalid(`line ${n}: bad ssrc`);
        const s = ssrcOf(cur, toInt(m[1], 'ssrc', n));
        if (m[2] === 'cname') s.cname = m[3];
        else if (m[2] === 'msid' && m[3] !== undefined) {
          const [streamId, trackId] = m[3].split(' ');
          if (streamId) s.streamId = streamId;
          if (trackId) s.trackId = trackId;
        }
        break;
      }
      case 'ssrc-group': {
        const [semantics, ...rest] = value.split(' ');
        cur.ssrcGroups.push({ semantics: semantics ?? '', ssrcs: rest.filter(Boolean).map((x) => toInt(x, 'ssrc', n)) });
        break;
      }
      case 'extmap': {
        const m = /^(\d+)(?:\/\w+)? (\S+)/.exec(value);
        if (!m) throw invalid(`line ${n}: bad extmap`);
        cur.extmaps.push({ id: Number(m[1]), uri: m[2]! });
        break;
      }
      case 'msid': {
        const [streamId, trackId] = value.split(' ');
        cur.msid = { streamId: streamId ?? '', trackId: trackId ?? '' };
        break;
      }
      case 'simulcast': cur.simulcast = value; break;
      case 'content': cur.content = value; break;
      case 'rid': {
        const rid = value.split(' ')[0];
        if (rid) cur.rids.push(rid);
        break;
      }
      default: break;
    }
  }
  if (media.length === 0) throw invalid('SDP has no m-section');
  return {
    bundle,
    media: media.map(({ hasDirection, ...m }) => (
      !hasDirection && sessionDirection ? { ...m, direction: sessionDirection } : m
    )),
  };
}

/** The direction to answer with: what the remote sends we receive, and the other way round. */
export function mirrorDirection(d: SdpDirection): SdpDirection {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

/** The section carries media: not rejected (port 0), or port 0 but bundle-only (RFC 8843 §6). */
export function inUse(m: SdpMedia): boolean {
  return m.port !== 0 || m.bundleOnly;
}

/** Whether the side that wrote direction `d` sends media. */
export function sends(d: SdpDirection): boolean {
  return d === 'sendrecv' || d === 'sendonly';
}

/** Whether the side that wrote direction `d` receives media. */
export function receives(d: SdpDirection): boolean {
  return d === 'sendrecv' || d === 'recvonly';
}

/** Combines what the remote offers and what we allow into our direction. */
export function directionOf(send: boolean, receive: boolean): SdpDirection {
  return send ? (receive ? 'sendrecv' : 'sendonly') : receive ? 'recvonly' : 'inactive';
}

/**
 * SSRCs the remote sends its primary media on: every a=ssrc except the repair/FEC members
 * of an FID/FEC-FR group (RTX, FlexFEC), which are not decodable media on their own.
 */
export function primarySsrcs(m: SdpMedia): number[] {
  const secondary = new Set<number>();
  for (const g of m.ssrcGroups) {
    if (g.semantics === 'FID' || g.semantics === 'FEC-FR') for (const s of g.ssrcs.slice(1)) secondary.add(s);
  }
  return m.ssrcs.map((s) => s.ssrc).filter((s) => !secondary.has(s));
}

/** The first codec (in offer preference order) whose name matches, case-insensitively. */
export function findCodec(m: SdpMedia, name: string, accept: (c: SdpCodec) => boolean = () => true): SdpCodec | undefined {
  const lower = name.toLowerCase();
  return m.codecs.find((c) => c.name.toLowerCase() === lower && accept(c));
}

/**
 * The first ICE ufrag of a description. A new one from the same remote means a new connection
 * (libdatachannel cannot restart ICE on a live one), which both kinds of room agent check.
 */
export function iceUfrag(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}
