import { describe, expect, it } from 'vitest';
import { LocalTrack } from '../../../src/rtc/local-track.js';

const OPUS = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: '', rtcpFb: [] };
const rtp = (seq: number): Buffer => Buffer.from([0x80, 111, 0, seq, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa]);
const rtcp = (): Buffer => Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);

describe('LocalTrack', () => {
  it('delivers RTP to onRtp and RTCP as an event, sends RTP to its sink and drops RTCP', () => {
    const sent: number[] = [];
    const t = new LocalTrack('0', 'audio', OPUS, (p) => sent.push(p[3]!));
    const got: number[] = [];
    let reports = 0;
    t.onRtp = (p) => got.push(p[3]!);
    t.on('rtcp', () => reports++);
    t.deliver(rtp(1));
    t.deliver(rtcp());
    expect(got).toEqual([1]);
    expect(reports).toBe(1);
    expect(t.send(rtp(7))).toBe(true);
    expect(t.send(rtcp())).toBe(true);
    expect(sent).toEqual([7]);
  });

  it('after close nothing goes in or out, and closed is emitted once', () => {
    const sent: Buffer[] = [];
    const t = new LocalTrack('0', 'audio', OPUS, (p) => sent.push(p));
    let closed = 0;
    t.once('closed', () => closed++);
    const got: Buffer[] = [];
    t.onRtp = (p) => got.push(p);
    t.close();
    t.close();
    t.deliver(rtp(1));
    expect(t.send(rtp(2))).toBe(false);
    expect([closed, got.length, sent.length, t.closed]).toEqual([1, 0, 0, true]);
  });
});
