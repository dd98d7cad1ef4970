// Connection quality from two getStats() samples: pure, so it is tested in Node.

/**
 * @param {{received: number, lost: number}} prev packet counters at the previous sample
 * @param {{received: number, lost: number, rttMs?: number}} cur counters now, and the round trip
 * @returns {{lossPct: number, rttMs: number, verdict: 'good'|'weak'|'poor'}}
 */
export function assessQuality(prev, cur) {
  const dr = Math.max(0, cur.received - prev.received);
  // packetsLost may shrink when late packets arrive after being counted lost.
  const dl = Math.max(0, cur.lost - prev.lost);
  const lossPct = dr + dl > 0 ? (100 * dl) / (dr + dl) : 0;
  const rttMs = cur.rttMs ?? 0;
  // Speech stays intelligible up to about 5 % loss and 300 ms round trip.
  const verdict = lossPct > 10 || rttMs > 600 ? 'poor' : lossPct > 3 || rttMs > 300 ? 'weak' : 'good';
  return { lossPct: Math.round(lossPct * 10) / 10, rttMs: Math.round(rttMs), verdict };
}
