/** What an SFU room logs: each line names its room and peer once (pino writes a repeated binding twice). */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { until } from '../helpers/rtc.js';
import { startTestServer } from '../helpers/server.js';
import { sfuMember } from './sfu-helpers.js';

const lines: string[] = [];
let server: RunningServer;

beforeAll(async () => {
  const destination = new Writable({ write(chunk, _e, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { log: createLogger({ level: 'debug', pretty: false, destination }) });
});
afterAll(async () => {
  await server.close();
  cleanupRtc();
});

const count = (line: string, key: string) => line.split(`"${key}":`).length - 1;

describe('SFU logs', () => {
  it('a member\'s lines, from signaling and from its server connection, carry room and peer exactly once', async () => {
    const a = await sfuMember(server.wsUrl, 'logs', 'a', 440);
    const b = await sfuMember(server.wsUrl, 'logs', 'b', undefined);
    await until(() => b.heard.size === 1, 10_000, 'b hears a');
    const aId = a.agent.id!;
    await a.stop();
    await b.stop();
    await until(() => lines.some((l) => l.includes('room closed')), 5000, 'the room closed');
    const peerLines = lines.filter((l) => l.includes(`"peer":"${aId}"`));
    expect(peerLines.some((l) => l.includes('"msg":"publishing"'))).toBe(true);
    expect(peerLines.length).toBeGreaterThan(3);
    for (const l of lines) {
      expect(count(l, 'peer'), l).toBeLessThanOrEqual(1);
      expect(count(l, 'room'), l).toBeLessThanOrEqual(1);
    }
    for (const l of peerLines) expect(l).toContain('"room":"logs"');
  });
});
