/**
 * A track that never leaves the process: the PCM gateway's side of an SFU room. What the
 * gateway encodes goes in with `deliver()` as if a Peer had received it (so a Publication
 * takes it like any microphone), and what the SFU sends on it (a Subscription's forwarded
 * RTP) comes out to `sink` instead of the wire. RTCP sent on it is dropped: there is no far
 * end to report to.
 */
import { EventEmitter } from 'node:events';
import { isRtcp } from '../media/rtp.js';
import type { MediaTrackEvents, PacketHandler, RtpTrack } from './media-track.js';
import type { TrackReception } from './rtp-receiver.js';
import { randomId, randomSsrc } from './native.js';
import type { SdpCodec, SdpMedia } from './sdp.js';

export class LocalTrack extends EventEmitter<MediaTrackEvents> implements RtpTrack {
  onRtp: PacketHandler | undefined;
  reception: (() => TrackReception) | undefined;
  readonly localSsrc = randomSsrc();
  readonly cname = randomId(8);
  readonly remoteMedia: SdpMedia | undefined = undefined;
  private closedFlag = false;

  constructor(
    readonly mid: string,
    readonly kind: 'audio' | 'video',
    readonly codec: SdpCodec,
    /** Receives every RTP packet sent on the track (a view: copy to keep it). */
    private readonly sink?: PacketHandler,
  ) {
    super();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Hands in one packet as if received from a remote: RTP to `onRtp`, RTCP as the `rtcp` event. */
  deliver(packet: Buffer): void {
    if (this.closedFlag) return;
    if (isRtcp(packet)) this.emit('rtcp', packet);
    else this.onRtp?.(packet);
  }

  send(packet: Buffer): boolean {
    if (this.closedFlag) return false;
    if (!isRtcp(packet)) this.sink?.(packet);
    return true;
  }

  /** Idempotent; `closed` is emitted once. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.onRtp = undefined;
    this.emit('closed');
    this.removeAllListeners();
  }
}
