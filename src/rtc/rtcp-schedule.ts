/** What the RTP sender and receiver share about RTCP: when to report, and reading reports. */
import { parseRtcp, type RtcpPacket } from '../media/rtcp.js';
import type { Logger } from '../log.js';
import type { Clock } from '../time/clock.js';

/**
 * Due times snap up to a shared grid: a process with hundreds of senders and receivers (the
 * load tester, a recorder) then wakes a few times per interval for all their reports instead
 * of once per report, and each wakeup costs a scan over every node-datachannel callback.
 */
const REPORT_GRID_MS = 100;

/**
 * Calls `report` every `intervalMs` ± 50 % (on a 100 ms grid) until stopped. RFC 3550 §6.2
 * randomises report times so that participants do not fall into step. The timer never keeps
 * the process alive.
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
    const now = this.clock.now();
    const due = Math.ceil((now + this.intervalMs * (0.5 + Math.random())) / REPORT_GRID_MS) * REPORT_GRID_MS;
    this.timer = this.clock.setTimeout(() => {
      this.report();
      this.schedule();
    }, due - now);
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
