/**
 * The media side of one SFU room (PROTOCOL.md: the server is every member's only remote).
 * Each member has one server Peer: the member offers its audio (we receive only), and we add
 * one send-only audio track per other publisher, named by its participant id (a=msid stream
 * id), offering it from our side. Every RTP packet a publisher sends is forwarded to each
 * subscriber's track for it with only the SSRC and payload type changed (forward.ts); our
 * RtpReceiver on the publisher's track sends it receiver reports (loss, jitter, RTT).
 * Audio only: video sections are refused in the answer.
 */
import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ServerMessage } from '../protocol/signaling.js';
import type { MemberMedia, RoomMedia, SignalMessage } from '../rooms/media.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { Peer, type PeerOptions } from '../rtc/peer.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';
import { iceUfrag } from '../rtc/sdp.js';
import { retargetRtp } from './forward.js';

/** What the SFU needs of a room member: its id, a way to signal it, its logger. */
export interface SfuMemberLink {
  readonly id: string;
  readonly log: Logger;
  /** What the member may do: without `publish`, the server receives nothing from it. */
  readonly admission: { readonly publish: boolean };
  send(message: ServerMessage): void;
}

/** The only track name SFU rooms know today: a publisher's audio. */
export const SFU_AUDIO_TRACK = 'audio';

/** What the room lets its owner choose for each server Peer. */
export type SfuPeerOptions = Omit<PeerOptions, 'id' | 'logger' | 'polite' | 'capabilities'>;

export interface SfuRoomOptions {
  log: Logger;
  /**
   * For every server Peer: bind address, port range, ICE servers, ICE transport policy. A
   * function is called once per Peer, with the member's id, when the Peer is made: TURN
   * credentials expire, so each Peer gets fresh ones.
   */
  peer?: SfuPeerOptions | ((memberId: string) => SfuPeerOptions);
}

interface Subscription {
  track: MediaTrack;
  /** False after `unsubscribe`: the track stays negotiated, nothing is forwarded on it. */
  wanted: boolean;
}

class Member {
  readonly peer: Peer;
  /** Their audio to us, once it arrives. */
  published: { track: MediaTrack; receiver: RtpReceiver } | undefined;
  /** Our send-only track per publisher they hear. */
  readonly subscriptions = new Map<string, Subscription>();
  /** Subscribers' tracks for this member's audio, rebuilt on change (the per-packet loop reads it). */
  fanout: MediaTrack[] = [];
  /** Muted through the room API: its audio is not forwarded (its receiver reports go on). */
  audioMuted = false;
  /** The ICE ufrag of its first offer: a different one means a new connection. */
  ufrag: string | undefined;

  constructor(readonly link: SfuMemberLink, peer: Peer) {
    this.peer = peer;
  }
}

/** The SFU router of one room: the room's media side when its topology is `sfu`. */
export class SfuRoom implements RoomMedia {
  private readonly members = new Map<string, Member>();
  /** Members muted through the room API, connected yet or not. */
  private readonly audioMuted = new Set<string>();
  private readonly log: Logger;

  constructor(readonly id: string, private readonly options: SfuRoomOptions) {
    this.log = options.log;
  }

  get size(): number {
    return this.members.size;
  }

  join(link: SfuMemberLink): MemberMedia {
    return {
      signal: (m: SignalMessage) => {
        if (m.to !== undefined) {
          throw new CallpeerError('INVALID_MESSAGE', `room "${this.id}" is an SFU room: send "${m.type}" without "to" (the server is the other side)`, { ref: m.type });
        }
        if (m.type === 'candidate') this.candidate(link, m.candidate, m.mid);
        else this.description(link, m.type, m.sdp);
      },
      setSubscribed: (publisher, track, wanted) => this.setSubscribed(link, publisher, track, wanted),
      setLayer: () => {
        throw new CallpeerError('INVALID_MESSAGE', 'this SFU forwards audio only: there are no video layers to choose', { ref: 'layer' });
      },
      setMuted: (kinds) => {
        if (kinds.audio === undefined) return;
        if (kinds.audio) this.audioMuted.add(link.id);
        else this.audioMuted.delete(link.id);
        const member = this.members.get(link.id);
        if (member) member.audioMuted = kinds.audio;
      },
      close: () => {
        this.audioMuted.delete(link.id);
        this.leave(link.id);
      },
    };
  }

  /** A description from a member (`offer`/`answer` without `to`); its server Peer is made on the first. */
  private description(link: SfuMemberLink, type: 'offer' | 'answer', sdp: string): void {
    let member = this.members.get(link.id);
    const ufrag = iceUfrag(sdp);
    if (member && type === 'offer' && ufrag !== undefined && ufrag !== member.ufrag) {
      // New ICE credentials: the member started over (its connection failed, maybe unseen
      // here); libdatachannel cannot restart ICE, so the old connection goes.
      this.log.info({ peer: link.id }, 'new connection offered; replacing the old one');
      this.leave(link.id);
      member = undefined;
    }
    if (member) {
      member.peer.handleRemoteDescription(sdp, type);
      return;
    }
    if (type === 'answer') throw new CallpeerError('INVALID_MESSAGE', 'no offer from the server to answer: send an offer first', { ref: 'answer' });
    member = this.addMember(link);
    member.ufrag = ufrag;
    try {
      member.peer.handleRemoteDescription(sdp, type);
    } catch (err) {
      this.leave(link.id);
      throw err;
    }
    // What the others publish already: added after their offer, whose mids come first.
    for (const other of this.members.values()) {
      if (other !== member && other.published) this.subscribe(member, other);
    }
  }

  private candidate(link: SfuMemberLink, candidate: string, mid: string): void {
    const member = this.members.get(link.id);
    if (!member) throw new CallpeerError('INVALID_MESSAGE', 'send an offer before candidates', { ref: 'candidate' });
    member.peer.addRemoteCandidate(candidate, mid);
  }

  /** Starts or stops forwarding `publisher`'s track to `link`'s member. */
  private setSubscribed(link: SfuMemberLink, publisher: string, track: string, wanted: boolean): void {
    const ref = wanted ? 'subscribe' : 'unsubscribe';
    if (track !== SFU_AUDIO_TRACK) throw new CallpeerError('INVALID_MESSAGE', `unknown track "${track}": SFU rooms forward "${SFU_AUDIO_TRACK}" only`, { ref });
    const member = this.members.get(link.id);
    const pub = this.members.get(publisher);
    const sub = member?.subscriptions.get(publisher);
    if (!member || !pub || !sub) throw new CallpeerError('PEER_NOT_FOUND', `"${publisher}" publishes no audio to you in room "${this.id}"`, { ref });
    sub.wanted = wanted;
    this.rebuildFanout(pub);
  }

  /** The member left or dropped: its connection closes and nobody is sent its audio any more. */
  private leave(id: string): void {
    const member = this.members.get(id);
    if (!member) return;
    this.members.delete(id);
    member.published?.receiver.close();
    member.peer.close();
    // Our tracks for it on the others stay negotiated but idle (removing an m-section needs a
    // renegotiation the library cannot do on a live Peer).
    for (const other of this.members.values()) {
      other.subscriptions.delete(id);
      this.rebuildFanout(other);
    }
  }

  close(): void {
    for (const id of [...this.members.keys()]) this.leave(id);
  }

  private addMember(link: SfuMemberLink): Member {
    const log = link.log;
    const peerOptions = typeof this.options.peer === 'function' ? this.options.peer(link.id) : this.options.peer;
    const peer = new Peer({
      ...peerOptions,
      id: link.id,
      // The Peer binds `peer` itself: give it the room's logger, not the member's.
      logger: this.log,
      // The member is polite: on glare our offer wins.
      polite: false,
      // A member whose token says `publish: false` gets its send sections refused.
      capabilities: { receiveAudio: link.admission.publish, sendAudio: false, receiveVideo: false },
    });
    const member = new Member(link, peer);
    member.audioMuted = this.audioMuted.has(link.id);
    this.members.set(link.id, member);
    peer.on('signal', (s) => {
      if (s.kind === 'description') link.send({ type: s.type, from: 'server', sdp: s.sdp });
      else link.send({ type: 'candidate', from: 'server', candidate: s.candidate, mid: s.mid });
    });
    peer.on('track', (track) => this.publish(member, track));
    peer.on('closed', (reason) => {
      if (this.members.get(link.id) !== member) return;
      log.info({ reason }, 'sfu connection closed');
      this.leave(link.id);
    });
    return member;
  }

  private publish(member: Member, track: MediaTrack): void {
    if (track.kind !== 'audio' || member.published) return;
    const receiver = new RtpReceiver(track, { attach: false });
    member.published = { track, receiver };
    track.onRtp = (packet) => {
      receiver.handleRtp(packet);
      if (member.audioMuted) return;
      for (const out of member.fanout) {
        retargetRtp(packet, out.localSsrc, out.codec?.payloadType ?? 111);
        out.send(packet);
      }
    };
    for (const other of this.members.values()) if (other !== member) this.subscribe(other, member);
    this.log.info({ peer: member.link.id }, 'publishing audio');
  }

  /** Adds a send-only track for `publisher` on `subscriber`'s Peer (a server offer follows). */
  private subscribe(subscriber: Member, publisher: Member): void {
    if (subscriber.subscriptions.has(publisher.link.id) || subscriber.peer.closed) return;
    // Stream id = the publisher (clients map tracks to people by it); track ids unique too.
    const track = subscriber.peer.addAudioTrack({ direction: 'sendonly', streamId: publisher.link.id, trackId: `${SFU_AUDIO_TRACK}-${publisher.link.id}` });
    subscriber.subscriptions.set(publisher.link.id, { track, wanted: true });
    this.rebuildFanout(publisher);
  }

  private rebuildFanout(publisher: Member): void {
    const out: MediaTrack[] = [];
    for (const m of this.members.values()) {
      const sub = m.subscriptions.get(publisher.link.id);
      if (sub?.wanted) out.push(sub.track);
    }
    publisher.fanout = out;
  }
}
