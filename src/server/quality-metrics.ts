import { Gauge, Histogram, type Registry } from 'prom-client';
import type { QualityMessage } from '../protocol/signaling.js';

/** A score under this counts a member as badly connected (the E-model's "many users dissatisfied" is about 60). */
export const POOR_SCORE = 60;

/**
 * Per-room quality on /metrics: every reading's loss, jitter and RTT as histograms, and how
 * many members score under POOR_SCORE now. A room's series go when it closes.
 */
export class QualityMetrics {
  private readonly loss: Histogram<'room'>;
  private readonly jitter: Histogram<'room'>;
  private readonly rtt: Histogram<'room'>;
  private readonly poor: Gauge<'room'>;
  private readonly scores = new Map<string, Map<string, number>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.loss = new Histogram({ name: 'callpeer_quality_packet_loss_percent', help: 'Packet loss of each quality reading, %', labelNames: ['room'], buckets: [0.5, 1, 2, 5, 10, 20, 50], registers });
    this.jitter = new Histogram({ name: 'callpeer_quality_jitter_ms', help: 'Jitter of each quality reading, ms', labelNames: ['room'], buckets: [5, 10, 20, 30, 50, 100, 200], registers });
    this.rtt = new Histogram({ name: 'callpeer_quality_rtt_ms', help: 'Round-trip time of each quality reading, ms', labelNames: ['room'], buckets: [20, 50, 100, 200, 300, 500, 1000], registers });
    this.poor = new Gauge({ name: 'callpeer_quality_poor_members', help: `Members whose last quality score is under ${POOR_SCORE}`, labelNames: ['room'], registers });
  }

  reading(room: string, m: QualityMessage): void {
    this.loss.observe({ room }, m.packetLoss);
    this.jitter.observe({ room }, m.jitterMs);
    this.rtt.observe({ room }, m.rttMs);
    let scores = this.scores.get(room);
    if (!scores) this.scores.set(room, (scores = new Map()));
    scores.set(m.id, m.score);
    this.poor.set({ room }, [...scores.values()].filter((s) => s < POOR_SCORE).length);
  }

  left(room: string, member: string): void {
    const scores = this.scores.get(room);
    if (!scores?.delete(member)) return;
    this.poor.set({ room }, [...scores.values()].filter((s) => s < POOR_SCORE).length);
  }

  roomClosed(room: string): void {
    this.scores.delete(room);
    for (const m of [this.loss, this.jitter, this.rtt]) m.remove({ room });
    this.poor.remove({ room });
  }
}
