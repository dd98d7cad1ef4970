import { randomBytes } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { CallpeerError, isWireErrorCode, toCallpeerError } from '../errors.js';
import { CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY, closeCodeFor } from '../protocol/close-codes.js';
import { PCM_MAX_BURST_MS, PCM_MIN_FRAME_BYTES, parsePcmClientMessage, parsePcmParams, type PcmParams, type PcmServerMessage } from '../protocol/pcm.js';
import type { JoinRequest, LeaveReason, Member, MemberSink } from '../rooms/member.js';
import type { ServerMessage } from '../protocol/signaling.js';
import { PcmMetrics } from './metrics.js';
import { PcmRoomLeg } from './room-leg.js';
import { PcmPeer } from './peer.js';
import type { AdoptRequest, PcmDownlink, PcmHost, PcmPairing, Placement } from './pairing.js';
import { PairingQueue } from './queue.js';
import { PcmSession } from './session.js';
import { TokenBucket } from '../time/token-bucket.js';
import { parseTwilioParams, TwilioStream, twilioError, type TwilioPayloads } from './twilio-stream.js';

export interface PcmServiceOptions {
  log: Logger;
  /** The server's Prometheus registry; the service registers its own metrics on it. */
  registry: Registry;
  /** Server ping interval, ms. Default 20000. */
  pingIntervalMs?: number;
  /** A client that sends nothing (no frame, no pong, no message) for this long is closed, ms. Default 60000. */
  silenceTimeoutMs?: number;
  /** Audio per receiver that may wait in the server's queue before the oldest is dropped, ms. Default 200. */
  maxQueuedMs?: number;
  /** Bytes per receiver unflushed in its socket's buffer before audio queues in the service. Default 16384. */
  maxBufferedBytes?: number;
  /** Bad frames (odd PCM length, bad JSON...) tolerated in a burst before the socket is closed with 1008; one is forgiven every 10 s. Default 50. */
  maxBadFrames?: number;
  /** Audio a client may send ahead of real time before its frames are dropped on arrival, ms. Default PCM_MAX_BURST_MS (5000). */
  maxBurstMs?: number;
  /**
   * Auth on: resolves when a client's `token` (absent: a guest) may use the service, rejects
   * UNAUTHORIZED otherwise; the client is then told and closed with 1008.
   */
  authorize?: (token: string | undefined) => Promise<void>;
  /** Period of the info-level stats line (pairs, frames relayed and dropped), ms; skipped while idle. Default 60000. */
  statsIntervalMs?: number;
  /**
   * (v2) Joins a room for `?room=` clients (the room registry's join: admission by `token`,
   * capacity). Without it, `?room=` is refused.
   */
  joinRoom?: (roomId: string, sink: MemberSink, request: JoinRequest, token: string | undefined) => Promise<Member>;
  /** (cluster) Where clients pair and rooms live when this server is one node of many. Without it, everything is here. */
  pairing?: PcmPairing;
}

/** (cluster) How many partners a client tries before giving up: each try takes a stale entry out of the queue. */
const MAX_PLACE_TRIES = 20;

/** How long `close()` waits for clients to answer the close handshake before cutting them off, ms. */
const CLOSE_GRACE_MS = 1000;
/** Bad frames come back at this rate, per second: good frames in between do not wipe the slate. */
const STRIKE_REFILL_PER_SECOND = 0.1;

/**
 * The /ws/pcm pairing service. The HTTP server accepts the upgrade (origin check, 1 MiB frame
 * limit) and hands each socket here with its upgrade URL. Clients wait in a queue (first come,
 * first served, or by invite code), are paired two by two, and are put back in the queue when
 * their partner leaves.
 */
export class PcmService implements PcmHost {
  private readonly log: Logger;
  private readonly metrics: PcmMetrics;
  private readonly queue = new PairingQueue<PcmPeer>();
  private readonly peers = new Map<string, PcmPeer>();
  private readonly sessions = new Set<PcmSession>();
  /** One cache for every Twilio stream: the room mix legs share is µ-law encoded once per tick. */
  private readonly twilioPayloads: TwilioPayloads = new WeakMap();
  private readonly silenceTimeoutMs: number;
  private readonly maxBadFrames: number;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly sweepMs: number;
  private lastSweep = Date.now();
  private readonly statsTimer: NodeJS.Timeout;
  /** Counter values at the last stats line. */
  private lastStats = { forwarded: 0, transcoded: 0, dropped: 0 };
  private nextPeer = 1;
  private nextSession = 1;
  private closed = false;

  constructor(private readonly options: PcmServiceOptions) {
    this.log = options.log;
    this.metrics = new PcmMetrics(options.registry);
    this.metrics.legs = () => [...this.peers.values()].flatMap((p) => (p.leg ? [p.leg.stats()] : []));
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? 60_000;
    this.maxBadFrames = options.maxBadFrames ?? 50;
    const pingIntervalMs = options.pingIntervalMs ?? 20_000;
    for (const [name, v] of [['pingIntervalMs', pingIntervalMs], ['silenceTimeoutMs', this.silenceTimeoutMs]] as const) {
      if (!(v > 0)) throw new TypeError(`${name} must be a positive number of ms, got ${v}`);
    }
    this.pingTimer = setInterval(() => this.pingAll(), pingIntervalMs).unref();
    // Check for silence every second (or a quarter of a short timeout): a silent client goes
    // within a second of the timeout.
    this.sweepMs = Math.max(10, Math.min(1000, this.silenceTimeoutMs / 4));
    // setImmediate: after a stall of this process, let the poll phase read what clients sent
    // meanwhile before judging anyone silent (timers run before I/O in Node's loop).
    this.sweepTimer = setInterval(() => setImmediate(() => this.closeSilent()), this.sweepMs).unref();
    this.statsTimer = setInterval(() => this.logStats(), options.statsIntervalMs ?? 60_000).unref();
    options.pairing?.bind(this);
  }

  /** A /ws/pcm client, or with `dialect: 'twilio'` a /ws/twilio stream (it joins its room at `start`). */
  handleConnection(ws: WebSocket, url: URL, dialect: 'pcm' | 'twilio' = 'pcm'): void {
    // Writing to a socket the client just cut (both partners leaving at once, a refused client
    // that already left) lands here, as does a frame over the size limit (ws then closes 1009).
    ws.on('error', (err) => this.log.debug({ err }, 'pcm socket error'));
    if (this.closed) {
      ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      return;
    }
    let params: PcmParams;
    try {
      params = dialect === 'twilio' ? parseTwilioParams(url.searchParams) : parsePcmParams(url.searchParams);
    } catch (err) {
      const e = toCallpeerError(err, 'INVALID_MESSAGE');
      ws.send(dialect === 'twilio' ? twilioError('INVALID_MESSAGE', e.message) : JSON.stringify({ type: 'error', code: e.code, message: e.message }));
      ws.close(closeCodeFor('INVALID_MESSAGE'), 'bad parameters');
      return;
    }
    if (dialect === 'twilio') {
      this.accept(ws, params, new TwilioStream(ws, params.room, this.twilioPayloads));
      return;
    }
    // A room client is admitted by the room (its token is checked there).
    if (!this.options.authorize || params.room !== undefined) {
      this.accept(ws, params);
      return;
    }
    // Frames that arrive before the token is checked are not read: nothing is listening yet.
    this.options.authorize(params.token).then(
      () => { if (!this.closed && ws.readyState === ws.OPEN) this.accept(ws, params); },
      (err: unknown) => {
        const e = toCallpeerError(err, 'UNAUTHORIZED');
        ws.send(JSON.stringify({ type: 'error', code: e.code, message: e.message }));
        ws.close(closeCodeFor('UNAUTHORIZED'), 'unauthorized');
      },
    );
  }

  /** A client, wired up; then it joins its room or the queue, unless it is a Twilio stream or `relayed` (a client of another node, see adopt). */
  private accept(ws: WebSocket, params: PcmParams, twilio?: TwilioStream, relayed?: { release: () => void; muted: boolean }): PcmPeer {
    const metrics = this.metrics;
    const peer = new PcmPeer(`p${this.nextPeer++}`, ws, params, {
      maxQueuedMs: this.options.maxQueuedMs,
      maxBufferedBytes: this.options.maxBufferedBytes,
      onDrop: (n) => { metrics.dropped += n; },
    }, new TokenBucket(STRIKE_REFILL_PER_SECOND, this.maxBadFrames), this.options.maxBurstMs ?? PCM_MAX_BURST_MS, twilio);
    this.peers.set(peer.id, peer);
    if (relayed) {
      peer.release = relayed.release;
      peer.muted = relayed.muted;
    }
    ws.on('message', (data, isBinary) => this.onMessage(peer, data, isBinary));
    const heard = () => { peer.lastHeard = Date.now(); };
    ws.on('pong', heard);
    ws.on('ping', heard);
    ws.on('close', () => this.onClose(peer));
    this.log.debug({ peer: peer.id, codec: params.codec, rate: params.rate, byCode: params.pair !== undefined, room: params.room, twilio: Boolean(twilio) }, 'pcm client connected');
    // A Twilio stream joins at its `start` message, which names it and carries its token.
    if (twilio || relayed) return peer;
    if (params.room !== undefined && this.options.pairing) void this.place(peer, false);
    else if (params.room !== undefined) this.joinRoom(peer, params.room);
    else this.enqueue(peer, false);
    return peer;
  }

  /** (cluster) A client of another node, hosted here: see PcmHost.adopt. */
  adopt(socket: WebSocket, request: AdoptRequest, release: () => void): void {
    // Stopping, nobody waits here any more: the caller pairs elsewhere.
    if (this.closed) throw new CallpeerError(request.params.room !== undefined ? 'INTERNAL' : 'PEER_NOT_FOUND', 'this node is shutting down');
    const { params } = request;
    let waiter: PcmPeer | undefined;
    if (request.waiter !== undefined) {
      waiter = this.peers.get(request.waiter);
      if (!waiter?.open || !this.queue.remove(waiter)) throw new CallpeerError('PEER_NOT_FOUND', `client ${request.waiter} no longer waits`);
    }
    const peer = this.accept(socket, params, undefined, { release, muted: request.muted });
    if (waiter) this.startSession(waiter, peer);
    else if (params.room !== undefined) this.joinRoom(peer, params.room);
    else this.offer(peer, request.requeued ?? false);
    this.syncGauges();
  }

  codesInUse(): Iterable<string> {
    return this.queue.codes();
  }

  /** (v2) Joins the client to a WebRTC room as a `phone` participant, its audio through a PcmRoomLeg. */
  private joinRoom(peer: PcmPeer, roomId: string): void {
    const join = this.options.joinRoom;
    if (!join) {
      this.refuseAndClose(peer, new CallpeerError('INVALID_MESSAGE', 'this server does not put PCM clients in rooms'));
      return;
    }
    const leg = new PcmRoomLeg(peer.params, peer.egress, { maxQueuedMs: this.options.maxQueuedMs, totals: this.metrics.gateway });
    const sink: MemberSink = {
      send: (m) => this.toRoomClient(peer, m),
      detached: (reason) => this.roomLeft(peer, reason),
    };
    const request: JoinRequest = { id: randomBytes(6).toString('base64url'), role: 'phone', audio: true, leg, ...(peer.params.name !== undefined && { name: peer.params.name }) };
    peer.leg = leg;
    join(roomId, sink, request, peer.params.token).then(
      (member) => {
        if (peer.gone) member.close('disconnected');
        else peer.member = member;
      },
      (err: unknown) => {
        leg.close();
        peer.leg = undefined;
        this.refuseAndClose(peer, toCallpeerError(err, 'INTERNAL'));
      },
    );
  }

  /** What a room client hears of the room's signaling: who comes and goes, and why it is out. */
  private toRoomClient(peer: PcmPeer, m: ServerMessage): void {
    const { codec, rate } = peer.params;
    if (m.type === 'joined') peer.sendJson({ type: 'connected', codec, sampleRate: rate, channels: 1, frameMs: 20, room: m.room.id, id: m.id });
    else if (m.type === 'peer-joined' || m.type === 'peer-left' || m.type === 'room-closed' || m.type === 'kicked') peer.sendJson(m);
    else if (m.type === 'error') peer.sendJson({ type: 'error', code: m.code, message: m.message });
  }

  /** The room let the client go (kicked, deleted, server stopping): its socket closes. */
  private roomLeft(peer: PcmPeer, reason: LeaveReason): void {
    peer.member = undefined;
    peer.leg?.close();
    peer.leg = undefined;
    // Told why (`kicked`, `room-closed`) first, the client's connection ends cleanly; a server stopping goes away.
    if (reason !== 'disconnected' && peer.open) peer.ws.close(reason === 'room-closed' ? CLOSE_GOING_AWAY : CLOSE_NORMAL, reason);
  }

  /** Tells the client why and closes its socket. */
  private refuseAndClose(peer: PcmPeer, err: CallpeerError): void {
    peer.sendJson({ type: 'error', code: isWireErrorCode(err.code) ? err.code : 'INTERNAL', message: err.message });
    if (peer.open) peer.ws.close(closeCodeFor(isWireErrorCode(err.code) ? err.code : 'INTERNAL'), err.code.toLowerCase());
  }

  /** Tells every client the server is going away (close code 1001) and frees all pairs. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    clearInterval(this.sweepTimer);
    clearInterval(this.statsTimer);
    for (const session of this.sessions) session.close();
    this.sessions.clear();
    for (const peer of this.peers.values()) {
      peer.link?.close();
      // A client of another node that was paired here: its partner is going, its socket stays; it pairs again from its node.
      if (peer.release && !peer.leg) {
        if (peer.session) peer.sendJson({ type: 'disconnected' });
        this.handBack(peer);
        continue;
      }
      peer.member?.close('disconnected');
      peer.leg?.close();
      peer.gone = true;
      peer.egress.close();
      peer.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      setTimeout(() => peer.ws.terminate(), CLOSE_GRACE_MS).unref();
    }
    this.peers.clear();
    this.metrics.waiting = 0;
    this.metrics.pairs = 0;
  }

  private onMessage(peer: PcmPeer, data: RawData, isBinary: boolean): void {
    if (peer.gone) return;
    peer.lastHeard = Date.now();
    const bytes = toBuffer(data);
    if (peer.twilio) {
      if (isBinary) this.refuse(peer, new CallpeerError('INVALID_MESSAGE', 'a Twilio stream sends JSON text frames, not binary ones'));
      else this.onTwilioText(peer, peer.twilio, bytes.toString('utf8'));
      return;
    }
    // Hosted on another node: that node checks and relays it, as it would its own client's.
    if (peer.link) {
      peer.link.forward(bytes, isBinary);
      return;
    }
    if (!isBinary) {
      this.onText(peer, bytes.toString('utf8'));
      return;
    }
    if (bytes.length < PCM_MIN_FRAME_BYTES) return;
    if (peer.params.codec === 'pcm' && (bytes.length & 1) !== 0) {
      this.refuse(peer, new CallpeerError('INVALID_MESSAGE', `a PCM frame must hold whole 16-bit samples, got ${bytes.length} bytes`));
      return;
    }
    const ms = peer.frameMs(bytes);
    if (!this.admit(peer, ms)) return;
    try {
      // While waiting there is nobody to hear it: dropped.
      if (peer.leg) peer.leg.push(bytes);
      else peer.session?.relay(peer, bytes, ms);
    } catch (err) {
      this.refuse(peer, toCallpeerError(err, 'INVALID_MESSAGE'));
    }
  }

  /** Within the client's real-time budget (else dropped, counted, and the client told). */
  private admit(peer: PcmPeer, ms: number): boolean {
    if (peer.admitAudio(ms)) return true;
    this.metrics.overrun++;
    peer.noticeOverrun();
    return false;
  }

  /**
   * A Twilio stream's frame. A bad `start` (malformed, a format other than µ-law 8 kHz mono)
   * ends the stream, since it can never join; a bad frame after it is refused like a PCM
   * client's (an error, the socket closed if it keeps at it).
   */
  private onTwilioText(peer: PcmPeer, stream: TwilioStream, text: string): void {
    let action;
    try {
      action = stream.read(text);
    } catch (err) {
      const e = toCallpeerError(err, 'INVALID_MESSAGE');
      if (stream.streamSid === undefined && (e.code === 'CODEC_NOT_SUPPORTED' || e.ref?.startsWith('start'))) this.refuseAndClose(peer, e);
      else this.refuse(peer, e);
      return;
    }
    switch (action.kind) {
      case 'join':
        peer.params.name = action.name;
        peer.params.room = action.room;
        if (action.token !== undefined) peer.params.token = action.token;
        // In a cluster the room may live elsewhere: the stream is then relayed there as an 8 kHz PCM client.
        if (this.options.pairing) void this.place(peer, false);
        else this.joinRoom(peer, action.room);
        break;
      case 'audio':
        if (peer.link) peer.link.forward(action.pcm, true); // admitted by the room's node
        else if (this.admit(peer, action.ms)) peer.leg?.push(action.pcm);
        break;
      case 'stop':
        // The caller hung up: out of the room now, the socket closed cleanly.
        peer.member?.close('disconnected');
        peer.member = undefined;
        peer.ws.close(CLOSE_NORMAL, 'stream stopped');
        break;
      case 'none':
        break;
    }
  }

  private onText(peer: PcmPeer, text: string): void {
    let muted: boolean;
    try {
      muted = parsePcmClientMessage(text).muted;
    } catch (err) {
      this.refuse(peer, toCallpeerError(err, 'INVALID_MESSAGE'));
      return;
    }
    peer.muted = muted;
    peer.session?.mute(peer, muted);
    if (peer.member) peer.member.room.update(peer.member, { audio: !muted });
  }

  /** Answers a bad frame with an error; the socket stays open unless the client keeps at it. */
  private refuse(peer: PcmPeer, err: CallpeerError): void {
    // Only protocol codes go on the wire: a local one escaping from below (PARSE_ERROR) is INTERNAL.
    peer.sendJson({ type: 'error', code: isWireErrorCode(err.code) ? err.code : 'INTERNAL', message: err.message });
    if (!peer.strikes.take()) {
      this.log.info({ peer: peer.id }, 'pcm client closed after too many bad frames');
      peer.ws.close(CLOSE_POLICY, 'too many bad frames');
    }
  }

  /** Puts a client in the queue; pairs it at once if a partner waits (in a cluster, wherever it waits). */
  private enqueue(peer: PcmPeer, requeued: boolean): void {
    if (this.options.pairing) void this.place(peer, requeued);
    else this.offer(peer, requeued);
  }

  /**
   * (cluster) Pairs the client wherever its partner waits or its code lives, or joins its room
   * wherever it lives: here, or relayed to the node that hosts it.
   */
  private async place(peer: PcmPeer, requeued: boolean): Promise<void> {
    const pairing = this.options.pairing!;
    for (let tries = 0; tries < MAX_PLACE_TRIES; tries++) {
      let placement: Placement;
      try {
        placement = await pairing.place(peer.id, peer.params, peer.muted, this.downlink(peer), requeued);
      } catch (err) {
        this.refuseAndClose(peer, toCallpeerError(err, 'INTERNAL'));
        return;
      }
      if (placement.kind === 'relayed') {
        if (peer.gone) placement.link.close();
        else peer.link = placement.link;
        return;
      }
      if (peer.gone || this.closed) {
        if (peer.params.pair === undefined) pairing.unlisted(peer.id);
        return;
      }
      if (peer.params.room !== undefined) {
        this.joinRoom(peer, peer.params.room);
        return;
      }
      if (placement.partner === undefined) {
        this.offer(peer, requeued);
        return;
      }
      const partner = this.peers.get(placement.partner);
      if (partner?.open && this.queue.remove(partner)) {
        this.startSession(partner, peer);
        this.syncGauges();
        return;
      }
      // It stopped waiting meanwhile: the next one.
    }
    this.refuseAndClose(peer, new CallpeerError('INTERNAL', 'no partner could be reached; try again'));
  }

  /** (cluster) What the node hosting a client's pair or room sends back for it. */
  private downlink(peer: PcmPeer): PcmDownlink {
    return {
      audio: (frame) => peer.egress.push(frame, peer.frameMs(frame)),
      // A Twilio stream hears errors only, in its dialect (sendJson sees to it).
      text: (json) => {
        if (!peer.twilio) {
          if (peer.open) peer.ws.send(json);
        } else {
          peer.sendJson(JSON.parse(json) as PcmServerMessage);
        }
      },
      close: (code, reason) => {
        peer.link = undefined;
        if (peer.open) peer.ws.close(code, reason);
      },
      released: () => {
        peer.link = undefined;
        if (!peer.open) return;
        peer.sendJson({ type: 'waiting' });
        this.enqueue(peer, true);
      },
    };
  }

  /** Pairs a client in this node's queue, or queues it. */
  private offer(peer: PcmPeer, requeued: boolean): void {
    const result = this.queue.offer(peer, peer.params.pair);
    if (result.kind === 'full') {
      peer.sendJson({ type: 'error', code: 'PAIR_FULL', message: 'this pair code is already in use by two clients' });
      peer.ws.close(closeCodeFor('PAIR_FULL'), 'pair code in use');
    } else if (result.kind === 'waiting') {
      if (!requeued) peer.sendJson({ type: 'waiting' });
    } else if (!result.partner.open) {
      // Its close handshake is under way ('close' not emitted yet): it will not be back.
      if (peer.params.pair !== undefined) this.queue.release(peer.params.pair);
      this.offer(peer, requeued);
    } else {
      this.startSession(result.partner, peer);
    }
    this.syncGauges();
  }

  private startSession(a: PcmPeer, b: PcmPeer): void {
    const id = `s${this.nextSession++}`;
    const session = new PcmSession(id, a, b, this.metrics, this.log.child({ session: id }));
    a.session = session;
    b.session = session;
    this.sessions.add(session);
    session.start();
    // Paired: whichever of them waits listed in the cluster's queue is out of it.
    for (const p of [a, b]) if (p.params.pair === undefined && !p.release) this.options.pairing?.unlisted(p.id);
  }

  private onClose(peer: PcmPeer): void {
    if (peer.gone) return;
    peer.gone = true;
    this.peers.delete(peer.id);
    peer.egress.close();
    if (this.queue.remove(peer) && peer.params.pair === undefined && !peer.release) this.options.pairing?.unlisted(peer.id);
    peer.link?.close();
    peer.link = undefined;
    if (peer.session) this.endSession(peer.session, peer);
    peer.member?.close('disconnected');
    peer.member = undefined;
    peer.leg?.close();
    peer.leg = undefined;
    this.syncGauges();
    this.log.debug({ peer: peer.id }, 'pcm client left');
  }

  /** Ends a pair because `leaver` left; its partner, if still there, is queued again. */
  private endSession(session: PcmSession, leaver: PcmPeer): void {
    if (!this.sessions.delete(session)) return;
    session.close();
    session.a.session = undefined;
    session.b.session = undefined;
    const code = session.code;
    if (code !== undefined) this.queue.release(code);
    session.log.info({ leaver: leaver.id }, 'pcm pair ended');
    const survivor = session.partnerOf(leaver);
    if (!survivor.open) return;
    survivor.sendJson({ type: 'disconnected' });
    if (survivor.release) {
      this.handBack(survivor);
      return;
    }
    survivor.sendJson({ type: 'waiting' });
    this.enqueue(survivor, true);
  }

  /** (cluster) A client of another node is out of its pair here: its node pairs it again. */
  private handBack(peer: PcmPeer): void {
    peer.gone = true;
    this.peers.delete(peer.id);
    peer.egress.close();
    this.queue.remove(peer);
    const release = peer.release!;
    peer.release = undefined;
    release();
  }

  /** Clients of other nodes are pinged and timed out by their own node. */
  private pingAll(): void {
    for (const peer of this.peers.values()) if (peer.open && !peer.release) peer.ws.ping();
  }

  /** Closes clients silent for the timeout. Audio counts as a sign of life, so talkers stay. */
  private closeSilent(): void {
    if (this.closed) return;
    const now = Date.now();
    const late = now - this.lastSweep > 2 * this.sweepMs;
    this.lastSweep = now;
    // This process stalled (GC, CPU starvation): its clients' frames may still sit unread.
    if (late) return;
    const deadline = now - this.silenceTimeoutMs;
    for (const peer of this.peers.values()) {
      if (peer.lastHeard >= deadline || peer.release) continue;
      this.log.info({ peer: peer.id, silentMs: now - peer.lastHeard }, 'pcm client silent, closed');
      peer.ws.terminate();
    }
  }

  /** One info line per period with what happened in it, instead of anything per frame. */
  private logStats(): void {
    const m = this.metrics;
    const last = this.lastStats;
    const delta = { forwarded: m.forwarded - last.forwarded, transcoded: m.transcoded - last.transcoded, dropped: m.dropped - last.dropped };
    if (m.pairs === 0 && m.waiting === 0 && delta.forwarded + delta.transcoded + delta.dropped === 0) return;
    this.lastStats = { forwarded: m.forwarded, transcoded: m.transcoded, dropped: m.dropped };
    this.log.info({ pairs: m.pairs, waiting: m.waiting, ...delta }, 'pcm stats');
  }

  private syncGauges(): void {
    this.metrics.waiting = this.queue.size;
    this.metrics.pairs = this.sessions.size;
  }
}

/** ws hands binary frames as one Buffer unless `binaryType` was changed. */
function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
