import { describe, expect, it } from 'vitest';
import { validateParams } from '../../../src/loadtest/params.js';
import { progressLine, ProgressView } from '../../../src/loadtest/progress.js';
import { formatReport, table, toJson, violationLine } from '../../../src/loadtest/report.js';
import type { LoadTestResult, ProgressSnapshot } from '../../../src/loadtest/runner.js';
import { distribution, generatorFigures, summarize, type PeerFigures } from '../../../src/loadtest/stats.js';

const peer: PeerFigures = {
  index: 0, id: 'a', room: 'loadtest-0', role: 'publisher', joinMs: 10, peersExpected: 1, peersConnected: 1, tracksExpected: 1, tracksReceived: 1,
  links: [{ remote: 'b', initiator: true, remotePublishes: true, connectMs: 30, firstPacketMs: 50 }],
  streams: [{ from: 'b', packets: 90, expected: 100, lost: 10, lossPercent: 10, bytes: 9000, kbps: 36, jitterMs: 1, latencyMeanMs: 0.2 }],
  video: { expected: 0, streams: [] }, sent: { packets: 100, bytes: 9000, kbps: 36 }, rttMs: [0.5], errors: { 'peer-failed': 1 },
};

function result(over: Partial<LoadTestResult> = {}): LoadTestResult {
  const summary = summarize([peer], distribution([0.1, 0.2]));
  return {
    version: 1, mode: 'webrtc', topology: 'mesh', startedAt: '2026-01-01T00:00:00.000Z', elapsedSeconds: 5,
    params: validateParams({ url: 'http://127.0.0.1:1', peers: 2 }), summary,
    generator: generatorFigures([{ t: 1, cpuPercent: 97, rssMB: 80, loopLagP99Ms: 2 }], 0),
    valid: false, violations: [{ threshold: '--max-loss', limit: 1, actual: 10 }], passed: false, peers: [peer], ...over,
  };
}

const progress: ProgressSnapshot = {
  t: 3, phase: 'ramping', total: 10, started: 4, joined: 4, connected: 3, tracksExpected: 12, tracksReceived: 6,
  packetsPerSecond: 300, receivedKbps: 220, lossPercent: 0, cpuPercent: 12, rssMB: 90, loopLagP99Ms: 1, errors: 0,
};

describe('report', () => {
  it('aligns columns: the first to the left, the rest to the right', () => {
    expect(table([['a', '1'], ['bbb', '22']])).toEqual(['a     1', 'bbb  22']);
  });

  it('names the violated threshold, its limit and the measured value in one line', () => {
    expect(violationLine({ threshold: '--max-loss', limit: 1, actual: 10 })).toBe('threshold --max-loss 1 % exceeded: 10.00 %');
    expect(violationLine({ threshold: '--max-setup-p95', limit: 500, actual: null })).toBe('threshold --max-setup-p95 500 ms exceeded: nothing measured');
  });

  it('the final table has totals, distributions, the generator verdict, peers and FAIL', () => {
    const text = formatReport(result());
    expect(text).toMatch(/packets {2}100 sent, 90 received, 10 lost \(10\.00 %\)/);
    expect(text).toMatch(/first packet ms \(setup\) +1 +50 +50 +50 +50/);
    expect(text).toMatch(/errors {3}peer-failed 1/);
    expect(text).toMatch(/generator is the bottleneck \(CPU 97 %/);
    expect(text).toMatch(/^0 +loadtest-0 +publisher/m);
    // The generator at 97 % of a core: the verdict says the run is not to be trusted.
    expect(text.trimEnd().split('\n').at(-1)).toBe('FAIL: threshold --max-loss 1 % exceeded: 10.00 % (INVALID RUN: the generator saturated; see above)');
    expect(text).toMatch(/--workers N spreads the peers over N processes/);
    expect(formatReport(result({ violations: [], passed: true, valid: true })).trimEnd().split('\n').at(-1)).toBe('PASS');
  });

  it('with workers, one generator line shows each process\'s share', () => {
    const cpu = (p50: number) => distribution([p50]);
    const text = formatReport(result({
      valid: true,
      workers: [
        { worker: 0, peers: 5, cpuPercent: cpu(40), rssMB: { max: 90, end: 90 }, bottleneck: false },
        { worker: 1, peers: 5, cpuPercent: cpu(38), rssMB: { max: 88, end: 88 }, bottleneck: false },
      ],
    }));
    expect(text).toMatch(/^generator: 2 workers: #0 5 peers, CPU 40 % \(max 40 %\), RSS 90 MB; #1 5 peers, CPU 38 % \(max 38 %\), RSS 88 MB; event-loop lag/m);
  });

  it('a WHEP-only run names no audio of its own (viewers hear the stream)', () => {
    const params = validateParams({ mode: 'whip', whepUrl: 'http://127.0.0.1:1/whep/x', viewers: 3 });
    expect(formatReport(result({ mode: 'whip', params })).split('\n')[0]).toMatch(/^callpeer loadtest: 3 WHEP viewers ← http:\/\/127\.0\.0\.1:1\/whep\/x; [\d.]+ s$/);
  });

  it('names the rooms\' topology in the run line', () => {
    expect(formatReport(result())).toMatch(/webrtc mesh, 1 room x 2 peers/);
    expect(formatReport(result({ topology: 'sfu' }))).toMatch(/webrtc sfu, 1 room x 2 peers/);
    expect(formatReport(result({ topology: null }))).toMatch(/webrtc, 1 room x 2 peers/);
  });

  it('JSON round-trips the result', () => {
    const r = result();
    expect(JSON.parse(toJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
  });
});

describe('ProgressView', () => {
  it('on a terminal redraws the table in place', () => {
    const out: string[] = [];
    const view = new ProgressView({ isTTY: true, write: (s) => out.push(s) });
    view.update(progress);
    view.update({ ...progress, t: 4 });
    expect(out[0]!.startsWith('\x1b[')).toBe(false);
    const lines = out[0]!.trimEnd().split('\n').length;
    expect(out[1]!.startsWith(`\x1b[${lines}A\x1b[0J`)).toBe(true);
    expect(out[1]).toMatch(/4\/10/);
  });

  it('piped, writes one plain line every 5 s and no escape codes', () => {
    const out: string[] = [];
    const view = new ProgressView({ isTTY: false, write: (s) => out.push(s) });
    for (let t = 1; t <= 11; t++) view.update({ ...progress, t });
    expect(out).toHaveLength(3);
    expect(out.join('')).not.toContain('\x1b');
    expect(out[0]).toBe(`${progressLine({ ...progress, t: 1 })}\n`);
    expect(out[0]).toMatch(/^t=1s ramping started=4\/10 joined=4 connected=3 tracks=6\/12 /);
  });
});
