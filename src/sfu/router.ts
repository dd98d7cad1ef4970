/**
 * The SFU router of one room (PROTOCOL.md "SFU rooms, version 2"): the room's media side when
 * its topology is `sfu`, and the one owner of who receives what. Each member has one server
 * Peer. What a member offers to send becomes a Publication (its microphone, camera, screen);
 * every subscriber of it gets one send-only m-section we add on its Peer (a=msid stream id =
 * the publisher), fed by a Subscription. The router keeps the room's track list (`tracks`),
 * answers `subscribe`/`unsubscribe`/`layer`, and tells publishers which simulcast layers
 * anyone receives (`publish-layers`).
 */
import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LayerPreference, Quality, TrackInfo, TrackSource } from '../protocol/signaling.js';
import type { MemberMedia, RoomMedia, SignalMessage } from '../rooms/media.js';
import type { QualityReading } from '../rooms/quality-reporter.js';
import type { MediaKinds, Member } from '../rooms/member.js';
import { MAX_SIMULCAST_LAYERS, type VideoCodecName } from '../rtc/answer-plan.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { Peer, type PeerOptions } from '../rtc/peer.js';
import { iceUfrag, inUse, parseSdp, sends, type SessionDescription } from '../rtc/sdp.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { RtpTrack } from '../rtc/media-track.js';
import type { SdpCodec } from '../rtc/sdp.js';
import { DownlinkAllocator } from './downlink-allocator.js';
import { GATEWAY_OPUS, SfuGateway } from './gateway.js';
import type { SfuMetrics } from './metrics.js';
import { Publication, PUBLISHER_REMB_BITRATE, trackId } from './publication.js';
import { memberSample, UplinkMeter } from './quality.js';
import type { RtpRewriter } from './rtp-rewriter.js';
import { streamRewriter, Subscription } from './subscription.js';

/** v1's name for a publisher's microphone in `subscribe`/`unsubscribe`. */
export const SFU_AUDIO_TRACK = 'audio';

/** What the room lets its owner choose for each server Peer. */
export type SfuPeerOptions = Omit<PeerOptions, 'id' | 'logger' | 'polite' | 'capabilities'>;

export interface SfuRouterOptions {
  log: Logger;
  /**
   * For every server Peer: bind address, port range, ICE servers, ICE transport policy. A
   * function is called once per Peer, with the member's id, when the Peer is made: TURN
   * credentials expire, so each Peer gets fresh ones.
   */
  peer?: SfuPeerOptions | ((memberId: string) => SfuPeerOptions);
  /** Video codecs publishers may use (default VP8 and H264). */
  videoCodecs?: readonly VideoCodecName[];
  /**
   * `serve --max-video-bitrate`: what each video publisher is told it may send (REMB), kbit/s.
   * Chromium does not cap simulcast by the b=TIAS of our answer, but its bandwidth estimate
   * follows our REMB, and its senders stay under the estimate.
   */
  maxVideoBitrateKbps?: number;
  clock?: Clock;
  /** Counters on the server's /metrics (one SfuMetrics for every room). */
  metrics?: SfuMetrics;
}

const KIND_OF_SOURCE: Record<TrackSource, keyof MediaKinds> = { microphone: 'audio', camera: 'video', screen: 'screen' };

class SfuMember {
  readonly peer: Peer;
  /** What it publishes, by mid of its m-section. */
  readonly publications = new Map<string, Publication>();
  /** What it receives, by track id. */
  readonly subscriptions = new Map<string, Subscription<MediaTrack>>();
  /** The ICE ufrag of its first offer: a different one means a new connection. */
  ufrag: string | undefined;
  /** Mids of its offers already checked (refusals are said once). */
  readonly reported = new Set<string>();
  readonly uplink = new UplinkMeter();
  /** Shares its bandwidth estimate among the simulcast layers it receives. */
  readonly allocator = new DownlinkAllocator();
  /** (oneShot members) The next check that its media still comes. */
  liveness: unknown;
  /** (viewers) The rewriter of each of its sections' outgoing stream (see SubscriptionOptions.rewriter). */
  readonly streams = new Map<MediaTrack, RtpRewriter>();

  constructor(readonly member: Member, peer: Peer) {
    this.peer = peer;
  }
}

/**
 * A member that signals once (WHIP) has no channel whose loss says it went away: after a crash
 * its connection only fails when ICE consent expires, 30 s later. Its media stopping says so
 * sooner: checked this often, ms, and gone after this long without a packet on any of its
 * streams (an encoder sends all the time; Opus DTX still sends a frame every 400 ms).
 */
const ONE_SHOT_CHECK_MS = 1000;
const ONE_SHOT_SILENCE_MS = 5000;
/** A viewer (WHEP) only reports what it receives: Chromium's audio receiver reports every 2.5-7.5 s. */
const VIEWER_SILENCE_MS = 15_000;

export class SfuRouter implements RoomMedia {
  /** Members with a server connection (after their first offer). */
  private readonly members = new Map<string, SfuMember>();
  /**
   * Everyone in the room, connected or not: all of them hear `tracks`. With each, its `layer`
   * preferences by track id: kept for subscriptions made later, and taken before the member's
   * first offer (a page asks as soon as it sees the track list).
   */
  private readonly joined = new Map<string, { member: Member; preferences: Map<string, LayerPreference> }>();
  /** Every live publication of the room, by track id. */
  private readonly publications = new Map<string, Publication>();
  /** The PCM gateway's mixer: made when the first gateway member joins, closed with the last. */
  private gateway: SfuGateway | undefined;
  /** Gateway members' microphones, by member id. */
  private readonly legPublications = new Map<string, Publication>();
  private readonly legUplinks = new Map<string, UplinkMeter>();
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(readonly id: string, private readonly options: SfuRouterOptions) {
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.members.size;
  }

  join(member: Member): MemberMedia {
    this.joined.set(member.id, { member, preferences: new Map() });
    if (member.leg) return this.joinLeg(member);
    // After `joined` (sent once this returns), the track list as it is now.
    queueMicrotask(() => {
      if (member.room.get(member.id) === member) member.send({ type: 'tracks', tracks: this.trackList() });
    });
    return {
      signal: (m: SignalMessage) => {
        if (m.to !== undefined) {
          throw new CallpeerError('INVALID_MESSAGE', `room "${this.id}" is an SFU room: send "${m.type}" without "to" (the server is the other side)`, { ref: m.type });
        }
        if (m.type === 'candidate') this.candidate(member, m.candidate, m.mid);
        else this.description(member, m.type, m.sdp);
      },
      setSubscribed: (publisher, track, wanted) => this.setSubscribed(member, publisher, track, wanted),
      setLayer: (track, quality) => this.setLayer(member, track, quality),
      // The server measures SFU members itself; their own figures add nothing.
      reportStats: () => {},
      setMuted: () => this.applyMutes(member),
      updated: () => this.applyMutes(member),
      close: () => {
        if (this.joined.get(member.id)?.member === member) this.joined.delete(member.id);
        this.leave(member.id);
      },
    };
  }

  /** Each connected member's reading: its uplink measured here, its downlink from its reports; heard by its subscribers. */
  measureQuality(): QualityReading[] {
    const now = this.clock.now();
    const out: QualityReading[] = [];
    const read = (member: Member, meter: UplinkMeter, pubs: Publication[], subs: Iterable<Subscription>) => {
      const up = meter.read(pubs, now);
      if (!up) return;
      const audience = new Set<string>();
      for (const p of pubs) for (const s of p.subscriptions) if (s.receiving()) audience.add(s.subscriber.id);
      out.push({ id: member.id, sample: memberSample(member.participant, up, subs, pubs, now), audience });
    };
    for (const sm of this.members.values()) read(sm.member, sm.uplink, [...sm.publications.values()], sm.subscriptions.values());
    for (const [id, pub] of this.legPublications) {
      const member = this.joined.get(id)?.member;
      let meter = this.legUplinks.get(id);
      if (!meter) this.legUplinks.set(id, (meter = new UplinkMeter()));
      if (member) read(member, meter, [pub], []);
    }
    return out;
  }

  close(): void {
    for (const id of [...this.members.keys()]) this.leave(id);
    for (const id of [...this.legPublications.keys()]) this.leaveLeg(id);
    this.gateway?.close();
    this.gateway = undefined;
  }

  /**
   * A gateway member (PCM or phone client): no Peer. Its audio is published as its microphone
   * from the gateway's encoder, and it hears the gateway's mix of everyone else.
   */
  private joinLeg(member: Member): MemberMedia {
    const leg = member.leg!;
    if (!this.gateway) {
      this.gateway = new SfuGateway({ clock: this.clock, log: this.log });
      for (const p of this.publications.values()) this.gateway.addFeed(p);
    }
    const track = this.gateway.addLeg(member.id, leg);
    const pub = this.createPublication(member, 'microphone', track, GATEWAY_OPUS, () => {});
    this.legPublications.set(member.id, pub);
    this.gateway.setLegPublication(member.id, pub);
    this.announcePublication(pub, undefined);
    const noWebRtc = (ref: string): never => {
      throw new CallpeerError('INVALID_MESSAGE', `a ${member.participant.role} member's audio goes through its gateway connection: "${ref}" is for WebRTC members`, { ref });
    };
    return {
      signal: (m) => noWebRtc(m.type),
      setSubscribed: (_p, _t, wanted) => noWebRtc(wanted ? 'subscribe' : 'unsubscribe'),
      setLayer: () => noWebRtc('layer'),
      reportStats: () => noWebRtc('stats'),
      setMuted: () => this.applyMutes(member),
      updated: () => this.applyMutes(member),
      close: () => {
        if (this.joined.get(member.id)?.member === member) this.joined.delete(member.id);
        this.leaveLeg(member.id);
      },
    };
  }

  private leaveLeg(id: string): void {
    const pub = this.legPublications.get(id);
    if (!pub) return;
    this.legPublications.delete(id);
    this.legUplinks.delete(id);
    this.endPublication(pub);
    this.gateway?.removeLeg(id);
    if (this.gateway && this.gateway.legCount === 0) {
      this.gateway.close();
      this.gateway = undefined;
    }
    this.broadcastTracks();
  }

  /** The room's tracks as `tracks` lists them. */
  trackList(): TrackInfo[] {
    return [...this.publications.values()].map((p) => p.info(this.isMuted(p)));
  }

  private isMuted(p: Publication): boolean {
    const m = this.joined.get(p.publisher)?.member;
    if (!m) return false;
    const kind = KIND_OF_SOURCE[p.source];
    return m.serverMuted.has(kind) || m.participant[kind] === false;
  }

  private broadcastTracks(): void {
    const message = { type: 'tracks' as const, tracks: this.trackList() };
    for (const { member } of this.joined.values()) member.send(message);
  }

  /** A description from a member (`offer`/`answer` without `to`); its server Peer is made on the first. */
  private description(member: Member, type: 'offer' | 'answer', sdp: string): void {
    let sm = this.members.get(member.id);
    const ufrag = iceUfrag(sdp);
    if (sm && type === 'offer' && ufrag !== undefined && ufrag !== sm.ufrag) {
      // New ICE credentials: the member started over (its connection failed, maybe unseen
      // here); libdatachannel cannot restart ICE, so the old connection goes.
      this.log.info({ peer: member.id }, 'new connection offered; replacing the old one');
      this.leave(member.id);
      sm = undefined;
    }
    const parsed = type === 'offer' ? parseSdp(sdp) : undefined;
    member.log.debug({ type, sections: parsed?.media.map((m) => `${m.mid}:${m.kind}:${m.direction}:${m.ssrcs.length} ssrc`) }, 'description');
    if (sm) {
      sm.peer.handleRemoteDescription(sdp, type);
      if (parsed) this.checkOffer(sm, parsed);
      return;
    }
    if (type === 'answer') throw new CallpeerError('INVALID_MESSAGE', 'no offer from the server to answer: send an offer first', { ref: 'answer' });
    sm = this.addMember(member);
    sm.ufrag = ufrag;
    try {
      sm.peer.handleRemoteDescription(sdp, type);
    } catch (err) {
      this.leave(member.id);
      throw err;
    }
    this.checkOffer(sm, parsed!);
    // What the others publish already: added after their offer, whose mids come first.
    if (member.autoSubscribe) for (const p of this.publications.values()) if (p.publisher !== member.id) this.subscribe(sm, p);
  }

  /** Tells a publisher what of its offer the room does not take (its other media goes on). */
  private checkOffer(sm: SfuMember, offer: SessionDescription): void {
    for (const m of offer.media) {
      if (m.kind !== 'video' || !inUse(m) || !sends(m.direction) || !sm.member.admission.publish) continue;
      if (sm.reported.has(m.mid)) continue;
      sm.reported.add(m.mid);
      const track = sm.peer.track(m.mid);
      if (!track || track.direction === 'inactive') {
        const offered = [...new Set(m.codecs.map((c) => c.name).filter((n) => !/^(rtx|red|ulpfec|flexfec-03)$/i.test(n)))].join(', ');
        const allowed = (this.options.videoCodecs ?? ['VP8', 'H264']).join(', ');
        sm.member.send({
          type: 'error', code: 'CODEC_NOT_SUPPORTED', ref: 'offer',
          message: `video section ${m.mid} offers ${offered || 'no codec'}; this room takes ${allowed} (H264 with packetization-mode=1): that section is refused`,
        });
      }
      if (m.rids.length > MAX_SIMULCAST_LAYERS) {
        sm.member.send({
          type: 'error', code: 'INVALID_SDP', ref: 'offer',
          message: `video section ${m.mid} offers ${m.rids.length} simulcast encodings; the server takes at most ${MAX_SIMULCAST_LAYERS} (the first ${MAX_SIMULCAST_LAYERS}: ${m.rids.slice(0, MAX_SIMULCAST_LAYERS).join(', ')})`,
        });
      }
    }
  }

  private candidate(member: Member, candidate: string, mid: string): void {
    const sm = this.members.get(member.id);
    if (!sm) throw new CallpeerError('INVALID_MESSAGE', 'send an offer before candidates', { ref: 'candidate' });
    sm.peer.addRemoteCandidate(candidate, mid);
  }

  /** The publication a member names: a track id, or v1's `audio` for `publisher`'s microphone. */
  private findPublication(asker: Member, publisher: string | undefined, track: string, ref: string): Publication {
    const id = track === SFU_AUDIO_TRACK && publisher !== undefined ? trackId(publisher, 'microphone') : track;
    const pub = this.publications.get(id);
    if (pub && (publisher === undefined || pub.publisher === publisher)) return pub;
    if (publisher !== undefined && !asker.room.get(publisher)) {
      throw new CallpeerError('PEER_NOT_FOUND', `no participant "${publisher}" in room "${this.id}"`, { ref });
    }
    throw new CallpeerError('TRACK_NOT_FOUND', `no track "${track}"${publisher !== undefined ? ` from "${publisher}"` : ''} in room "${this.id}": see the latest "tracks" message`, { ref });
  }

  private setSubscribed(member: Member, publisher: string, track: string, wanted: boolean): void {
    const ref = wanted ? 'subscribe' : 'unsubscribe';
    const pub = this.findPublication(member, publisher, track, ref);
    const sm = this.members.get(member.id);
    if (!sm) throw new CallpeerError('INVALID_MESSAGE', `send an offer before "${ref}": the server needs your connection to send you media`, { ref });
    const sub = sm.subscriptions.get(pub.id);
    if (sub) {
      if (wanted && !sub.wanted) sub.resume();
      sub.wanted = wanted;
      pub.rebuildFanout();
      if (wanted) sub.setPreference(this.preferenceOf(sm.member.id, pub.id));
    } else if (wanted) {
      this.subscribe(sm, pub);
    }
  }

  private setLayer(member: Member, track: string, quality: LayerPreference): void {
    const pub = this.findPublication(member, undefined, track, 'layer');
    if (pub.kind !== 'video') throw new CallpeerError('INVALID_MESSAGE', `"${track}" is an audio track: it has no layers`, { ref: 'layer' });
    if (!pub.simulcast) throw new CallpeerError('INVALID_MESSAGE', `"${track}" is not simulcast: it has one layer`, { ref: 'layer' });
    this.joined.get(member.id)?.preferences.set(pub.id, quality);
    this.members.get(member.id)?.subscriptions.get(pub.id)?.setPreference(quality);
  }

  private preferenceOf(member: string, track: string): LayerPreference {
    return this.joined.get(member)?.preferences.get(track) ?? 'auto';
  }

  /** Server mutes and the member's own media state, applied to what it publishes. */
  private applyMutes(member: Member): void {
    const sm = this.members.get(member.id);
    const legPub = this.legPublications.get(member.id);
    const pubs = sm ? [...sm.publications.values()] : legPub ? [legPub] : [];
    for (const p of pubs) p.serverMuted = member.serverMuted.has(KIND_OF_SOURCE[p.source]);
    // `muted` in the track list follows the member's own state too.
    if (pubs.length > 0) this.broadcastTracks();
  }

  /** The member left or dropped: its connection closes, its tracks end. */
  private leave(id: string): void {
    const sm = this.members.get(id);
    if (!sm) return;
    this.members.delete(id);
    if (sm.liveness !== undefined) this.clock.clearTimeout(sm.liveness);
    for (const sub of sm.subscriptions.values()) sub.close();
    const ended = [...sm.publications.values()];
    for (const p of ended) this.endPublication(p);
    sm.peer.close();
    if (ended.length > 0) this.broadcastTracks();
  }

  private addMember(member: Member): SfuMember {
    const peerOptions = typeof this.options.peer === 'function' ? this.options.peer(member.id) : this.options.peer;
    const publish = member.admission.publish;
    const peer = new Peer({
      ...peerOptions,
      id: member.id,
      // The Peer binds `peer` itself: give it the room's logger, not the member's.
      logger: this.log,
      // The member is polite: on glare our offer wins.
      polite: false,
      // Media only: a channel the member opens is left unanswered.
      acceptDataChannels: false,
      trickle: !member.oneShot,
      // A member whose token says `publish: false` gets its send sections refused; a viewer
      // (WHEP) gets its receive sections answered send-only, in the codec the room's video has.
      capabilities: member.viewing
        ? { receiveAudio: false, receiveVideo: false, sendAudio: true, sendVideo: true, videoCodecs: this.viewerCodecs() }
        : { receiveAudio: publish, sendAudio: false, receiveVideo: publish, ...(this.options.videoCodecs && { videoCodecs: this.options.videoCodecs }) },
    });
    const sm = new SfuMember(member, peer);
    this.members.set(member.id, sm);
    peer.on('signal', (s) => {
      if (s.kind === 'description') member.send({ type: s.type, from: 'server', sdp: s.sdp });
      else member.send({ type: 'candidate', from: 'server', candidate: s.candidate, mid: s.mid });
    });
    peer.on('track', (track) => this.publish(sm, track));
    peer.on('track-ended', (track) => {
      const p = sm.publications.get(track.mid);
      if (!p) return;
      this.endPublication(p);
      this.broadcastTracks();
    });
    peer.on('closed', (reason) => {
      if (this.members.get(member.id) !== sm) return;
      member.log.info({ reason }, 'sfu connection closed');
      this.leave(member.id);
      // A member that cannot offer again (WHIP) has nothing left in the room.
      if (member.oneShot) member.close('disconnected');
    });
    if (member.oneShot) this.watchMedia(sm);
    return sm;
  }

  /** (oneShot members) Closes the member once media that flowed (a viewer's reports) stops for ONE_SHOT_SILENCE_MS (VIEWER_SILENCE_MS). */
  private watchMedia(sm: SfuMember): void {
    sm.liveness = this.clock.setTimeout(() => {
      if (this.members.get(sm.member.id) !== sm) return;
      let last = 0;
      for (const p of sm.publications.values()) for (const l of p.layers) last = Math.max(last, l.lastPacketMs);
      // A viewer (WHEP) sends no media, only its reports of what it receives.
      for (const s of sm.subscriptions.values()) last = Math.max(last, s.lastFeedbackMs);
      if (last > 0 && this.clock.now() - last > (sm.member.viewing ? VIEWER_SILENCE_MS : ONE_SHOT_SILENCE_MS)) {
        sm.member.log.info({ silentMs: Math.round(this.clock.now() - last) }, 'media stopped; the member cannot signal again, so it leaves');
        sm.member.close('disconnected');
        return;
      }
      this.watchMedia(sm);
    }, ONE_SHOT_CHECK_MS);
  }

  private sourceOf(sm: SfuMember, track: MediaTrack): TrackSource | undefined {
    if (track.kind === 'audio') return 'microphone';
    if (track.remoteMedia?.content === 'slides') return 'screen';
    // Without a=content, the first video section is the camera and the next the screen.
    const taken = new Set([...sm.publications.values()].map((p) => p.source));
    return !taken.has('camera') ? 'camera' : !taken.has('screen') ? 'screen' : undefined;
  }

  private publish(sm: SfuMember, track: MediaTrack): void {
    const source = this.sourceOf(sm, track);
    const codec = track.codec;
    if (!source || !codec || this.publications.has(trackId(sm.member.id, source))) {
      sm.member.log.warn({ mid: track.mid, kind: track.kind }, 'a second track of the same source is not forwarded');
      return;
    }
    const pub: Publication = this.createPublication(sm.member, source, track, codec, (active) => sm.member.send({ type: 'publish-layers', track: pub.id, active }));
    sm.publications.set(track.mid, pub);
    this.announcePublication(pub, sm);
  }

  private createPublication(member: Member, source: TrackSource, track: RtpTrack, codec: SdpCodec, onActiveLayers: (active: Quality[]) => void): Publication {
    const pub = new Publication({
      publisher: member.id,
      source,
      track,
      codec,
      clock: this.clock,
      log: member.log,
      onLayersChanged: () => this.broadcastTracks(),
      onActiveLayers,
      ...(this.options.maxVideoBitrateKbps !== undefined && { rembBitrate: Math.min(PUBLISHER_REMB_BITRATE, this.options.maxVideoBitrateKbps * 1000) }),
      ...(this.options.metrics && { metrics: this.options.metrics }),
    });
    pub.serverMuted = member.serverMuted.has(KIND_OF_SOURCE[source]);
    return pub;
  }

  /** A new publication reaches every auto-subscribing member but its own, and the gateway's mix. */
  private announcePublication(pub: Publication, own: SfuMember | undefined): void {
    this.publications.set(pub.id, pub);
    for (const other of this.members.values()) {
      if (other !== own && other.member.autoSubscribe) this.subscribe(other, pub);
    }
    this.gateway?.addFeed(pub);
    (this.joined.get(pub.publisher)?.member.log ?? this.log).info({ track: pub.id, codec: pub.codec.name, simulcast: pub.simulcast }, 'publishing');
    this.broadcastTracks();
  }

  private endPublication(p: Publication): void {
    if (this.publications.get(p.id) !== p) return;
    this.publications.delete(p.id);
    this.members.get(p.publisher)?.publications.delete(p.track.mid);
    this.gateway?.removeFeed(p.id);
    p.close();
    // Each subscriber's section for it goes inactive, to be reused by the next new track; a
    // viewer's section (of its own offer) takes the next track nobody put there yet.
    for (const sm of this.members.values()) {
      const sub = sm.subscriptions.get(p.id);
      if (!sub) continue;
      sm.subscriptions.delete(p.id);
      if (!sm.member.viewing) sm.peer.retireTrack(sub.track);
      else for (const next of this.publications.values()) this.subscribe(sm, next);
    }
  }

  /**
   * A viewer's answered send section that carries nothing yet, of `pub`'s kind and codec, if
   * `pub` is what the viewer views (`publisher`: a participant id or name; unset: anyone).
   */
  private freeSection(sm: SfuMember, pub: Publication): MediaTrack | undefined {
    const only = sm.member.viewing?.publisher;
    if (only !== undefined && pub.publisher !== only && this.joined.get(pub.publisher)?.member.participant.name !== only) return undefined;
    const used = new Set<MediaTrack>([...sm.subscriptions.values()].map((s) => s.track));
    const codec = pub.codec.name.toLowerCase();
    return sm.peer.tracks().find((t) => t.direction === 'sendonly' && t.kind === pub.kind && !used.has(t) && t.codec?.name.toLowerCase() === codec);
  }

  /** A viewer's answer takes the codec the room's video is in (first), else the room's preference. */
  private viewerCodecs(): VideoCodecName[] {
    const allowed = this.options.videoCodecs ?? ['VP8', 'H264'];
    const inUse = [...this.publications.values()].filter((p) => p.kind === 'video').map((p) => p.codec.name.toUpperCase());
    return [...new Set([...inUse.filter((n): n is VideoCodecName => (allowed as string[]).includes(n)), ...allowed])];
  }

  /**
   * Adds a send-only track for `pub` on `sm`'s Peer (a server offer follows); for a viewer,
   * takes a free section of its offer instead (none free, or not the publisher it views: no-op).
   */
  private subscribe(sm: SfuMember, pub: Publication): void {
    if (sm.subscriptions.has(pub.id) || sm.peer.closed) return;
    // Stream id = the publisher (clients map tracks to people by it); the track id is the room's.
    const track = sm.member.viewing ? this.freeSection(sm, pub)
      : pub.kind === 'audio'
        ? sm.peer.addAudioTrack({ direction: 'sendonly', streamId: pub.publisher, trackId: pub.id, payloadType: pub.codec.payloadType })
        : sm.peer.addVideoSender(pub.codec, { streamId: pub.publisher, trackId: pub.id });
    if (!track) return;
    // A viewer's section keeps one stream whatever publication it carries.
    let rewriter = sm.member.viewing ? sm.streams.get(track) : undefined;
    if (sm.member.viewing && !rewriter) sm.streams.set(track, (rewriter = streamRewriter(track, pub)));
    const sub = new Subscription(pub, track, sm.member, { clock: this.clock, log: sm.member.log, allocator: sm.allocator, ...(rewriter && { rewriter }), ...(this.options.metrics && { metrics: this.options.metrics }) });
    sm.subscriptions.set(pub.id, sub);
    pub.subscriptions.add(sub);
    const preference = this.preferenceOf(sm.member.id, pub.id);
    if (preference !== 'auto') sub.setPreference(preference);
    pub.rebuildFanout();
  }
}
