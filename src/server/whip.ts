/**
 * WHIP ingest (RFC 9725) and WHEP egress for SFU rooms. `POST /whip/<room>` with an SDP offer
 * joins the room as a participant that publishes what it offers and receives nothing; `POST
 * /whep/<room>` with a receive-only offer joins as a viewer that gets the room's tracks in the
 * sections it offered (one audio and one video section: one publisher's microphone and
 * camera; `?publisher=` names whose). The `201` carries the server's answer with all its
 * candidates, the session's `Location` and `ETag`, and the ICE servers as `Link` headers.
 * `PATCH` on the session trickles the client's candidates (RFC 8840; ICE restarts are refused
 * with 422: libdatachannel cannot restart ICE, start a new session instead), `DELETE` ends it.
 * Errors are JSON `{ error: { code, message } }` with the protocol's codes; the statuses are
 * RFC 9725's where it names one.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import { CallpeerError, toCallpeerError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { isValidRoomId, MAX_NAME_LENGTH, type IceServer, type ServerMessage } from '../protocol/signaling.js';
import { iceServerLinks, parseTrickleFragment, SDP_CONTENT_TYPE, TRICKLE_CONTENT_TYPE, WHIP_MAX_BODY_BYTES } from '../protocol/whip.js';
import type { JoinRequest, LeaveReason, MemberSink } from '../rooms/member.js';
import type { RoomSession } from '../rooms/member-messages.js';
import { iceUfrag, inUse, parseSdp, receives, sends } from '../rtc/sdp.js';
import { withDeadline } from '../time/deadline.js';
import { readBody } from './body.js';
import { decodePathSegment } from './request-url.js';
import { bearerToken, notAllowed, sendJson } from './room-api.js';

/** How long the server's answer (gathering included) may take, ms. */
const ANSWER_TIMEOUT_MS = 10_000;
const STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHORIZED: 401, ROOM_NOT_FOUND: 404, PEER_NOT_FOUND: 404, ROOM_FULL: 503, INVALID_SDP: 400, INVALID_MESSAGE: 400,
  MESSAGE_TOO_LARGE: 413, CODEC_NOT_SUPPORTED: 422, SFU_NOT_ENABLED: 409, SIGNALING_TIMEOUT: 504,
};
/** Refusals whose status is RFC 9725's rather than their code's, by the error's `ref`. */
const STATUS_BY_REF: Record<string, number> = { 'content-type': 415, 'ice-restart': 422, 'if-match': 428, etag: 412 };
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, if-match',
  'access-control-expose-headers': 'location, etag, link',
};

/** Methods counted by name in callpeer_whip_requests_total (anything else is `other`: no label per made-up method). */
const KNOWN_METHODS = new Set(['POST', 'PATCH', 'DELETE', 'OPTIONS', 'GET', 'HEAD', 'PUT']);

/** Which of the two: ingest (`/whip`) or egress (`/whep`). */
type Endpoint = 'whip' | 'whep';

/** One published (WHIP) or viewed (WHEP) stream: a room member whose only transport is this HTTP resource. */
class WhipSession implements MemberSink {
  readonly oneShot = true;
  readonly etag = `"${randomBytes(8).toString('hex')}"`;
  member: RoomSession | undefined;
  iceServers: IceServer[] = [];
  /** Refusals of parts of the offer, said while it was applied. */
  readonly refusals: CallpeerError[] = [];
  /** The ICE ufrag of the offer: a PATCH with another one asks for an ICE restart. */
  ufrag: string | undefined;
  firstMid = '0';
  private answered: ((sdp: string) => void) | undefined;
  private failed: ((err: CallpeerError) => void) | undefined;
  readonly answer = new Promise<string>((resolve, reject) => { this.answered = resolve; this.failed = reject; });

  constructor(
    /** Its resource's id; in a cluster it starts with the node's id (`node.random`), so any node finds its home. */
    readonly id: string,
    readonly endpoint: Endpoint,
    readonly roomId: string,
    /** WHEP: what it views (see MemberSink.viewing); WHIP: unset. */
    readonly viewing: { publisher?: string } | undefined,
    private readonly gone: (session: WhipSession) => void,
  ) {
    this.answer.catch(() => {}); // awaited by the POST, or never if it failed first
  }

  send(message: ServerMessage): void {
    if (message.type === 'joined') this.iceServers = message.iceServers;
    else if (message.type === 'answer') this.answered?.(message.sdp);
    else if (message.type === 'error') this.refusals.push(new CallpeerError(message.code, message.message));
    // The rest (tracks, peers, quality) has no way to a WHIP or WHEP client.
  }

  detached(reason: LeaveReason): void {
    this.failed?.(new CallpeerError('CLOSED', `the session ended (${reason}) before the answer`));
    this.gone(this);
  }

  /** Its room's node was lost (cluster): the session is over; its client finds it gone (404). */
  close(): void {
    this.member = undefined;
  }
}

/** A PATCH or DELETE of a session resource, as it crosses to the node that holds the session. */
export interface SessionRequest { method: 'PATCH' | 'DELETE'; endpoint: Endpoint; roomId: string; id: string; contentType?: string; ifMatch?: string; body?: string }

export interface WhipOptions {
  /** Joins a room wherever it lives (the registry, or the cluster's join). */
  join(roomId: string, sink: WhipSession, request: JoinRequest, token: string | undefined): Promise<RoomSession>;
  /**
   * In a cluster: this node's id (session ids start with it) and how to hand a PATCH or DELETE
   * to the node that holds the session, when a request for it reached this one.
   */
  cluster?: { nodeId: string; forward(nodeId: string, request: SessionRequest): Promise<void> };
  log: Logger;
  /** Where callpeer_whip_sessions and callpeer_whip_requests_total go (the server's registry). */
  registry?: Registry;
}

export class WhipService {
  private readonly sessions = new Map<string, WhipSession>();
  private readonly requests: Partial<Record<Endpoint, Counter<'method' | 'status'>>> = {};

  constructor(private readonly options: WhipOptions) {
    const registers = options.registry ? [options.registry] : [];
    if (registers.length === 0) return;
    const count = (endpoint: Endpoint) => [...this.sessions.values()].filter((x) => x.endpoint === endpoint).length;
    new Gauge({ name: 'callpeer_whip_sessions', help: 'WHIP sessions open (publishers that came in over /whip)', registers, collect() { this.set(count('whip')); } });
    new Gauge({ name: 'callpeer_whep_sessions', help: 'WHEP sessions open (viewers that came in over /whep)', registers, collect() { this.set(count('whep')); } });
    for (const endpoint of ['whip', 'whep'] as const) {
      this.requests[endpoint] = new Counter({ name: `callpeer_${endpoint}_requests_total`, help: `Requests to /${endpoint} by method and HTTP status`, labelNames: ['method', 'status'], registers });
    }
  }

  /** Answers a request under /whip/ or /whep/. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const endpoint: Endpoint = url.pathname.startsWith('/whep/') ? 'whep' : 'whip';
    const parts = url.pathname.split('/').slice(2).map(decodePathSegment);
    const method = req.method ?? 'GET';
    const requests = this.requests[endpoint];
    if (requests) res.once('finish', () => requests.inc({ method: KNOWN_METHODS.has(method) ? method : 'other', status: String(res.statusCode) }));
    try {
      if (parts.length === 1 && parts[0]) {
        if (method === 'OPTIONS') return void res.writeHead(204, { ...CORS, allow: 'POST, OPTIONS', 'accept-post': SDP_CONTENT_TYPE }).end();
        if (method !== 'POST') return notAllowed(res, 'POST, OPTIONS', CORS);
        return await this.start(req, res, endpoint, parts[0], url);
      }
      if (parts.length === 2 && parts[0] && parts[1]) {
        if (method === 'OPTIONS') return void res.writeHead(204, { ...CORS, allow: 'PATCH, DELETE, OPTIONS', 'accept-patch': TRICKLE_CONTENT_TYPE }).end();
        if (method !== 'PATCH' && method !== 'DELETE') return notAllowed(res, 'PATCH, DELETE, OPTIONS', CORS);
        const request: SessionRequest = {
          method, endpoint, roomId: parts[0], id: parts[1],
          ...(req.headers['content-type'] !== undefined && { contentType: req.headers['content-type'] }),
          ...(typeof req.headers['if-match'] === 'string' && { ifMatch: req.headers['if-match'] }),
          ...(method === 'PATCH' && { body: (await readBody(req, WHIP_MAX_BODY_BYTES)).toString('utf8') }),
        };
        // A session another node holds (a balancer, or --workers, sent this request elsewhere): handed to it.
        const home = this.options.cluster && parts[1].includes('.') ? parts[1].slice(0, parts[1].indexOf('.')) : undefined;
        if (home !== undefined && home !== this.options.cluster!.nodeId) await this.options.cluster!.forward(home, request);
        else this.sessionRequest(request);
        res.writeHead(method === 'DELETE' ? 200 : 204, CORS).end();
        return;
      }
      throw new CallpeerError('ROOM_NOT_FOUND', `${endpoint.toUpperCase()} endpoints are /${endpoint}/<room>; sessions /${endpoint}/<room>/<id>`);
    } catch (err) {
      const e = toCallpeerError(err);
      if (e.code === 'INTERNAL') this.options.log.error({ err, endpoint }, 'WHIP/WHEP request failed');
      const status = (e.ref !== undefined ? STATUS_BY_REF[e.ref] : undefined) ?? STATUS[e.code] ?? 500;
      sendJson(res, status, { error: { code: e.code, message: e.message } }, CORS);
    }
  }

  private async start(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, roomId: string, url: URL): Promise<void> {
    if (!isValidRoomId(roomId)) throw new CallpeerError('ROOM_NOT_FOUND', 'room names use letters, digits, "-" and "_" (1-64 characters)');
    expectType(req.headers['content-type'], SDP_CONTENT_TYPE);
    const sdp = (await readBody(req, WHIP_MAX_BODY_BYTES)).toString('utf8');
    if (sdp.trim() === '') throw new CallpeerError('INVALID_SDP', 'the body is empty: POST the SDP offer');
    const offer = parseSdp(sdp);
    const media = offer.media.filter((m) => (m.kind === 'audio' || m.kind === 'video') && inUse(m));
    const ingest = endpoint === 'whip';
    const sections = media.filter((m) => (ingest ? sends(m.direction) : receives(m.direction)));
    if (sections.length === 0) {
      throw new CallpeerError('INVALID_SDP', ingest
        ? 'the offer sends no audio or video: a WHIP client offers what it publishes (sendonly)'
        : 'the offer receives no audio or video: a WHEP client offers recvonly audio and video sections');
    }
    const name = url.searchParams.get('name')?.slice(0, MAX_NAME_LENGTH) || (ingest ? 'WHIP' : 'WHEP viewer');
    const publisher = url.searchParams.get('publisher') ?? undefined;
    const id = randomBytes(9).toString('base64url');
    const session = new WhipSession(this.options.cluster ? `${this.options.cluster.nodeId}.${id}` : id, endpoint, roomId, ingest ? undefined : { ...(publisher !== undefined && { publisher }) }, (s) => this.sessions.delete(s.id));
    session.ufrag = iceUfrag(sdp);
    session.firstMid = offer.media[0]?.mid ?? '0';
    const member = await this.options.join(roomId, session, {
      id: `${endpoint}-${session.id.slice(0, 8)}`, name, role: 'participant', autoSubscribe: !ingest,
      audio: ingest && sections.some((m) => m.kind === 'audio'), video: ingest && sections.some((m) => m.kind === 'video'),
    }, bearerToken(req));
    session.member = member;
    this.sessions.set(session.id, session);
    try {
      if (member.topology !== 'sfu') {
        throw new CallpeerError('SFU_NOT_ENABLED', `room "${roomId}" is a mesh room: ${ingest ? 'WHIP publishes into' : 'WHEP views'} SFU rooms (serve --topology sfu, or create the room with topology "sfu")`);
      }
      if (ingest && !member.admission.publish) throw new CallpeerError('UNAUTHORIZED', 'this token does not allow publishing, and publishing is all WHIP does');
      if (!ingest && !member.admission.subscribe) throw new CallpeerError('UNAUTHORIZED', 'this token does not allow subscribing, and receiving is all WHEP does');
      member.handle({ type: 'offer', sdp });
      // RFC 9725: no partly taken ingest; a section the room refuses fails the whole offer. A
      // room on this node refuses at once; one on another node before its answer comes back.
      refuseIfRefused(session);
      const answer = await withDeadline(session.answer, ANSWER_TIMEOUT_MS, () => new CallpeerError('SIGNALING_TIMEOUT', `the server's answer took over ${ANSWER_TIMEOUT_MS} ms`));
      refuseIfRefused(session);
      if (!ingest) assertViewable(answer);
      const location = `/${endpoint}/${encodeURIComponent(roomId)}/${session.id}`;
      const headers: Record<string, string | string[]> = { ...CORS, 'content-type': SDP_CONTENT_TYPE, location, etag: session.etag, 'cache-control': 'no-store' };
      const links = iceServerLinks(session.iceServers);
      if (links.length > 0) headers.link = links;
      res.writeHead(201, headers).end(answer);
      member.log.info({ session: session.id, endpoint, sections: sections.map((m) => m.kind), ...(publisher !== undefined && { publisher }) }, `${endpoint.toUpperCase()} session started`);
    } catch (err) {
      member.close('left');
      throw err;
    }
  }

  /** A PATCH or DELETE of a session this node holds (from its client, or handed over by another node). */
  sessionRequest(r: SessionRequest): void {
    const session = this.sessions.get(r.id);
    if (!session || session.roomId !== r.roomId || session.endpoint !== r.endpoint) throw new CallpeerError('PEER_NOT_FOUND', `no such ${r.endpoint.toUpperCase()} session here (it ended, or never was)`);
    if (r.method === 'DELETE') {
      session.member?.close('left');
      return;
    }
    expectType(r.contentType, TRICKLE_CONTENT_TYPE);
    if (r.ifMatch === undefined) throw new CallpeerError('INVALID_MESSAGE', 'a PATCH needs If-Match with the session\'s ETag (or "*")', { ref: 'if-match' });
    const fragment = parseTrickleFragment(r.body ?? '');
    const restart = fragment.ufrag !== undefined && fragment.ufrag !== session.ufrag;
    if (restart) {
      throw new CallpeerError('INVALID_MESSAGE', 'ICE restarts are not supported here (the session keeps its ICE): DELETE the session and publish again', { ref: 'ice-restart' });
    }
    if (r.ifMatch !== '*' && r.ifMatch !== session.etag) throw new CallpeerError('INVALID_MESSAGE', `If-Match ${r.ifMatch} is not this session's ETag`, { ref: 'etag' });
    for (const c of fragment.candidates) session.member?.handle({ type: 'candidate', candidate: c.candidate, mid: c.mid ?? session.firstMid });
  }
}

/** The first of the room's refusals of the offer's sections, if any, fails the POST. */
function refuseIfRefused(session: WhipSession): void {
  if (session.refusals.length > 0) throw new CallpeerError(session.refusals[0]!.code, session.refusals.map((e) => e.message).join('; '));
}

/** A WHEP answer that sends nothing (no section in a codec we forward) is refused: RFC 9725's 422-like case for egress. */
function assertViewable(answer: string): void {
  if (parseSdp(answer).media.some((m) => inUse(m) && sends(m.direction))) return;
  throw new CallpeerError('CODEC_NOT_SUPPORTED', 'none of the offered receive sections has a codec the room forwards (Opus audio; VP8 or H264 packetization-mode=1 video)');
}

function expectType(contentType: string | undefined, type: string): void {
  const got = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (got !== type) throw new CallpeerError('INVALID_MESSAGE', `the body must be ${type} (got ${got || 'no content type'})`, { ref: 'content-type' });
}
