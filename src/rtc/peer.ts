/**
 * Peer: one node-datachannel PeerConnection with the sharp edges filed off (see
 * the team's NODE-DATACHANNEL.md field notes):
 * - every native callback body is guarded: an exception there would abort the process, so a
 *   throw closes this Peer (`error`, then `closed` with reason 'error') and the process lives;
 * - a remote offer is answered with exactly what we support: one track per offered audio/video
 *   mid is added (direction mirrored, one codec) before setRemoteDescription;
 * - remote candidates wait until the remote description is set, end-of-candidates is dropped;
 *   local candidates wait until our description has been signaled (browsers reject early ones)
 *   and the remote one is set (see flushLocalCandidates: a remote that reaches us over ICE
 *   while libdatachannel applies its answer gets its certificate refused);
 * - setLocalDescription is only called when stable and there is something to negotiate;
 * - every native Track/DataChannel is referenced until close(), which cascades.
 *
 * Signaling is the caller's: forward `signal` events to the other side, feed what it sends
 * to handleRemoteDescription / addRemoteCandidate. Glare follows perfect negotiation: the
 * polite side (PROTOCOL.md: the lower participant id) lets a colliding remote offer win, the
 * impolite side ignores it.
 */
import { EventEmitter } from 'node:events';
import { cleanup, PeerConnection, type DataChannel, type DataChannelInitConfig, type Track } from 'node-datachannel';
import { CallpeerError, toCallpeerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { DEFAULT_CAPABILITIES, planAnswer, type AnswerEntry, type MediaCapabilities } from './answer-plan.js';
import { PeerDataChannel } from './data-channel.js';
import { MediaTrack } from './media-track.js';
import { describeMedia, isRelayCandidate, offerAsDtlsClient, offerAsDtlsServer, OPUS_FMTP, randomId, randomSsrc, relayCandidatesOnly, VP8_CODEC, watchNativeClose, withReceiveBandwidth } from './native.js';
import type { AddAudioTrackOptions, PeerCloseReason, PeerEvents, PeerOptions, PeerSignal } from './peer-types.js';
import { inUse, parseSdp, primarySsrcs, receives, sends, type SdpCodec, type SdpDirection, type SessionDescription } from './sdp.js';

export type { AddAudioTrackOptions, IceTransportPolicy, PeerCloseReason, PeerEvents, PeerOptions, PeerSignal } from './peer-types.js';
export { ICE_TRANSPORT_POLICIES } from './peer-types.js';
export { offerAsDtlsClient, OPUS_FMTP } from './native.js';

const livePeers = new Set<Peer>();
/**
 * Native Track wrappers superseded when a mid was described anew (retired or reused): only one
 * wrapper per m-section gets the library's close callback, and node-datachannel forgets a
 * wrapper (TrackWrapper::instances) only through that callback. A superseded wrapper that is
 * garbage-collected leaves a dangling pointer there, which the library's cleanup() then
 * dereferences (a crash at exit); one that is kept holds a thread-safe function (a libuv async
 * handle, scanned on every wakeup) for the life of the process: 2 per member who leaves an SFU
 * room, per member who stays. So a closed Peer's superseded wrappers are kept here, unless
 * the process released them (releaseClosedPeerNatives: a server, which never calls cleanup()).
 */
const retainedNatives: Track[] = [];
let releaseClosedNatives = false;
/** A wrapper was left to the collector: the library's cleanup() must not run in this process. */
let nativesReleased = false;

/**
 * From now on, a closed Peer's superseded native Track wrappers are left to the garbage
 * collector (their memory and libuv handles freed) instead of kept for the process's life,
 * and cleanupRtc() no longer calls the library's cleanup() once one was, since that would
 * touch freed wrappers. For a long-running process that exits with process.exit(): the server.
 */
export function releaseClosedPeerNatives(): void {
  releaseClosedNatives = true;
}

const MAX_PENDING_CANDIDATES = 100;

export class Peer extends EventEmitter<PeerEvents> {
  readonly id: string;
  /** Our RTCP CNAME, shared by every track of this Peer. */
  readonly cname: string;
  readonly polite: boolean;
  private readonly log: Logger;
  private readonly pc: PeerConnection;
  private readonly caps: MediaCapabilities;
  private readonly mediaTracks = new Map<string, MediaTrack>();
  /** Natives the library made for mids we did not pre-add: referenced until close (GC would kill them). */
  private readonly strayTracks: Track[] = [];
  /** Wrappers of this Peer's m-sections described anew (see retainedNatives). */
  private readonly superseded: Track[] = [];
  /** Send sections set inactive by retireTrack(), by mid: the next send track of their kind and codec reuses one. */
  private readonly retired = new Map<string, MediaTrack>();
  /** A section was described anew: the next negotiation must re-offer even with no new mid. */
  private redescribed = false;
  private readonly channels = new Set<PeerDataChannel>();
  private pendingRemoteCandidates: { candidate: string; mid: string | undefined }[] = [];
  private pendingLocalCandidates: PeerSignal[] = [];
  private remoteDescriptionSet = false;
  private localDescriptionSent = false;
  private remoteMids: string[] = [];
  private negotiationWanted = false;
  private negotiationScheduled = false;
  private connectedOnce = false;
  private isConnected = false;
  private closeReason: PeerCloseReason | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private disconnectedTimer: NodeJS.Timeout | undefined;
  private readonly connectTimeoutMs: number;
  private readonly disconnectedTimeoutMs: number;
  private readonly offererIsDtlsClient: boolean;
  private readonly acceptDataChannels: boolean;
  /** iceTransportPolicy 'relay': we signal relay candidates only (see PeerOptions). */
  private readonly relayOnly: boolean;
  private readonly receiveBandwidth: PeerOptions['receiveBandwidth'];
  private readonly trickle: boolean;
  /** trickle false: a description made before gathering completed, signaled when it does. */
  private heldDescription: 'offer' | 'answer' | undefined;
  /** performance.now() when ICE first connected (PeerOptions.timeIce). */
  iceConnectedAt: number | undefined;

  constructor(options: PeerOptions = {}) {
    super();
    this.id = options.id ?? randomId(4);
    this.cname = randomId(8);
    this.polite = options.polite ?? true;
    this.caps = { ...DEFAULT_CAPABILITIES, ...options.capabilities };
    this.log = (options.logger ?? silentLogger()).child({ peer: this.id });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.disconnectedTimeoutMs = options.disconnectedTimeoutMs ?? 10_000;
    this.offererIsDtlsClient = options.offererIsDtlsClient ?? false;
    this.relayOnly = options.iceTransportPolicy === 'relay';
    this.receiveBandwidth = options.receiveBandwidth;
    this.acceptDataChannels = options.acceptDataChannels ?? true;
    this.trickle = options.trickle ?? true;
    this.pc = new PeerConnection(this.id, {
      iceServers: options.iceServers ?? [],
      ...(options.bindAddress !== undefined && { bindAddress: options.bindAddress }),
      ...(options.iceTransportPolicy !== undefined && { iceTransportPolicy: options.iceTransportPolicy }),
      ...(options.enableIceUdpMux !== undefined && { enableIceUdpMux: options.enableIceUdpMux }),
      ...(options.portRangeBegin !== undefined && { portRangeBegin: options.portRangeBegin }),
      ...(options.portRangeEnd !== undefined && { portRangeEnd: options.portRangeEnd }),
      // Media can be added to a connection that started with a data channel only.
      forceMediaTransport: true,
    });
    livePeers.add(this);
    this.installCallbacks();
    if (options.timeIce) {
      this.pc.onIceStateChange(this.guard('onIceStateChange', (state: string) => {
        if (state === 'connected' || state === 'completed') this.iceConnectedAt ??= performance.now();
      }));
    }
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Every negotiated audio/video track, in creation order. */
  tracks(): MediaTrack[] {
    return [...this.mediaTracks.values()];
  }

  track(mid: string): MediaTrack | undefined {
    return this.mediaTracks.get(mid);
  }

  signalingState(): string {
    return this.closed ? 'closed' : this.pc.signalingState();
  }

  /** The selected ICE candidate pair, or null before connection. */
  selectedCandidatePair(): ReturnType<PeerConnection['getSelectedCandidatePair']> {
    return this.closed ? null : this.pc.getSelectedCandidatePair();
  }

  /**
   * Applies a remote description. An offer is answered (the answer comes out as `signal`)
   * with one track per audio/video mid, as planned by planAnswer. Returns false when the
   * description was ignored: a colliding offer on the impolite side, an answer we were not
   * waiting for, or a connection that failed meanwhile (then closed as 'failed'). Throws
   * INVALID_SDP for a description that does not parse or that the library refuses, CLOSED
   * after close().
   */
  handleRemoteDescription(sdp: string, type: 'offer' | 'answer'): boolean {
    this.assertOpen();
    const parsed = parseSdp(sdp);
    const state = this.pc.signalingState();
    if (type === 'offer' && state !== 'stable' && !this.polite) {
      this.log.debug({ state }, 'ignoring colliding offer (impolite)');
      return false;
    }
    if (type === 'answer' && state !== 'have-local-offer') {
      this.log.debug({ state }, 'ignoring unexpected answer');
      return false;
    }
    const fresh: MediaTrack[] = [];
    const revived: [MediaTrack, AnswerEntry][] = [];
    if (type === 'offer') {
      for (const entry of planAnswer(parsed, this.caps)) {
        const track = this.mediaTracks.get(entry.mid);
        if (!track) fresh.push(this.addPlannedTrack(entry));
        else if (this.receivesAgain(track, entry)) revived.push([track, entry]);
      }
    }
    try {
      this.pc.setRemoteDescription(type === 'offer' && this.firstNegotiation() ? offerAsDtlsClient(sdp) : sdp, type);
    } catch (err) {
      for (const t of fresh) this.dropTrack(t); // a refused offer must not leave tracks behind
      // The connection failed under us (libdatachannel dropped its ICE transport; the state
      // callback is still queued): that is the cause, not the SDP.
      if (this.pc.state() === 'failed' || this.pc.state() === 'closed') {
        this.close('failed');
        return false;
      }
      throw new CallpeerError('INVALID_SDP', 'remote description refused', { cause: err });
    }
    this.armConnectTimer();
    this.remoteDescriptionSet = true;
    this.remoteMids = parsed.media.map((m) => m.mid);
    for (const [track, entry] of revived) track.receiveAgain(entry.codec);
    this.learnRemote(parsed);
    this.flushRemoteCandidates();
    // Deferred: the answerer's candidates (sent right after its answer) are applied first.
    if (this.pendingLocalCandidates.length > 0) setImmediate(this.guard('signal', () => this.flushLocalCandidates()));
    return true;
  }

  /**
   * Adds a remote ICE candidate (`candidate:...` or `a=candidate:...`). Queued until the remote
   * description is set; empty and end-of-candidates are dropped (the library throws on them).
   * A candidate the library refuses is logged and skipped: it is not fatal to the Peer.
   */
  addRemoteCandidate(candidate: string, mid?: string): void {
    if (this.closed) return;
    const c = candidate.trim();
    if (c === '' || c.includes('end-of-candidates')) return;
    if (!this.remoteDescriptionSet) {
      // Bounded: a browser sends a handful; more before any description is abuse.
      if (this.pendingRemoteCandidates.length < MAX_PENDING_CANDIDATES) this.pendingRemoteCandidates.push({ candidate: c, mid });
      return;
    }
    this.applyRemoteCandidate(c, mid);
  }

  /**
   * Adds an Opus track we send on (always signaled with our SSRC, or incoming RTP routing and
   * the remote's reports break) and (re)negotiates: the offer comes out as `signal`. Send on it
   * once the `negotiated` event fired and the track is open.
   */
  addAudioTrack(options: AddAudioTrackOptions = {}): MediaTrack {
    this.assertOpen();
    const mid = this.unusedMid();
    const direction = options.direction ?? 'sendrecv';
    const codec: SdpCodec = {
      payloadType: options.payloadType ?? 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: OPUS_FMTP, rtcpFb: [],
    };
    const reused = direction === 'sendonly' ? this.reuseRetired('audio', codec, options.streamId, options.trackId, []) : undefined;
    if (reused) return reused;
    const track = this.addTrackFor(mid, 'audio', direction, codec, options.streamId, options.trackId);
    this.requestNegotiation();
    return track;
  }

  /**
   * Adds a receive-only VP8 section and (re)negotiates, so the remote can send its camera to
   * us when we offer (a recorder). The `track` event fires once the remote says it sends.
   */
  addVideoReceiver(payloadType = 96): MediaTrack {
    this.assertOpen();
    const track = this.addTrackFor(this.unusedMid(), 'video', 'recvonly', { ...VP8_CODEC, payloadType });
    this.requestNegotiation();
    return track;
  }

  /**
   * Adds a send-only video track in `codec` (VP8 by default), offered with `nack`, `nack pli`
   * and `ccm fir` feedback. With `layers` > 1 it is simulcast the way Firefox signals it: one
   * SSRC per layer (low → high, in `track.localSsrcs`), each with a=ssrc lines, grouped by
   * `a=ssrc-group:SIM`, so a libdatachannel receiver routes every layer. An SFU forwarding a
   * publisher's camera gives the publisher's codec (with its fmtp).
   */
  addVideoSender(codec: SdpCodec = VP8_CODEC, options: { streamId?: string; trackId?: string; layers?: number } = {}): MediaTrack {
    this.assertOpen();
    const layers = Math.max(1, Math.min(3, options.layers ?? 1));
    const attributes = [`rtcp-fb:${codec.payloadType} ccm fir`];
    const reused = layers === 1 ? this.reuseRetired('video', codec, options.streamId, options.trackId, attributes) : undefined;
    if (reused) return reused;
    const extra = Array.from({ length: layers - 1 }, () => randomSsrc());
    const track = this.addTrackFor(this.unusedMid(), 'video', 'sendonly', codec, options.streamId, options.trackId, attributes, extra);
    this.requestNegotiation();
    return track;
  }

  /**
   * Stops sending on one of our send-only tracks for good: its m-section goes inactive in the
   * next offer and is kept for reuse by the next send track of the same kind and codec, so a
   * long session with churn keeps as many sections as tracks it ever sent at once (an SFU
   * subscriber whose publishers come and go). The MediaTrack object is the one reused.
   */
  retireTrack(track: MediaTrack): void {
    if (this.closed || this.mediaTracks.get(track.mid) !== track || track.direction !== 'sendonly') return;
    this.redescribe(track, 'inactive', track.codec, undefined, []);
    track.retire();
    this.retired.set(track.mid, track);
    this.requestNegotiation();
  }

  /** Opens a data channel (negotiates by itself when needed). */
  createDataChannel(label: string, init?: DataChannelInitConfig): PeerDataChannel {
    this.assertOpen();
    const native = init ? this.pc.createDataChannel(label, init) : this.pc.createDataChannel(label);
    return this.adoptChannel(native);
  }

  /** Closes the connection and everything on it. Idempotent; emits `closed` once. */
  close(reason: PeerCloseReason = 'closed'): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    livePeers.delete(this);
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectedTimer);
    for (const t of this.mediaTracks.values()) t.close();
    for (const ch of this.channels) ch.close();
    for (const t of this.strayTracks) {
      try {
        t.close(); // releases its callbacks, which would otherwise keep the event loop alive
      } catch {
        // already destroyed
      }
    }
    try {
      this.pc.close();
    } catch (err) {
      this.log.warn({ err }, 'close failed');
    }
    this.isConnected = false;
    this.pendingRemoteCandidates = [];
    this.pendingLocalCandidates = [];
    this.log.debug({ reason }, 'peer closed');
    try {
      this.emit('closed', reason);
    } catch (err) {
      this.log.error({ err }, 'closed listener threw');
    }
    // Natives are released only now, after pc.close() (a collected Track can abort a negotiation).
    this.mediaTracks.clear();
    this.retired.clear();
    this.channels.clear();
    this.strayTracks.length = 0;
    if (!releaseClosedNatives) retainedNatives.push(...this.superseded);
    else if (this.superseded.length > 0) nativesReleased = true;
    this.superseded.length = 0;
    this.removeAllListeners();
  }

  // --- internals ---

  private assertOpen(): void {
    if (this.closed) throw new CallpeerError('CLOSED', 'peer is closed');
  }

  /** Wraps a native callback: nothing may escape into node-datachannel. */
  private guard<A extends unknown[]>(what: string, fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      if (this.closed) return;
      try {
        fn(...args);
      } catch (err) {
        this.fail(what, err);
      }
    };
  }

  private fail(what: string, err: unknown): void {
    if (this.closed) return;
    const error = toCallpeerError(err);
    this.log.error({ err: error, in: what }, 'peer fault, closing');
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', error);
      } catch (e) {
        this.log.error({ err: e }, 'error listener threw');
      }
    }
    this.close('error');
  }

  private installCallbacks(): void {
    const pc = this.pc;
    pc.onLocalDescription(this.guard('onLocalDescription', (sdp: string, type: string) => {
      if (type !== 'offer' && type !== 'answer') return;
      this.armConnectTimer();
      if (!this.trickle && pc.gatheringState() !== 'complete') {
        this.heldDescription = type;
        return;
      }
      this.signalDescription(type, this.trickle ? sdp : pc.localDescription()?.sdp ?? sdp);
    }));
    pc.onLocalCandidate(this.guard('onLocalCandidate', (candidate: string, mid: string) => {
      // Without trickle they go out inside the description.
      if (!this.trickle) return;
      // libdatachannel filters these by the policy already; one rule for all we signal.
      if (this.relayOnly && !isRelayCandidate(candidate)) return;
      const signal: PeerSignal = { kind: 'candidate', candidate, mid };
      if (this.localDescriptionSent && this.remoteDescriptionSet) this.emit('signal', signal);
      else this.pendingLocalCandidates.push(signal);
    }));
    // One more native callback (a libuv handle, see addTrackFor): only where it is needed.
    if (!this.trickle) {
      pc.onGatheringStateChange(this.guard('onGatheringStateChange', (state: string) => {
        const type = this.heldDescription;
        if (state !== 'complete' || !type) return;
        this.heldDescription = undefined;
        const full = pc.localDescription();
        if (full) this.signalDescription(type, full.sdp);
      }));
    }
    pc.onStateChange(this.guard('onStateChange', (state: string) => this.onState(state)));
    pc.onSignalingStateChange(this.guard('onSignalingStateChange', (state: string) => {
      if (state !== 'stable') return;
      this.emit('negotiated');
      if (this.negotiationWanted) this.requestNegotiation();
    }));
    pc.onTrack(this.guard('onTrack', (native: Track) => {
      // Only for mids we did not pre-add (every audio/video mid of an offer is pre-added).
      this.strayTracks.push(native);
      watchNativeClose(native);
      this.log.warn({ mid: native.mid() }, 'unplanned track from the library');
    }));
    // Every native callback costs a libuv scan on each wakeup (addTrackFor): register this
    // one only for a Peer that takes channels the remote opens.
    if (this.acceptDataChannels) {
      pc.onDataChannel(this.guard('onDataChannel', (native: DataChannel) => {
        this.emit('datachannel', this.adoptChannel(native));
      }));
    }
  }

  private onState(state: string): void {
    this.log.debug({ state }, 'connection state');
    if (state === 'connected') {
      clearTimeout(this.connectTimer);
      clearTimeout(this.disconnectedTimer);
      this.disconnectedTimer = undefined;
      this.isConnected = true;
      this.connectedOnce = true;
      this.emit('connected');
    } else if (state === 'disconnected') {
      this.isConnected = false;
      if (this.disconnectedTimer === undefined) {
        this.disconnectedTimer = setTimeout(() => this.close('disconnected'), this.disconnectedTimeoutMs);
        this.disconnectedTimer.unref();
      }
    } else if (state === 'failed') {
      this.close('failed');
    } else if (state === 'closed') {
      this.close('closed');
    }
  }

  /** The DTLS role is chosen once, by the first offer/answer; re-offers must not change it. */
  private firstNegotiation(): boolean {
    return !this.remoteDescriptionSet && !this.localDescriptionSent;
  }

  /**
   * Our first offer names our DTLS role instead of leaving it to the answerer: the server by
   * default (we finish ICE first, see flushLocalCandidates), the client with offererIsDtlsClient.
   * A remote offer that leaves the role to us (actpass) makes us the server the same way:
   * handleRemoteDescription reads it as `active`, as browsers' offers always are answered here.
   */
  private ownOfferRole(sdp: string): string {
    return this.offererIsDtlsClient ? offerAsDtlsClient(sdp) : offerAsDtlsServer(sdp);
  }

  private armConnectTimer(): void {
    if (this.connectTimer !== undefined || this.connectedOnce || this.connectTimeoutMs <= 0) return;
    this.connectTimer = setTimeout(() => { if (!this.connectedOnce) this.close('timeout'); }, this.connectTimeoutMs);
    this.connectTimer.unref();
  }

  /**
   * A section we answered inactive that the remote now sends on, in a way we take: described
   * again before the answer, which then receives. An SFU offers a section inactive when the
   * track it was made for ended before the offer went out (a publisher whose connection failed
   * at once), then reuses it for the next track; kept inactive, that track never arrived.
   */
  private receivesAgain(track: MediaTrack, entry: AnswerEntry): boolean {
    if (track.direction !== 'inactive' || entry.direction !== 'recvonly' || this.retired.has(track.mid)) return false;
    // addTrack with a mid the connection has replaces that section's description in place.
    this.superseded.push(this.pc.addTrack(describeMedia(track.mid, track.kind, entry.direction, entry.codec, undefined, entry.attributes)));
    return true;
  }

  private addPlannedTrack(entry: AnswerEntry): MediaTrack {
    return this.addTrackFor(entry.mid, entry.kind, entry.direction, entry.codec, undefined, undefined, entry.attributes);
  }

  private addTrackFor(
    mid: string, kind: 'audio' | 'video', direction: SdpDirection, codec: SdpCodec | undefined,
    streamId?: string, trackId?: string, attributes: readonly string[] = [], simulcastSsrcs: readonly number[] = [],
  ): MediaTrack {
    const ssrc = randomSsrc();
    const send = sends(direction) ? { ssrc, cname: this.cname, streamId: streamId ?? this.cname, trackId: trackId ?? `${kind}-${mid}` } : undefined;
    const desc = describeMedia(mid, kind, direction, codec, send, attributes);
    if (send && simulcastSsrcs.length > 0) {
      for (const extra of simulcastSsrcs) desc.addSSRC(extra, send.cname, send.streamId, send.trackId);
      desc.parseSdpLine(`a=ssrc-group:SIM ${[ssrc, ...simulcastSsrcs].join(' ')}`);
    }
    const native = this.pc.addTrack(desc);
    const track = new MediaTrack(native, mid, kind, direction, codec, ssrc, this.cname, [ssrc, ...simulcastSsrcs]);
    // Each native callback is a thread-safe function, one libuv async handle, and libuv scans
    // every such handle on each wakeup (perf: ~10 % of a load generator's CPU, 12 % of an SFU's,
    // with thousands of tracks). So a track registers only onMessage (media and RTCP, which
    // libdatachannel routes by SSRC to send-only tracks too) and the onClosed the wrapper needs:
    // no onOpen (send() just fails until DTLS is up; isOpen() tells), no onError (failures show
    // in the connection state).
    // Per packet: the guard spelled out, without guard()'s rest-argument array.
    native.onMessage((msg: Buffer) => {
      if (this.closed) return;
      try {
        track.deliver(msg);
      } catch (err) {
        this.fail('track.onMessage', err);
      }
    });
    watchNativeClose(native);
    this.mediaTracks.set(mid, track);
    return track;
  }

  /** A retired section of `kind` in `codec`, described again as send-only with a new SSRC and msid. */
  private reuseRetired(kind: 'audio' | 'video', codec: SdpCodec, streamId: string | undefined, trackId: string | undefined, attributes: readonly string[]): MediaTrack | undefined {
    for (const track of this.retired.values()) {
      const c = track.codec;
      if (track.kind !== kind || !c || c.name.toLowerCase() !== codec.name.toLowerCase() || c.payloadType !== codec.payloadType || c.fmtp !== codec.fmtp) continue;
      this.retired.delete(track.mid);
      const ssrc = randomSsrc();
      this.redescribe(track, 'sendonly', codec, { ssrc, cname: this.cname, streamId: streamId ?? this.cname, trackId: trackId ?? `${kind}-${track.mid}` }, attributes);
      track.reuse(ssrc, codec);
      this.requestNegotiation();
      return track;
    }
    return undefined;
  }

  private redescribe(
    track: MediaTrack, direction: SdpDirection, codec: SdpCodec | undefined,
    send: { ssrc: number; cname: string; streamId: string; trackId: string } | undefined, attributes: readonly string[],
  ): void {
    // addTrack with a mid the connection has replaces that section's description in place.
    const native = this.pc.addTrack(describeMedia(track.mid, track.kind, direction, codec, send, attributes));
    this.superseded.push(native);
    this.redescribed = true;
  }

  private dropTrack(track: MediaTrack): void {
    this.mediaTracks.delete(track.mid);
    track.close();
  }

  /** Updates tracks from a remote description: its SSRCs, and whether it now sends. */
  private learnRemote(remote: SessionDescription): void {
    for (const m of remote.media) {
      const track = this.mediaTracks.get(m.mid);
      if (!track) continue;
      const theySend = inUse(m) && sends(m.direction);
      const before = track.remoteMedia?.msid;
      track.remoteSsrcs = theySend ? primarySsrcs(m) : [];
      track.remoteStreamId = m.msid?.streamId ?? m.ssrcs.find((x) => x.streamId !== undefined)?.streamId;
      track.remoteMedia = m;
      // A section the remote ended and reused for another track within one negotiation (an
      // SFU does): the old track ended, a new one began.
      const replaced = before !== undefined && m.msid !== undefined && (before.streamId !== m.msid.streamId || before.trackId !== m.msid.trackId);
      if (theySend && track.remoteSending && replaced) {
        track.remoteSending = false;
        this.emit('track-ended', track);
      }
      if (theySend && receives(track.direction) && !track.remoteSending) {
        track.remoteSending = true;
        this.emit('track', track);
      } else if (!theySend && track.remoteSending) {
        track.remoteSending = false;
        this.emit('track-ended', track);
      }
    }
  }

  /**
   * Signals our queued candidates once our description went out and the remote one is set.
   * An offerer's candidates wait for the answer: libdatachannel hands a remote description to
   * its ICE agent before it stores it for the DTLS fingerprint check
   * (rtc::PeerConnection::setRemoteDescription: iceTransport->setRemoteDescription, then
   * processRemoteDescription). A remote that already had our candidates has been sending ICE
   * checks, so the agent connects at once and the DTLS handshake can reach checkFingerprint
   * before the answer is stored; it then finds no remote description and refuses the
   * certificate ("certificate verify failed", no "Invalid fingerprint" line; 0.3-4 % of first
   * setups under load). Without our candidates the remote cannot reach us before we check it.
   * A consequence: the offerer now finishes ICE first, so it is the DTLS server by default
   * (see PeerOptions.offererIsDtlsClient). test/bench/dtls-setup.bench.ts measures both.
   */
  private flushLocalCandidates(): void {
    if (!this.localDescriptionSent || !this.remoteDescriptionSet || this.pendingLocalCandidates.length === 0) return;
    const queued = this.pendingLocalCandidates;
    this.pendingLocalCandidates = [];
    for (const s of queued) this.emit('signal', s);
  }

  private signalDescription(type: 'offer' | 'answer', sdp: string): void {
    const bounded = this.receiveBandwidth ? withReceiveBandwidth(sdp, this.receiveBandwidth) : sdp;
    const own = this.relayOnly ? relayCandidatesOnly(bounded) : bounded;
    this.emit('signal', { kind: 'description', type, sdp: type === 'offer' && this.firstNegotiation() ? this.ownOfferRole(own) : own });
    this.localDescriptionSent = true;
    this.flushLocalCandidates();
  }

  private flushRemoteCandidates(): void {
    const queued = this.pendingRemoteCandidates;
    this.pendingRemoteCandidates = [];
    for (const { candidate, mid } of queued) this.applyRemoteCandidate(candidate, mid);
  }

  private applyRemoteCandidate(candidate: string, mid: string | undefined): void {
    try {
      this.pc.addRemoteCandidate(candidate, mid ?? this.remoteMids[0] ?? '0');
    } catch (err) {
      this.log.warn({ err }, 'remote candidate refused');
    }
  }

  private requestNegotiation(): void {
    this.negotiationWanted = true;
    if (this.negotiationScheduled) return;
    this.negotiationScheduled = true;
    // Deferred so several tracks added in one tick go out in one offer.
    setImmediate(this.guard('negotiate', () => {
      this.negotiationScheduled = false;
      this.negotiate();
    }));
  }

  private negotiate(): void {
    if (!this.negotiationWanted) return;
    // In any other state the stable transition re-requests; with nothing to negotiate, or in
    // a wrong state, setLocalDescription aborts the process.
    if (this.pc.signalingState() !== 'stable') return;
    this.negotiationWanted = false;
    if (this.mediaTracks.size === 0 && this.channels.size === 0) return;
    // createDataChannel or an earlier offer may already carry every track: a redundant
    // re-offer racing the first DTLS handshake makes it fail (seen under churn).
    const local = this.pc.localDescription();
    if (local && !this.redescribed) {
      const mids = new Set(parseSdp(local.sdp).media.map((m) => m.mid));
      if ([...this.mediaTracks.keys()].every((mid) => mids.has(mid))) return;
    }
    this.redescribed = false;
    this.pc.setLocalDescription();
  }

  private unusedMid(): string {
    const used = new Set<string>([...this.mediaTracks.keys(), ...this.remoteMids]);
    const local = this.pc.localDescription();
    if (local) for (const m of parseSdp(local.sdp).media) used.add(m.mid);
    let n = 0;
    while (used.has(String(n))) n++;
    return String(n);
  }

  private adoptChannel(native: DataChannel): PeerDataChannel {
    const ch = new PeerDataChannel(native, (err) => this.fail('datachannel', err));
    this.channels.add(ch);
    ch.on('closed', () => this.channels.delete(ch));
    return ch;
  }
}

/** Peers made and not yet closed in this process (each holds a native PeerConnection and its callbacks). */
export function livePeerCount(): number {
  return livePeers.size;
}

/**
 * Closes every live Peer, then releases node-datachannel's threads: call at process end (the
 * process does not exit while they run). New Peers still work afterwards (the library starts
 * again on demand). After releaseClosedPeerNatives() released a wrapper, the threads stay:
 * end such a process with process.exit().
 */
export function cleanupRtc(): void {
  for (const p of [...livePeers]) p.close('closed');
  // Released wrappers left dangling pointers in the library's instance list (retainedNatives).
  if (!nativesReleased) cleanup();
}
