/**
 * `callpeer pcm --room`: the built CLI joins a call room as a `phone` participant (the PCM
 * gateway, PROTOCOL.md "The PCM gateway"). A raw /ws/pcm client (the harness) is the other
 * participant: each hears the other's tone, the CLI names who joins and leaves, and ends
 * cleanly when the room is deleted or it is kicked; a refused join exits 1 with a plain message.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { bytesToInt16 } from '../../src/media/pcm.js';
import { parseWav } from '../../src/media/wav.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import { PcmProbe, sleep, until } from './pcm-harness.js';

// These run the built CLI (bin/callpeer.js -> dist/): `npm run build` first, as .ci/run does.
let server: RunningServer;
const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-pcm-room-'));

beforeAll(async () => {
  server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
});
afterAll(() => server.close());


describe('callpeer pcm --room', () => {
  it('joins an SFU room as a phone: records the other participant\'s tone, sends its own, names who joins and leaves, exits 0 when the room is deleted', async () => {
    const file = path.join(dir, 'room.wav');
    const cli = await startCli(['pcm', server.url, '--room', 'cli-room', '--name', 'Script', '--rate', '16000', '--tone', '440', '--record', file], /connected to room/, { timeoutMs: 30_000 });
    const cliId = /connected to room cli-room as (\S+): receiving pcm 16000 Hz mono, 20 ms frames/.exec(cli.output())?.[1];
    expect(cliId, cli.output()).toBeDefined();
    // The harness joins after the CLI: the CLI is told (peer-joined) and prints it.
    const phone = await PcmProbe.open(server, { room: 'cli-room', rate: '16000', name: 'Desk phone' });
    await phone.waitFor('connected');
    const phoneId = phone.last('connected').id as string;
    const stop = phone.speak(880, 16000);
    try {
      await until(() => cli.output().includes(`joined: Desk phone (phone, ${phoneId})`), 'the CLI to print the join', 5000);
      // The room lists the CLI as a phone participant with its name.
      const room = await (await fetch(`${server.url}/api/rooms/cli-room`)).json() as { participants: { id: string; name: string; role: string }[] };
      expect(room.participants.find((p) => p.id === cliId)).toMatchObject({ name: 'Script', role: 'phone' });
      // The harness hears the CLI's 440 Hz in its mix (so the CLI's --tone reaches the room).
      await sleep(500);
      const from = phone.audioBytes;
      await until(() => phone.audioBytes - from >= 16000 * 2 * 1.5, '1.5 s of mix at the harness', 10_000);
      const mix = bytesToInt16(Buffer.concat(phone.audio)).subarray(from / 2);
      expect(Math.abs(dominantFrequency(mix, 16000) - 440)).toBeLessThanOrEqual(1);
    } finally {
      stop();
    }
    phone.close();
    await until(() => cli.output().includes(`left: Desk phone (${phoneId})`), 'the CLI to print the leave', 5000);

    // Deleting the room ends the CLI's session: a plain line, exit 0.
    expect((await fetch(`${server.url}/api/rooms/cli-room`, { method: 'DELETE' })).status).toBe(204);
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^the room was closed \(deleted\)$/m);
    expect(r.stdout).toMatch(/^done \(removed\): sent \d+ frames, received \d+, recorded [\d.]+ s to /m);
    expect(r.stderr).toBe('');

    // What the CLI recorded holds the harness's 880 Hz: the loudest second of the recording.
    const wav = parseWav(readFileSync(file));
    expect(wav.sampleRate).toBe(16000);
    const second = loudestSecond(wav.samples, 16000);
    expect(Math.abs(dominantFrequency(second, 16000) - 880)).toBeLessThanOrEqual(1);
  }, 40_000);

  it('kicked by a moderator: says so and exits 0', async () => {
    const cli = await startCli(['pcm', server.url, '--room', 'cli-kick', '--rate', '8000', '--tone', '300'], /connected to room/, { timeoutMs: 30_000 });
    const cliId = /connected to room cli-kick as (\S+):/.exec(cli.output())![1]!;
    const kick = await fetch(`${server.url}/api/rooms/cli-kick/participants/${cliId}/kick`, { method: 'POST', body: JSON.stringify({ reason: 'wrong room' }) });
    expect(kick.status).toBe(204);
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^removed from the room: wrong room$/m);
    expect(r.stdout).toMatch(/^done \(removed\)/m);
  }, 40_000);

  it('a room that does not exist (auth on, guests may not create rooms) exits 1 with a plain message; so do bad flags', async () => {
    const auth = await startTestServer({ authSecret: 'x'.repeat(40), allowGuests: true });
    try {
      const r = await runCli(['pcm', auth.url, '--room', 'nobody-here', '--duration', '5'], { timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^server error ROOM_NOT_FOUND: room "nobody-here" does not exist on this server$/m);
      expect(r.stderr).toMatch(/^callpeer: the server refused the session: room "nobody-here" does not exist on this server/m);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    } finally {
      await auth.close();
    }
    const both = await runCli(['pcm', server.url, '--room', 'a', '--pair', 'b']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/^callpeer: --room and --pair go one at a time/m);
    const name = await runCli(['pcm', server.url, '--pair', 'b', '--name', 'N']);
    expect(name.code).toBe(1);
    expect(name.stderr).toMatch(/^callpeer: a name needs a room/m);
  }, 40_000);
});

/** The second of `samples` with the most energy (1 s windows, 0.1 s steps). */
function loudestSecond(samples: Int16Array, rate: number): Int16Array {
  let best = 0, bestEnergy = -1;
  for (let start = 0; start + rate <= samples.length; start += rate / 10) {
    let e = 0;
    for (let i = start; i < start + rate; i++) e += samples[i]! * samples[i]!;
    if (e > bestEnergy) { bestEnergy = e; best = start; }
  }
  return samples.subarray(best, best + rate);
}
