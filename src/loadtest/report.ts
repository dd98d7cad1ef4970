/**
 * The final report of a load test as text (a table per figure, peers one per line when
 * there are few) and as JSON (the `--json` file). Pure: a result in, strings out.
 */
import type { LoadTestResult } from './runner.js';
import type { Distribution, PeerFigures, VideoSummary, Violation } from './stats.js';

/** Fixed-width columns, right-aligned except the first. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}

export function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function distRow(name: string, d: Distribution, digits = 1): string[] {
  return [name, String(d.count), num(d.p50, digits), num(d.p95, digits), num(d.p99, digits), num(d.max, digits)];
}

export function formatErrors(errors: Record<string, number>): string {
  const e = Object.entries(errors).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? 'none' : e.map(([k, n]) => `${k} ${n}`).join(', ');
}

/** The plain line the CLI prints for each violated threshold. */
export function violationLine(v: Violation): string {
  const unit = v.threshold === '--max-loss' ? ' %' : ' ms';
  return `threshold ${v.threshold} ${v.limit}${unit} exceeded: ${v.actual === null ? 'nothing measured' : `${num(v.actual, 2)}${unit}`}`;
}

function describeRun(r: LoadTestResult): string {
  const p = r.params;
  if (p.mode === 'pcm') return `pcm, ${p.pairs} pairs (codec ${p.codec})`;
  if (p.mode === 'whip') {
    const who = [
      ...(p.publishers > 0 ? [`${p.publishers} WHIP publisher${p.publishers === 1 ? '' : 's'} → ${p.whipUrl}`] : []),
      ...(p.viewers > 0 ? [`${p.viewers} WHEP viewer${p.viewers === 1 ? '' : 's'} ← ${p.whepUrl}`] : []),
    ];
    // What is sent is ours only when we publish; viewers alone hear whatever the stream is.
    return p.publishers > 0 ? `${who.join(', ')}; audio ${p.audio}${p.video ? ', video (640x360 VP8)' : ''}` : `${who.join(', ')}${p.video ? ', video offered' : ''}`;
  }
  const size = p.publishers + p.subscribers;
  const who = p.subscribers === 0 ? `${size} peers` : `${p.publishers} publishers + ${p.subscribers} subscribers`;
  const kind = r.topology === 'mesh' || r.topology === 'sfu' ? `webrtc ${r.topology}` : 'webrtc';
  return `${kind}, ${p.rooms} room${p.rooms === 1 ? '' : 's'} x ${who}, audio ${p.audio}${p.video ? ', video (3 simulcast layers)' : ''}`;
}

function peerRows(peers: readonly PeerFigures[]): string[] {
  const rows = [['peer', 'room', 'role', 'join ms', 'links', 'tracks', 'rx pkts', 'loss %', 'jitter ms', 'rtt ms', 'latency ms', 'errors']];
  for (const p of peers) {
    const rx = p.streams.reduce((n, s) => n + s.packets, 0);
    const expected = p.streams.reduce((n, s) => n + s.expected, 0);
    const lost = p.streams.reduce((n, s) => n + s.lost, 0);
    const lat = p.streams.flatMap((s) => (s.latencyMeanMs === null ? [] : [s.latencyMeanMs]));
    rows.push([
      String(p.index), p.room, p.role, num(p.joinMs, 0), `${p.peersConnected}/${p.peersExpected}`, `${p.tracksReceived}/${p.tracksExpected}`,
      String(rx), num(expected > 0 ? (100 * lost) / expected : null, 2), num(p.streams.length ? Math.max(...p.streams.map((s) => s.jitterMs)) : null, 2),
      num(p.rttMs.length ? Math.max(...p.rttMs) : null, 2), num(lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : null, 2), formatErrors(p.errors),
    ]);
  }
  return table(rows);
}

/** Peers are listed one per line up to this many; beyond, only in the JSON. */
const PEER_LINES = 20;

/** The final report: what ran, the totals, distributions, the generator's health, the verdict. */
export function formatReport(r: LoadTestResult): string {
  const s = r.summary;
  const g = r.generator;
  const lines = [
    `callpeer loadtest: ${describeRun(r)}; ${num(r.elapsedSeconds, 1)} s`,
    '',
    `peers    ${s.peers.joined}/${s.peers.total} joined, ${s.peers.connected}/${s.peers.total} connected, ${s.peers.withErrors} with errors`,
    `tracks   ${s.tracks.received}/${s.tracks.expected} received`,
    `packets  ${s.packets.sent} sent, ${s.packets.received} received, ${s.packets.lost} lost (${num(s.packets.lossPercent, 2)} %)`,
    `bitrate  ${num(s.bitrate.sentKbps, 0)} kbps sent, ${num(s.bitrate.receivedKbps, 0)} kbps received`,
    ...(s.video ? [videoLine(s.video)] : []),
    `errors   ${formatErrors(s.errors)}`,
    '',
    ...table([
      ['', 'count', 'p50', 'p95', 'p99', 'max'],
      ...(r.mode === 'whip'
        ? [distRow('offer ms (ICE gathering)', s.setup.offerMs, 0), distRow('answer ms (HTTP POST → 201)', s.setup.answerMs, 0), distRow('ICE connected ms', s.setup.iceMs, 0)]
        : [distRow('join ms', s.setup.joinMs, 0)]),
      ...(r.mode === 'webrtc' ? [distRow('offer/answer ms', s.setup.negotiatedMs, 0), distRow('ICE connected ms', s.setup.iceMs, 0)] : []),
      distRow(r.mode === 'pcm' ? 'paired ms' : 'connected ms (DTLS done)', s.setup.iceConnectedMs, 0),
      distRow('first packet ms (setup)', s.setup.firstPacketMs, 0),
      distRow('one-way latency ms', s.latencyMs, 2),
      distRow('jitter ms (per stream)', s.jitterMs, 2),
      distRow('RTT ms (RTCP)', s.rttMs, 2),
      distRow('loss % (per stream)', s.streamLossPercent, 2),
      distRow('kbps (per stream)', s.bitrate.perStreamKbps, 1),
    ]),
    '',
    r.workers
      ? `generator: ${r.workers.length} workers: ${r.workers.map((w) => `#${w.worker} ${w.peers} peers, CPU ${num(w.cpuPercent.p50, 0)} % (max ${num(w.cpuPercent.max, 0)} %), RSS ${num(w.rssMB.max, 0)} MB`).join('; ')}; event-loop lag p99 ${num(g.loopLagP99Ms.max, 1)} ms, pacer skipped ${g.pacerSkippedFrames} frames`
      : `generator: CPU ${num(g.cpuPercent.p50, 0)} % of a core (median; max ${num(g.cpuPercent.max, 0)} %), RSS ${num(g.rssMB.max, 0)} MB, event-loop lag p99 ${num(g.loopLagP99Ms.max, 1)} ms, pacer skipped ${g.pacerSkippedFrames} frames`,
    g.bottleneck ? `generator is the bottleneck (${g.reasons.join('; ')}): these figures partly measure this machine, not the server${r.workers ? '' : '; --workers N spreads the peers over N processes'}` : 'generator kept up',
  ];
  if (r.peers.length <= PEER_LINES) lines.push('', ...peerRows(r.peers));
  const verdict = r.passed ? 'PASS' : `FAIL: ${r.violations.map(violationLine).join('; ')}`;
  lines.push('', r.valid ? verdict : `${verdict} (INVALID RUN: the generator saturated; see above)`);
  return `${lines.join('\n')}\n`;
}

/** `--video` runs: the cameras received, their packets and frames, and the layers the server forwarded. */
function videoLine(v: VideoSummary): string {
  const sizes = Object.entries(v.sizes).map(([size, n]) => `${n} at ${size}`).join(', ') || 'none';
  return `video    ${v.tracks.received}/${v.tracks.expected} cameras received, ${v.packets.received} packets, ${v.packets.lost} lost (${num(v.packets.lossPercent, 2)} %), `
    + `${v.frames} frames (${v.keyframes} key), ${num(v.framesPerSecond.p50, 1)} fps per camera (median), ${num(v.receivedKbps, 0)} kbps; last layer: ${sizes}`;
}

/** The `--json` file: the result as is (its shape is in README "Load testing"). */
export function toJson(r: LoadTestResult): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
