/**
 * Quality in a mesh room, where the server sees no media: members report what they receive
 * from each peer (`stats {peer, …}`, every 2-5 s per link), and a participant's reading is the
 * median of the fresh reports about it from everyone receiving it. The median, so one member
 * on a bad network does not paint everyone it hears as bad (and one lying member cannot).
 */
import type { Participant, StatsMessage } from '../protocol/signaling.js';
import type { Clock } from '../time/clock.js';
import type { QualityReading } from './quality-reporter.js';

/** A report older than this no longer counts (two missed 2-5 s reports). */
const FRESH_MS = 10_000;

interface Report { stats: StatsMessage; atMs: number }

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export class MeshStatsBook {
  /** About each peer, the latest report of each member receiving it. */
  private readonly about = new Map<string, Map<string, Report>>();

  constructor(private readonly clock: Clock) {}

  report(reporter: string, stats: StatsMessage): void {
    let reports = this.about.get(stats.peer);
    if (!reports) this.about.set(stats.peer, (reports = new Map()));
    reports.set(reporter, { stats, atMs: this.clock.now() });
  }

  /** A member left: its reports and the reports about it go. */
  forget(id: string): void {
    this.about.delete(id);
    for (const reports of this.about.values()) reports.delete(id);
  }

  /** One reading per participant someone reported on lately; everyone in a mesh receives everyone. */
  readings(participants: Participant[]): QualityReading[] {
    const now = this.clock.now();
    const out: QualityReading[] = [];
    for (const p of participants) {
      const fresh = [...(this.about.get(p.id)?.values() ?? [])].filter((r) => now - r.atMs <= FRESH_MS).map((r) => r.stats);
      if (fresh.length === 0) continue;
      const fps = fresh.flatMap((s) => (s.framesPerSecond === undefined ? [] : [s.framesPerSecond]));
      out.push({
        id: p.id,
        sample: {
          packetLoss: median(fresh.map((s) => s.packetLoss)),
          jitterMs: median(fresh.map((s) => s.jitterMs)),
          rttMs: median(fresh.map((s) => s.rttMs)),
          bitrateKbps: median(fresh.map((s) => s.bitrateKbps)),
          video: p.video || p.screen,
          expectingMedia: p.audio || p.video || p.screen,
          ...(fps.length > 0 && { framesPerSecond: median(fps) }),
        },
        audience: participants.filter((q) => q.id !== p.id).map((q) => q.id),
      });
    }
    return out;
  }
}
