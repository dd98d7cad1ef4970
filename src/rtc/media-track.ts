/**
 * One negotiated audio/video m-section of a Peer, over a node-datachannel `Track` with no
 * media handler: `send()` puts the given RTP/RTCP bytes on the wire as they are, and every
 * SRTP-decrypted packet that arrives (whole RTP packet, or RTCP: RFC 5761 demultiplexing by
 * the second byte) goes to the `onRtp` callback or the `rtcp` event.
 *
 * RTP delivery is a plain callback (one per track, set by its one consumer: a receiver, a
 * recorder, a forwarder), not an emitted event. RTCP (about one compound packet a second)
 * is an event, since a sender and a receiver on one sendrecv track both need it. The Peer owns the native Track
 * and closes it; a MediaTrack never outlives its Peer.
 */
import { EventEmitter } from 'node:events';
import type { Track } from 'node-datachannel';
import { isRtcp } from '../media/rtp.js';
import type { TrackReception } from './rtp-receiver.js';
import type { SdpCodec, SdpDirection, SdpMedia } from './sdp.js';

export interface MediaTrackEvents {
  closed: [];
  /** A received RTCP (compound) packet routed to this mid. */
  rtcp: [packet: Buffer];
}

export type PacketHandler = (packet: Buffer) => void;

/**
 * What RTP code (receivers, senders, the SFU's publications and subscriptions) needs of a
 * track: a Peer's MediaTrack on the wire, or a LocalTrack that stays in the process (the PCM
 * gateway's side of an SFU room).
 */
export interface RtpTrack extends Pick<EventEmitter<MediaTrackEvents>, 'on' | 'off' | 'once'> {
  readonly mid: string;
  readonly kind: 'audio' | 'video';
  readonly codec: SdpCodec | undefined;
  readonly localSsrc: number;
  readonly cname: string;
  readonly remoteMedia: SdpMedia | undefined;
  readonly closed: boolean;
  onRtp: PacketHandler | undefined;
  /** What the RtpReceiver reading this track counted (set by it; undefined when none reads it). */
  reception?: (() => TrackReception) | undefined;
  send(packet: Buffer): boolean;
}

export class MediaTrack extends EventEmitter<MediaTrackEvents> implements RtpTrack {
  /** Called for each RTP packet received on this mid (header included). */
  onRtp: PacketHandler | undefined;
  /** What the RtpReceiver reading this track counted (set by it; undefined when none reads it). */
  reception: (() => TrackReception) | undefined;
  /** Our direction as last negotiated. */
  direction: SdpDirection;
  /** The negotiated codec (payload type, clock rate, fmtp); undefined for an unwanted section. */
  codec: SdpCodec | undefined;
  /** SSRCs the remote signaled for this mid (primary media only). */
  remoteSsrcs: number[] = [];
  /** True once the remote said it sends on this mid (a `track` event was emitted for it). */
  remoteSending = false;
  /** The remote's m-section as last described (rids, simulcast, content, SSRC groups). */
  remoteMedia: SdpMedia | undefined;
  /** The remote's stream id for this mid (a=msid, else a=ssrc msid): an SFU names the publisher with it. */
  remoteStreamId: string | undefined;
  private closedFlag = false;

  constructor(
    private readonly native: Track,
    readonly mid: string,
    readonly kind: 'audio' | 'video',
    direction: SdpDirection,
    codec: SdpCodec | undefined,
    /** Our SSRC when we send on this mid (signaled with a=ssrc); also the RTCP sender SSRC. New when the section is reused. */
    public localSsrc: number,
    /** Our RTCP CNAME (shared by all tracks of one Peer). */
    readonly cname: string,
    /** Every SSRC we send on (simulcast: one per layer, low → high); `[localSsrc]` otherwise. */
    public localSsrcs: readonly number[] = [localSsrc],
  ) {
    super();
    this.direction = direction;
    this.codec = codec;
  }

  /** Whether media can be sent now (DTLS done, not closed). */
  isOpen(): boolean {
    if (this.closedFlag) return false;
    try {
      return this.native.isOpen();
    } catch {
      return false; // the native track was destroyed with its PeerConnection
    }
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Sends one RTP or RTCP packet as is. Returns false when the track is not open (the packet
   * is dropped); node-datachannel copies the bytes synchronously, so `packet` may be reused.
   */
  send(packet: Buffer): boolean {
    if (this.closedFlag) return false;
    try {
      return this.native.sendMessageBinary(packet);
    } catch {
      return false; // not open yet, or destroyed: the packet is dropped like on a full socket
    }
  }

  /** Routes one received packet; called by the Peer from the native callback. @internal */
  deliver(packet: Buffer): void {
    if (this.closedFlag) return;
    if (isRtcp(packet)) this.emit('rtcp', packet);
    else this.onRtp?.(packet);
  }

  /** Retired by the Peer (its section set inactive, kept for reuse): it sends nothing and tells no one. @internal */
  retire(): void {
    this.direction = 'inactive';
    this.onRtp = undefined;
    this.removeAllListeners('rtcp');
  }

  /** A section we answered inactive that we now receive on (the remote reused it). @internal */
  receiveAgain(codec: SdpCodec | undefined): void {
    this.direction = 'recvonly';
    this.codec = codec;
  }

  /** Reused by the Peer for a new send track: a new SSRC (a new stream to the remote). @internal */
  reuse(ssrc: number, codec: SdpCodec): void {
    this.direction = 'sendonly';
    this.codec = codec;
    this.localSsrc = ssrc;
    this.localSsrcs = [ssrc];
  }

  /** Closes the native track. Idempotent; the Peer calls it when it closes. @internal */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.onRtp = undefined;
    try {
      this.native.close();
    } catch {
      // Closing an already-destroyed native track throws; it is closed either way.
    }
    this.emit('closed');
    this.removeAllListeners();
  }
}
