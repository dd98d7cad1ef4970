/** What the RTP sender and receiver share about RTCP: when to report, and reading reports. */
import { parseRtcp, type RtcpPacket } from '../media/rtcp.js';
import type { Logger } from '../log.js';
import type { Clock } from './pacer.js';

/**
 * Calls `report` every `intervalMs` ± 50 % until stopped. RFC 3550 §6.2 randomises report
 * times so that participants do not fall into step. The timer never keeps the process alive.
 */
export class ReportTimer {
  private timer: unknown;
  private stopped = false;

  constructor(private readonly report: () => void, private readonly intervalMs: number, private readonly clock: Clock) {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.report();
      this.schedule();
    }, this.intervalMs * (0.5 + Math.random()));
    (this.timer as { unref?: () => void }).unref?.();
  }
}

/** The packets of a compound RTCP packet; none (logged at debug) when it does not parse: a peer can send junk. */
export function readRtcp(packet: Buffer, log: Logger): RtcpPacket[] {
  try {
    return parseRtcp(packet);
  } catch (err) {
    log.debug({ err }, 'bad rtcp ignored');
    return [];
  }
}
