import { describe, expect, it } from 'vitest';
import type { QualitySample } from '../../../src/media/quality.js';
import type { Participant, QualityMessage, StatsMessage } from '../../../src/protocol/signaling.js';
import { MeshStatsBook } from '../../../src/rooms/mesh-quality.js';
import { QualityReporter, type QualityChange, type QualityReading } from '../../../src/rooms/quality-reporter.js';
import { ManualClock } from '../../helpers/clock.js';

const sample = (o: Partial<QualitySample> = {}): QualitySample => ({ packetLoss: 0, jitterMs: 5, rttMs: 40, bitrateKbps: 40, video: false, expectingMedia: true, ...o });

describe('QualityReporter', () => {
  it('every 2 s sends each reading to the participant and its audience (once each), and tells the hook only of changes', () => {
    const clock = new ManualClock();
    let readings: QualityReading[] = [{ id: 'a', sample: sample(), audience: ['b', 'c', 'a'] }, { id: 'b', sample: sample({ packetLoss: 12 }), audience: ['a'] }];
    const sent: [string, QualityMessage][] = [];
    const changes: QualityChange[] = [];
    const r = new QualityReporter({ clock, read: () => readings, send: (to, m) => sent.push([to, m]), onChange: (c) => changes.push(c) });
    r.start();
    clock.advance(1999);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent.map(([to, m]) => `${to}<-${m.id}`)).toEqual(['a<-a', 'b<-a', 'c<-a', 'b<-b', 'a<-b']);
    expect(sent[0]![1]).toEqual({ type: 'quality', id: 'a', score: 99, packetLoss: 0, jitterMs: 5, rttMs: 40, bitrateKbps: 40, warnings: [] });
    expect(sent[3]![1]).toMatchObject({ id: 'b', packetLoss: 12, warnings: ['high-loss'] });
    expect(changes.map((c) => [c.participant, c.previous === undefined])).toEqual([['a', true], ['b', true]]);
    // a the same: nothing told. b recovers: its score band changes at once (66 -> 95), its
    // warning holds one more round, then goes (a change again).
    readings = [{ id: 'a', sample: sample(), audience: [] }, { id: 'b', sample: sample({ packetLoss: 1 }), audience: [] }];
    clock.advance(2000);
    expect(changes).toHaveLength(3);
    expect(changes[2]).toMatchObject({ participant: 'b', quality: { warnings: ['high-loss'], score: 95 }, previous: { score: 66 } });
    clock.advance(2000);
    expect(changes).toHaveLength(4);
    expect(changes[3]).toMatchObject({ participant: 'b', quality: { warnings: [], score: 95 }, previous: { warnings: ['high-loss'] } });
    clock.advance(2000);
    expect(changes).toHaveLength(4);
    expect(r.latest('b')).toMatchObject({ packetLoss: 1 });
    r.forget('b');
    expect(r.latest('b')).toBeUndefined();
    r.stop();
    const before = sent.length;
    clock.advance(10_000);
    expect(sent.length).toBe(before);
  });

  it('media expected and none flowing scores 0 with no-media', () => {
    const clock = new ManualClock();
    const sent: QualityMessage[] = [];
    const r = new QualityReporter({ clock, read: () => [{ id: 'a', sample: sample({ bitrateKbps: 0 }), audience: [] }], send: (_to, m) => sent.push(m) });
    r.tick();
    expect(sent[0]).toMatchObject({ score: 0, warnings: ['no-media'] });
  });

  it('reads and sends every 2 s once started, and never with intervalMs 0 (reports off)', () => {
    const clock = new ManualClock();
    let reads = 0;
    const read = () => { reads++; return [{ id: 'a', sample: sample(), audience: ['b'] }]; };
    const on = new QualityReporter({ clock, read, send: () => {} });
    on.start();
    clock.advance(6000);
    expect(reads).toBe(3);
    on.stop();
    reads = 0;
    const off = new QualityReporter({ clock, intervalMs: 0, read, send: () => {} });
    off.start();
    clock.advance(6000);
    expect(reads).toBe(0);
  });
});

const person = (id: string, o: Partial<Participant> = {}): Participant => ({ id, name: id, role: 'participant', audio: true, video: false, screen: false, metadata: {}, ...o });
const stats = (peer: string, o: Partial<StatsMessage> = {}): StatsMessage => ({ type: 'stats', peer, packetLoss: 0, jitterMs: 5, rttMs: 50, bitrateKbps: 40, ...o });

describe('MeshStatsBook', () => {
  it('reads each participant as the median of the fresh reports about it; everyone else is its audience', () => {
    const clock = new ManualClock();
    const book = new MeshStatsBook(clock);
    const people = [person('a'), person('b', { video: true }), person('c'), person('d')];
    book.report('a', stats('b', { packetLoss: 1, framesPerSecond: 30 }));
    book.report('c', stats('b', { packetLoss: 3, framesPerSecond: 20 }));
    book.report('d', stats('b', { packetLoss: 40, rttMs: 900 })); // one bad link does not paint b as bad
    const [b] = book.readings(people);
    expect(b).toEqual({
      id: 'b',
      sample: { packetLoss: 3, jitterMs: 5, rttMs: 50, bitrateKbps: 40, video: true, expectingMedia: true, framesPerSecond: 25 },
      audience: ['a', 'c', 'd'],
    });
    // Nobody reported on a, c or d: no readings for them.
    expect(book.readings(people).map((r) => r.id)).toEqual(['b']);
  });

  it('forgets reports older than 10 s, and everything of a member who left', () => {
    const clock = new ManualClock();
    const book = new MeshStatsBook(clock);
    book.report('a', stats('b', { packetLoss: 10 }));
    clock.advance(6000);
    book.report('c', stats('b', { packetLoss: 20 }));
    clock.advance(5000);
    expect(book.readings([person('a'), person('b'), person('c')])[0]!.sample.packetLoss).toBe(20);
    book.forget('c');
    expect(book.readings([person('a'), person('b')])).toEqual([]);
  });
});
