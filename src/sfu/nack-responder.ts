/**
 * Answers a subscriber's generic NACKs (RFC 4585) from the packet cache. A packet asked for
 * again within `minResendMs` is not resent a second time: NACKs repeat until the retransmission
 * arrives, and resending on every one would multiply the loss's cost on a congested link.
 */
import { seqsFromNackItems, type GenericNack } from '../media/rtcp.js';
import type { Clock } from '../time/clock.js';
import type { PacketCache } from './packet-cache.js';

export interface NackCounters {
  /** Packets sent again. */
  resent: number;
  /** Asked for but no longer (or never) in the cache. */
  missing: number;
  /** Asked for again too soon after a resend. */
  suppressed: number;
}

export class NackResponder {
  readonly counters: NackCounters = { resent: 0, missing: 0, suppressed: 0 };
  private readonly lastResend = new Map<number, number>();
  private readonly clock: Clock;
  private readonly minResendMs: number;

  constructor(options: { clock: Clock; minResendMs?: number }) {
    this.clock = options.clock;
    this.minResendMs = options.minResendMs ?? 100;
  }

  /** The cached packets `nack` asks for, to be sent in this order (each a view into the cache). */
  packetsFor(nack: GenericNack, cache: PacketCache): Buffer[] {
    const now = this.clock.now();
    const out: Buffer[] = [];
    for (const seq of seqsFromNackItems(nack.items)) {
      const last = this.lastResend.get(seq);
      if (last !== undefined && now - last < this.minResendMs) {
        this.counters.suppressed++;
        continue;
      }
      const packet = cache.get(seq, now);
      if (!packet) {
        this.counters.missing++;
        continue;
      }
      this.lastResend.set(seq, now);
      this.counters.resent++;
      out.push(packet);
    }
    if (this.lastResend.size > 1024) this.forget(now);
    return out;
  }

  private forget(now: number): void {
    for (const [seq, at] of this.lastResend) if (now - at >= this.minResendMs) this.lastResend.delete(seq);
  }
}
