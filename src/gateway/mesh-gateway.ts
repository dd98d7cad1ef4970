/**
 * The PCM gateway in a mesh room (PROTOCOL.md "The PCM gateway"): a gateway member (PCM or
 * phone client) is a server-side mesh participant with one WebRTC link to each browser, like
 * a bot. Following the mesh rule, it offers to everyone there when it joins and answers whoever
 * joins later. What it says is Opus-encoded once and sent on every link; what it hears is the
 * sum of its links' audio and the other gateway members of the room (in-process, no WebRTC
 * between them), mixed every 20 ms.
 */
import type { Logger } from '../log.js';
import { OpusEncoderStream } from '../media/opus.js';
import { OpusPlayout } from '../media/opus-playout.js';
import { clampInt16 } from '../media/pcm.js';
import { LEG_FRAME_SAMPLES, LEG_SAMPLE_RATE } from '../rooms/audio-leg.js';
import type { MeshGatewayPort, SignalMessage } from '../rooms/media.js';
import type { Member } from '../rooms/member.js';
import { OpusSender, worstFractionLost } from '../rtc/opus-sender.js';
import { Peer, type PeerOptions } from '../rtc/peer.js';
import { RETRY_DELAYS_MS } from '../rtc/peer-types.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';
import { iceUfrag } from '../rtc/sdp.js';
import { systemClock, type Clock } from '../time/clock.js';
import { Pacer } from '../time/pacer.js';

/** What the server lets its owner choose for each gateway link (bind address, ports, ICE servers). */
export type GatewayPeerOptions = Omit<PeerOptions, 'id' | 'logger' | 'polite' | 'capabilities'>;

export interface MeshGatewayOptions {
  log: Logger;
  peer?: GatewayPeerOptions | ((memberId: string) => GatewayPeerOptions);
  clock?: Clock;
}

/** One gateway member's WebRTC link to one browser. */
class Link {
  readonly peer: Peer;
  /** The ICE ufrag of the remote's last description: a new one in an offer is a new connection. */
  remoteUfrag: string | undefined;
  /** Whether our side offered (then our side retries when it fails). */
  offered = false;
  /** What the leg hears on this link: the browser's packets in a jitter buffer, decoded (or concealed) at the mixer's tick. */
  readonly heard = new OpusPlayout(LEG_SAMPLE_RATE);
  private sender: OpusSender | undefined;
  private receiver: RtpReceiver | undefined;
  private closed = false;

  /** @param onReport called on each receiver report the browser sends about what we send it */
  constructor(readonly leg: Member, readonly remote: Member, options: PeerOptions, private readonly log: Logger, private readonly onReport: () => void) {
    // Perfect negotiation: the lower participant id is polite (PROTOCOL.md, mesh rules).
    this.peer = new Peer({ ...options, id: `${leg.id}>${remote.id}`, logger: log, polite: leg.id < remote.id });
    this.peer.on('signal', (s) => {
      if (s.kind === 'description') remote.send({ type: s.type, from: leg.id, sdp: s.sdp });
      else remote.send({ type: 'candidate', from: leg.id, candidate: s.candidate, mid: s.mid });
    });
    this.peer.on('track', (track) => {
      if (track.kind !== 'audio' || this.receiver) return;
      this.receiver = new RtpReceiver(track, {
        logger: log,
        onPacket: (packet, h) => this.heard.push(h.sequenceNumber, packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)),
      });
      if (!this.sender && track.direction !== 'recvonly') this.sender = this.makeSender(track);
    });
    this.peer.on('negotiated', () => {
      const out = this.peer.tracks().find((t) => t.kind === 'audio' && (t.direction === 'sendrecv' || t.direction === 'sendonly'));
      if (!this.sender && out) this.sender = this.makeSender(out);
    });
  }

  /** Our sender on this link, once there is one. */
  get opusSender(): OpusSender | undefined {
    return this.sender;
  }

  private makeSender(track: ConstructorParameters<typeof OpusSender>[0]): OpusSender {
    const sender = new OpusSender(track);
    sender.on('report', this.onReport);
    return sender;
  }

  /** The member's side offers (it is the newcomer, or it tries again). */
  offer(): void {
    this.offered = true;
    this.peer.addAudioTrack();
  }

  send(opus: Buffer): void {
    this.sender?.sendFrame(opus);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sender?.close();
    this.receiver?.close();
    this.peer.close();
    this.heard.release();
    this.log.debug({ leg: this.leg.id, peer: this.remote.id, ...this.heard.stats, targetMs: this.heard.targetMs }, 'gateway link closed');
  }
}

/** A gateway member: its links to the WebRTC members and the encoder of what it says. */
class LegState {
  readonly links = new Map<string, Link>();
  readonly out = new Int16Array(LEG_FRAME_SAMPLES);
  private readonly encoder = new OpusEncoderStream(LEG_SAMPLE_RATE);

  constructor(readonly member: Member) {}

  /** A link's browser reported loss: the encoder's FEC protects for the worst link, since one encoding goes to all. */
  lossReported(): void {
    this.encoder.reportLoss(worstFractionLost([...this.links.values()].flatMap((l) => l.opusSender ?? [])));
  }

  /** One 20 ms frame it said: encoded once, sent on every link. */
  say(frame: Int16Array): void {
    const opus = this.encoder.encode(frame);
    for (const link of this.links.values()) link.send(opus);
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.encoder.release();
  }
}

export class MeshGateway implements MeshGatewayPort {
  private readonly legs = new Map<string, LegState>();
  private readonly pacer: Pacer;
  private readonly sum = new Int32Array(LEG_FRAME_SAMPLES);

  constructor(private readonly room: { participants(): { id: string }[]; get(id: string): Member | undefined }, private readonly options: MeshGatewayOptions) {
    this.pacer = new Pacer(() => this.tick(), { intervalMs: 20, clock: options.clock ?? systemClock });
  }

  joinLeg(member: Member): void {
    const state = new LegState(member);
    this.legs.set(member.id, state);
    if (this.legs.size === 1) this.pacer.start();
    // The newcomer offers to every WebRTC member already there (after `joined`/`peer-joined` went out).
    queueMicrotask(() => {
      if (this.legs.get(member.id) !== state) return;
      for (const p of this.room.participants()) {
        const other = this.room.get(p.id);
        if (other && other !== member && !other.leg) this.link(state, other).offer();
      }
    });
  }

  signal(from: Member, to: Member, m: SignalMessage): void {
    const state = this.legs.get(to.id);
    if (!state) return;
    let link = state.links.get(from.id);
    if (m.type === 'candidate') {
      link?.peer.addRemoteCandidate(m.candidate, m.mid);
      return;
    }
    const ufrag = iceUfrag(m.sdp);
    if (link && m.type === 'offer' && link.remoteUfrag !== undefined && ufrag !== link.remoteUfrag) {
      // The browser started a new connection (it retries after a failure we may not have seen):
      // libdatachannel cannot restart ICE, so this side starts over too.
      link.close();
      state.links.delete(from.id);
      link = undefined;
    }
    if (!link) {
      if (m.type === 'answer') return;
      link = this.link(state, from);
    }
    link.remoteUfrag = ufrag;
    try {
      link.peer.handleRemoteDescription(m.sdp, m.type);
    } catch (err) {
      this.options.log.warn({ err, peer: from.id, leg: to.id }, `${m.type} refused`);
      link.peer.close('error');
    }
  }

  left(memberId: string): void {
    const state = this.legs.get(memberId);
    if (state) {
      this.legs.delete(memberId);
      state.close();
      if (this.legs.size === 0) this.pacer.stop();
    }
    for (const leg of this.legs.values()) {
      leg.links.get(memberId)?.close();
      leg.links.delete(memberId);
    }
  }

  close(): void {
    this.pacer.stop();
    for (const state of this.legs.values()) state.close();
    this.legs.clear();
  }

  private link(state: LegState, remote: Member, attempt = 0): Link {
    const o = this.options.peer;
    const link = new Link(state.member, remote, typeof o === 'function' ? o(state.member.id) : o ?? {}, this.options.log, () => {
      if (this.legs.get(state.member.id) === state) state.lossReported();
    });
    state.links.set(remote.id, link);
    link.peer.on('closed', (reason) => {
      if (state.links.get(remote.id) !== link) return;
      state.links.delete(remote.id);
      link.close();
      // As a mesh agent does: the side that offered makes a failed connection again (libdatachannel
      // refuses some first DTLS handshakes under load; a fresh attempt succeeds).
      if (link.offered && reason !== 'closed' && attempt < RETRY_DELAYS_MS.length) this.retry(state, remote, attempt + 1);
    });
    return link;
  }

  private retry(state: LegState, remote: Member, attempt: number): void {
    const delay = RETRY_DELAYS_MS[attempt - 1]!;
    this.options.log.info({ leg: state.member.id, peer: remote.id, attempt, delay }, 'gateway link failed; trying again');
    setTimeout(() => {
      if (this.legs.get(state.member.id) !== state || state.links.has(remote.id) || this.room.get(remote.id) !== remote) return;
      this.link(state, remote, attempt).offer();
    }, delay).unref();
  }

  /** Every 20 ms: what each gateway member says goes out on its links; each hears its links and the other gateway members. */
  private tick(): void {
    const said = new Map<string, Int16Array>();
    for (const [id, state] of this.legs) {
      const frame = state.member.leg!.take();
      if (!frame) continue;
      said.set(id, frame);
      state.say(frame);
    }
    const sum = this.sum;
    for (const [id, state] of this.legs) {
      sum.fill(0);
      for (const [other, frame] of said) if (other !== id) for (let i = 0; i < sum.length; i++) sum[i]! += frame[i]!;
      for (const link of state.links.values()) {
        const frame = link.heard.take();
        if (frame) for (let i = 0; i < sum.length; i++) sum[i]! += frame[i]!;
      }
      const out = state.out;
      for (let i = 0; i < out.length; i++) out[i] = clampInt16(sum[i]!);
      state.member.leg!.play(out);
    }
  }
}
