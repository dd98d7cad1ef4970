/**
 * The sender report an SFU sends a subscriber for a forwarded stream. Its NTP ↔ RTP pair
 * carries the publisher's own mapping (from the publisher's last SR, moved into our timestamp
 * space by the rewriter's offset and on to now), so the subscriber lines up this publisher's
 * audio and video exactly as the publisher captured them, whichever layer it receives. Before
 * the publisher's first SR, the newest forwarded timestamp stands for now (close enough to
 * measure RTT, not for lip-sync). Pure.
 */
import { ntpFromUnixMs, unixMsFromNtp, type SenderReport } from '../media/rtcp.js';

export interface ForwardedReportInput {
  /** Our SSRC towards the subscriber. */
  ssrc: number;
  packets: number;
  octets: number;
  clockRate: number;
  /** Newest timestamp sent (undefined for a stream sent without rewriting). */
  lastTimestamp: number | undefined;
  /** The publisher's last SR for the layer forwarded now. */
  source: { ntpSeconds: number; ntpFraction: number; rtpTimestamp: number } | undefined;
  /** What the rewriter adds to that layer's timestamps. */
  timestampOffset: number;
  /** Wall clock, Unix ms (what NTP in our SR says). */
  nowMs: number;
}

export function buildForwardedSenderReport(r: ForwardedReportInput): SenderReport {
  const ntp = ntpFromUnixMs(r.nowMs);
  let rtpTimestamp = r.lastTimestamp ?? 0;
  if (r.source) {
    const sourceMs = unixMsFromNtp(r.source.ntpSeconds, r.source.ntpFraction);
    const elapsed = Math.round(((r.nowMs - sourceMs) * r.clockRate) / 1000);
    rtpTimestamp = (r.source.rtpTimestamp + r.timestampOffset + elapsed) >>> 0;
  }
  return {
    type: 'sr', ssrc: r.ssrc, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp,
    packetCount: r.packets >>> 0, octetCount: r.octets >>> 0, reports: [],
  };
}
