/**
 * Who waits for whom on /ws/pcm: first come, first served for clients without a code, and
 * one slot per invite code. Pure bookkeeping over opaque items (the service's peers), so the
 * rules are unit-tested without sockets.
 */

export type OfferResult<T> =
  | { kind: 'paired'; partner: T }
  | { kind: 'waiting' }
  /** Two clients already hold this code in a live pair. */
  | { kind: 'full' };

export class PairingQueue<T> {
  /** Clients without a code, oldest first (a Set keeps insertion order and deletes in O(1)). */
  private readonly fifo = new Set<T>();
  /** The one client waiting with each code. */
  private readonly byCode = new Map<string, T>();
  private readonly codeOf = new Map<T, string>();
  /** Codes held by a live pair; a third client with one of these gets `full`. */
  private readonly busy = new Set<string>();

  /** Clients waiting for a partner. */
  get size(): number {
    return this.fifo.size + this.byCode.size;
  }

  /**
   * Pairs `item` with the oldest compatible waiting client (taking that one out of the queue),
   * or queues it. With a code, the pair then holds the code until `release(code)`.
   */
  offer(item: T, code?: string): OfferResult<T> {
    if (code === undefined) {
      for (const partner of this.fifo) {
        if (partner === item) continue;
        this.fifo.delete(partner);
        return { kind: 'paired', partner };
      }
      this.fifo.add(item);
      return { kind: 'waiting' };
    }
    if (this.busy.has(code)) return { kind: 'full' };
    const partner = this.byCode.get(code);
    if (partner !== undefined && partner !== item) {
      this.byCode.delete(code);
      this.codeOf.delete(partner);
      this.busy.add(code);
      return { kind: 'paired', partner };
    }
    this.byCode.set(code, item);
    this.codeOf.set(item, code);
    return { kind: 'waiting' };
  }

  /** Takes a waiting client out of the queue. Returns false if it was not waiting. */
  remove(item: T): boolean {
    if (this.fifo.delete(item)) return true;
    const code = this.codeOf.get(item);
    if (code === undefined) return false;
    this.codeOf.delete(item);
    this.byCode.delete(code);
    return true;
  }

  /** Codes in use: a client waiting with one, or a live pair made with it. */
  *codes(): Iterable<string> {
    yield* this.byCode.keys();
    yield* this.busy;
  }

  /** The pair holding `code` ended: the code may be used again. */
  release(code: string): void {
    this.busy.delete(code);
  }
}
