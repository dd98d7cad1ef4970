/**
 * A room's `quality` messages (PROTOCOL.md "Quality reports"). Every interval (2 s) it asks
 * the room's media for one reading per participant (SFU: measured from the RTP and RTCP the
 * server sees; mesh: aggregated from the members' `stats`), scores it, keeps its warnings
 * with hysteresis, and sends `quality {id, …}` to the participant itself and to everyone who
 * receives its media: at most one message per member per other member per interval.
 */
import { qualityScore, QualityWarnings, type QualitySample } from '../media/quality.js';
import type { QualityMessage } from '../protocol/signaling.js';
import type { Clock } from '../time/clock.js';

/** One participant's figures over the last interval, and who receives its media. */
export interface QualityReading {
  id: string;
  sample: QualitySample;
  audience: Iterable<string>;
}

export interface QualityChange {
  participant: string;
  quality: QualityMessage;
  /** The last message before the change (undefined: the first reading). */
  previous: QualityMessage | undefined;
}

export interface QualityReporterOptions {
  clock: Clock;
  /** Default 2000 ms (the protocol's "at most every 2 s"); 0 turns the reports off (the SFU bench's control run). */
  intervalMs?: number;
  read: () => QualityReading[];
  send: (to: string, message: QualityMessage) => void;
  /** Every reading, scored (metrics). */
  onReading?: (message: QualityMessage) => void;
  /** A participant's score band (80 / 60 / 40) or its warnings changed. */
  onChange?: (change: QualityChange) => void;
}

/** Score bands whose crossing is a change worth telling a hook about. */
function band(score: number): number {
  return score >= 80 ? 3 : score >= 60 ? 2 : score >= 40 ? 1 : 0;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export class QualityReporter {
  private readonly warnings = new Map<string, QualityWarnings>();
  private readonly last = new Map<string, QualityMessage>();
  private readonly intervalMs: number;
  private timer: unknown;

  constructor(private readonly options: QualityReporterOptions) {
    this.intervalMs = options.intervalMs ?? 2000;
  }

  start(): void {
    if (this.timer !== undefined || this.intervalMs <= 0) return;
    const loop = () => {
      this.timer = this.options.clock.setTimeout(loop, this.intervalMs);
      this.tick();
    };
    this.timer = this.options.clock.setTimeout(loop, this.intervalMs);
  }

  stop(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A participant left: its warning state goes with it. */
  forget(id: string): void {
    this.warnings.delete(id);
    this.last.delete(id);
  }

  /** The last message about a participant (the room API shows it). */
  latest(id: string): QualityMessage | undefined {
    return this.last.get(id);
  }

  /** One round: a reading per participant, scored and sent. */
  tick(): void {
    for (const { id, sample, audience } of this.options.read()) {
      let state = this.warnings.get(id);
      if (!state) this.warnings.set(id, (state = new QualityWarnings()));
      const warnings = state.update(sample);
      const message: QualityMessage = {
        type: 'quality', id,
        score: sample.expectingMedia && sample.bitrateKbps === 0 ? 0 : qualityScore(sample),
        packetLoss: round1(sample.packetLoss), jitterMs: round1(sample.jitterMs), rttMs: Math.round(sample.rttMs),
        bitrateKbps: Math.round(sample.bitrateKbps), warnings,
      };
      const previous = this.last.get(id);
      this.last.set(id, message);
      this.options.send(id, message);
      for (const to of audience) if (to !== id) this.options.send(to, message);
      this.options.onReading?.(message);
      if (!previous || band(previous.score) !== band(message.score) || previous.warnings.join() !== warnings.join()) {
        this.options.onChange?.({ participant: id, quality: message, previous });
      }
    }
  }
}
