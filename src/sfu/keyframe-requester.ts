/**
 * Asks a publisher for key frames (PLI, or FIR where that is all it negotiated) on behalf of
 * every subscriber of one track. Requests for an SSRC coalesce while one is outstanding: ten
 * subscribers joining at once, or a subscriber's decoder sending PLI after PLI, cost the
 * publisher one key frame. An outstanding request is repeated after `retryMs` if no key frame
 * came (the PLI or the frame may have been lost). No timers: requests are driven by packets.
 */
import type { RtcpPacket } from '../media/rtcp.js';
import { buildRtcp } from '../media/rtcp.js';
import type { Clock } from '../time/clock.js';

export interface KeyframeRequesterOptions {
  /** Sends a compound RTCP packet to the publisher. */
  send: (rtcp: Buffer) => void;
  /** Our SSRC on the publisher's connection (the feedback's sender). */
  senderSsrc: number;
  /** Use FIR rather than PLI. */
  fir: boolean;
  clock: Clock;
  retryMs?: number;
}

export class KeyframeRequester {
  private readonly pending = new Map<number, number>();
  private firSeq = 0;
  private sent = 0;
  private coalesced = 0;
  private closed = false;
  private readonly retryMs: number;

  constructor(private readonly options: KeyframeRequesterOptions) {
    this.retryMs = options.retryMs ?? 500;
  }

  /** Asks for a key frame on `ssrc` unless one was asked for within retryMs and has not come; true when a request went out. */
  request(ssrc: number): boolean {
    if (this.closed) return false;
    const now = this.options.clock.now();
    const since = this.pending.get(ssrc);
    if (since !== undefined && now - since < this.retryMs) {
      this.coalesced++;
      return false;
    }
    this.pending.set(ssrc, now);
    this.sent++;
    const packet: RtcpPacket = this.options.fir
      ? { type: 'fir', senderSsrc: this.options.senderSsrc, entries: [{ ssrc, seq: this.firSeq++ & 0xff }] }
      : { type: 'pli', senderSsrc: this.options.senderSsrc, mediaSsrc: ssrc };
    this.options.send(buildRtcp([packet]));
    return true;
  }

  /** A key frame arrived on `ssrc`: the next request is sent at once. */
  keyframeArrived(ssrc: number): void {
    if (this.pending.size > 0) this.pending.delete(ssrc);
  }

  counters(): { sent: number; coalesced: number } {
    return { sent: this.sent, coalesced: this.coalesced };
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
  }
}
