/**
 * `callpeer loadtest` as a user runs it (the built CLI, `npm run build` first) against a real
 * server on loopback: exit codes, the threshold line, the --json file against the shape
 * README "Load testing" documents.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
let base: string;
beforeAll(async () => {
  server = await startTestServer();
  base = server.wsUrl.replace(/\/ws$/, '').replace(/^ws:/, 'http:');
});
afterAll(async () => { await server.close(); });

const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-loadtest-'));

// The documented shape of the --json file: a type name per leaf ('number|null' allows null),
// [shape] for an array of that shape, {} for a record of numbers.
const dist = { count: 'number', min: 'number|null', mean: 'number|null', p50: 'number|null', p95: 'number|null', p99: 'number|null', max: 'number|null' };
const SHAPE = {
  version: 'number', mode: 'string', topology: 'string|null', startedAt: 'string', elapsedSeconds: 'number', passed: 'boolean',
  params: { mode: 'string', url: 'string', rampPerSecond: 'number', durationSeconds: 'number', thresholds: 'object' },
  summary: {
    peers: { total: 'number', joined: 'number', connected: 'number', withErrors: 'number' },
    tracks: { expected: 'number', received: 'number' },
    setup: { joinMs: dist, iceConnectedMs: dist, firstPacketMs: dist },
    packets: { sent: 'number', received: 'number', expected: 'number', lost: 'number', lossPercent: 'number' },
    bitrate: { sentKbps: 'number', receivedKbps: 'number', perStreamKbps: dist },
    streamLossPercent: dist, jitterMs: dist, rttMs: dist, latencyMs: dist,
    errors: {},
  },
  generator: {
    cpuPercent: dist, rssMB: { max: 'number|null', end: 'number|null' }, loopLagP99Ms: dist, pacerSkippedFrames: 'number',
    bottleneck: 'boolean', reasons: ['string'], samples: [{ t: 'number', cpuPercent: 'number', rssMB: 'number', loopLagP99Ms: 'number' }],
  },
  violations: [{ threshold: 'string', limit: 'number', actual: 'number|null' }],
  peers: [{
    index: 'number', id: 'string|null', room: 'string', role: 'string', joinMs: 'number|null',
    peersExpected: 'number', peersConnected: 'number', tracksExpected: 'number', tracksReceived: 'number',
    links: [{ remote: 'string', initiator: 'boolean', remotePublishes: 'boolean', connectMs: 'number|null', firstPacketMs: 'number|null' }],
    streams: [{ from: 'string', packets: 'number', expected: 'number', lost: 'number', lossPercent: 'number', bytes: 'number', kbps: 'number', jitterMs: 'number', latencyMeanMs: 'number|null' }],
    sent: { packets: 'number', bytes: 'number', kbps: 'number' }, rttMs: ['number'], errors: {},
  }],
};

/** Every mismatch between `value` and `shape`, as paths. */
function mismatches(value: unknown, shape: unknown, at = '$'): string[] {
  if (typeof shape === 'string') {
    const ok = shape.split('|').some((t) => (t === 'null' ? value === null : typeof value === t && value !== null));
    return ok ? [] : [`${at}: ${JSON.stringify(value)} is not ${shape}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${at}: not an array`];
    return value.flatMap((v, i) => mismatches(v, shape[0], `${at}[${i}]`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: not an object`];
  const keys = Object.keys(shape as object);
  if (keys.length === 0) return Object.entries(value).flatMap(([k, v]) => mismatches(v, 'number', `${at}.${k}`));
  return keys.flatMap((k) => mismatches((value as Record<string, unknown>)[k], (shape as Record<string, unknown>)[k], `${at}.${k}`));
}

describe('callpeer loadtest', () => {
  it('a passing run exits 0 and writes a --json file of the documented shape, without the token', async () => {
    const file = path.join(dir, 'pass.json');
    const r = await runCli(['loadtest', base, '--rooms', '1', '--peers', '3', '--ramp', '20', '--duration', '2', '--json', file, '--max-loss', '1', '--token', 'secret-token-xyz'], { timeoutMs: 20_000 });
    expect(r.stderr).not.toMatch(/threshold/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PASS$/m);
    for (const row of ['join ms', 'offer/answer ms', 'ICE connected ms', 'connected ms (DTLS done)', 'first packet ms (setup)']) {
      expect(r.stdout).toMatch(new RegExp(`^${row.replace(/[()/]/g, '\\$&')} +\\d+ `, 'm'));
    }
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('secret-token-xyz'); // a report file is shared; the token is not
    const json = JSON.parse(text) as { summary: { tracks: unknown }; peers: unknown[] };
    expect(mismatches(json, SHAPE)).toEqual([]);
    expect(json.summary.tracks).toEqual({ expected: 6, received: 6 });
    expect(json.peers).toHaveLength(3);
  }, 30_000);

  it('a violated threshold exits 2 with a plain line naming it, and still writes the JSON', async () => {
    const file = path.join(dir, 'fail.json');
    const r = await runCli(['loadtest', base, '--peers', '2', '--ramp', '20', '--duration', '1', '--max-setup-p95', '0', '--max-loss', '50', '--json', file], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^callpeer: threshold --max-setup-p95 0 ms exceeded: \d+\.\d\d ms$/)]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ passed: false, violations: [{ threshold: '--max-setup-p95', limit: 0 }] });
  }, 30_000);

  it('against an SFU server it says so, sends each stream once and hears every track through the server', async () => {
    const sfu = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    try {
      const url = sfu.wsUrl.replace(/\/ws$/, '').replace(/^ws:/, 'http:');
      const file = path.join(dir, 'sfu.json');
      const r = await runCli(['loadtest', url, '--rooms', '1', '--peers', '3', '--ramp', '20', '--duration', '2', '--max-loss', '1', '--json', file], { timeoutMs: 20_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/webrtc sfu, 1 room x 3 peers/);
      expect(r.stdout).toMatch(/tracks +6\/6 received/);
      const json = JSON.parse(readFileSync(file, 'utf8')) as { topology: string; peers: { peersExpected: number; peersConnected: number }[] };
      expect(mismatches(json, SHAPE)).toEqual([]);
      expect(json.topology).toBe('sfu');
      expect(json.peers.every((p) => p.peersExpected === 1 && p.peersConnected === 1)).toBe(true);
    } finally {
      await sfu.close();
    }
  }, 30_000);

  it('PCM mode runs pairs over /ws/pcm', async () => {
    const r = await runCli(['loadtest', base, '--mode', 'pcm', '--pairs', '3', '--codec', 'opus', '--duration', '1', '--max-loss', '0'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pcm, 3 pairs \(codec opus\)/);
    expect(r.stdout).toMatch(/tracks +6\/6 received/);
  }, 30_000);

  it('Ctrl-C ends the hold early and still prints the final report', async () => {
    // Interrupted once both tracks flow (on a busy machine the hold can start before they connect).
    const run = await startCli(['loadtest', base, '--peers', '2', '--duration', '60'], /^t=\d+s holding .*\btracks=2\/2/m, { timeoutMs: 20_000 });
    run.child.kill('SIGINT');
    const r = await run.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tracks +2\/2 received/);
    expect(r.stdout).toMatch(/^PASS$/m);
  }, 30_000);

  it('refuses a big run against another host without --force, before connecting (exit 1)', async () => {
    const r = await runCli(['loadtest', 'http://192.0.2.1:8080', '--rooms', '5', '--peers', '5'], { timeoutMs: 10_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--force/);
    expect(r.stdout).toBe('');
  });

  it('--whip/--whep run WHIP publishers and WHEP viewers against any server: the report shows their setup phases; no token or header in the JSON', async () => {
    const sfu = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    try {
      const file = path.join(dir, 'whip.json');
      const r = await runCli([
        'loadtest', '--whip', `${sfu.url}/whip/stage`, '--whep', `${sfu.url}/whep/stage`, '--publishers', '1', '--viewers', '2',
        '--duration', '2', '--max-loss', '1', '--json', file, '--token', 'secret-token-xyz', '--header', 'X-Api-Key: secret-header-value',
      ], { timeoutMs: 20_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`1 WHIP publisher → ${sfu.url}/whip/stage, 2 WHEP viewers ← ${sfu.url}/whep/stage; audio tone`);
      for (const row of ['offer ms (ICE gathering)', 'answer ms (HTTP POST → 201)', 'ICE connected ms', 'connected ms (DTLS done)', 'first packet ms (setup)', 'one-way latency ms']) {
        expect(r.stdout).toMatch(new RegExp(`^${row.replace(/[()+]/g, '\\$&')} +\\d+ `, 'm'));
      }
      expect(r.stdout).toMatch(/tracks +2\/2 received/);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('secret-token-xyz');
      expect(text).not.toContain('secret-header-value');
      const json = JSON.parse(text) as { mode: string; summary: { setup: { answerMs: { count: number } } }; peers: { http: unknown }[] };
      expect(mismatches(json, SHAPE)).toEqual([]);
      expect(json.mode).toBe('whip');
      expect(json.summary.setup.answerMs.count).toBe(3);
      expect(json.peers.every((p) => mismatches(p.http, { offerMs: 'number', answerMs: 'number', iceMs: 'number', connectedMs: 'number' }).length === 0)).toBe(true);
    } finally {
      await sfu.close();
    }
  }, 30_000);

  it('--workers 2 spreads the peers over two processes (the built worker entry), one report for the run', async () => {
    const file = path.join(dir, 'workers.json');
    const r = await runCli(['loadtest', base, '--rooms', '1', '--peers', '4', '--ramp', '20', '--duration', '2', '--workers', '2', '--json', file], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^generator: 2 workers: #0 2 peers, CPU \d+ % .*; #1 2 peers, CPU \d+ %/m);
    expect(r.stdout).toMatch(/tracks +12\/12 received/);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { valid: boolean; workers: { worker: number; peers: number }[]; params: { workers: number } };
    expect(mismatches(json, SHAPE)).toEqual([]);
    expect(json.params.workers).toBe(2);
    expect(json.workers.map((w) => w.peers)).toEqual([2, 2]);
    expect(typeof json.valid).toBe('boolean');
  }, 40_000);

  it('--scenario reads the run from a YAML file (a flag given overrides it); churn makes new sessions of the same peers', async () => {
    const scenario = path.join(dir, 'churn.yaml');
    writeFileSync(scenario, [
      '# two publishers and two listeners; one peer a second leaves and joins again',
      `url: ${base}`, 'rooms: 1', 'publishers: 2', 'subscribers: 2', 'ramp: 20', 'duration: 30', 'churn: 1', 'max-loss: 5',
    ].join('\n'));
    const file = path.join(dir, 'scenario.json');
    const r = await runCli(['loadtest', '--scenario', scenario, '--duration', '4', '--json', file], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { params: Record<string, unknown>; peers: { index: number; joinMs: number | null }[]; summary: { errors: object } };
    expect(json.params).toMatchObject({ publishers: 2, subscribers: 2, durationSeconds: 4, churnPerSecond: 1, thresholds: { maxLossPercent: 5 } });
    // ~4 churns in 4 s: more sessions than peers, each a peer of the four, none an error.
    expect(json.peers.length).toBeGreaterThan(4);
    expect(new Set(json.peers.map((p) => p.index))).toEqual(new Set([0, 1, 2, 3]));
    expect(json.peers.every((p) => p.joinMs !== null)).toBe(true);
    expect(json.summary.errors).toEqual({});
  }, 40_000);

  it('refuses a scenario with an unknown key or a wrong type, naming the file and the key (exit 1)', async () => {
    const bad = (name: string, text: string) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const cases: [string, RegExp][] = [
      [bad('typo.yaml', `url: ${base}\nroms: 4\n`), /scenario .*typo\.yaml: unknown key "roms"/],
      [bad('type.json', JSON.stringify({ url: base, video: 'yes' })), /scenario .*type\.json: "video" must be true or false \(got "yes"\)/],
      [bad('list.yaml', '- a\n- b\n'), /must be a mapping of flags to values/],
      [path.join(dir, 'missing.yaml'), /cannot read scenario .*missing\.yaml: ENOENT/],
    ];
    for (const [file, message] of cases) {
      const r = await runCli(['loadtest', '--scenario', file], { timeoutMs: 10_000 });
      expect(r.code, file).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refuses WHIP/WHEP flag mixes that cannot run, naming the flag (exit 1)', async () => {
    const cases: [string[], RegExp][] = [
      [['loadtest', base, '--whip', 'http://127.0.0.1:2/whip/x'], /--whip\/--whep give the endpoints: drop the server URL/],
      [['loadtest', '--whip', 'http://127.0.0.1:2/whip/x', '--rooms', '2'], /--rooms does not apply to a WHIP\/WHEP run/],
      [['loadtest', '--whip', 'http://127.0.0.1:2/whip/x', '--header', 'no colon here'], /--header "no colon here" is not "Name: value"/],
      [['loadtest', base, '--viewers', '3'], /--viewers does not apply to --mode webrtc/],
      [['loadtest'], /loadtest needs the server URL \(or --whip\/--whep URLs\)/],
      [['loadtest', base, '--workers', '0'], /--workers must be an integer from 1 to 64 \(got 0\)/],
      [['loadtest', base, '--mode', 'pcm', '--churn', '1'], /--churn is for WebRTC and WHIP\/WHEP runs/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { timeoutMs: 10_000 });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refuses a bad flag value with exit 1', async () => {
    const r = await runCli(['loadtest', base, '--peers', 'many'], { timeoutMs: 10_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--publishers/);
  });
});
