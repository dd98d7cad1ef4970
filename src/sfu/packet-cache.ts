/**
 * The last packets sent on one outgoing video stream, by sequence number, so a subscriber's
 * NACK is answered from here instead of from the publisher (who never saw the loss). A ring of
 * slots indexed by the low bits of the sequence number; each slot keeps its own buffer and
 * reuses it, so steady forwarding allocates nothing. Copies: the forwarded buffer is shared
 * between subscribers and rewritten for each.
 */
export const PACKET_CACHE_SLOTS = 512;
/** Bigger than any packet node-datachannel sends (its MTU is 1200-1500). */
const SLOT_BYTES = 1500;

interface Slot {
  seq: number;
  length: number;
  atMs: number;
  data: Buffer;
}

export class PacketCache {
  private readonly slots: Array<Slot | undefined>;
  private readonly mask: number;

  /** `slots` must be a power of two. */
  constructor(slots = PACKET_CACHE_SLOTS, private readonly maxAgeMs = 1000) {
    if (slots <= 0 || (slots & (slots - 1)) !== 0) throw new TypeError(`packet cache slots ${slots} is not a power of two`);
    this.slots = new Array<Slot | undefined>(slots);
    this.mask = slots - 1;
  }

  put(seq: number, packet: Uint8Array, nowMs: number): void {
    if (packet.length > SLOT_BYTES) return; // cannot be sent anyway
    const i = seq & this.mask;
    let slot = this.slots[i];
    if (!slot) slot = this.slots[i] = { seq, length: 0, atMs: 0, data: Buffer.allocUnsafe(SLOT_BYTES) };
    slot.seq = seq;
    slot.length = packet.length;
    slot.atMs = nowMs;
    slot.data.set(packet);
  }

  /** The packet sent with `seq`, if it is still here and not older than maxAgeMs. A view: send it before the next put. */
  get(seq: number, nowMs: number): Buffer | undefined {
    const slot = this.slots[seq & this.mask];
    if (!slot || slot.seq !== seq || nowMs - slot.atMs > this.maxAgeMs) return undefined;
    return slot.data.subarray(0, slot.length);
  }
}
