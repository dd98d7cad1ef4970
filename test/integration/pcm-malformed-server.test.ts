/**
 * The PCM clients against a server that breaks the protocol: a tiny ws server on loopback
 * sends frames no callpeer server sends. The client reports each and carries on; nothing a
 * server sends may throw in the client's process.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { PcmClient } from '../../src/client/pcm-client.js';
import type { CallpeerError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { validateParams, type PcmLoadParams } from '../../src/loadtest/params.js';
import { PcmBroadcast, PcmTester } from '../../src/loadtest/pcm-tester.js';
import { LatencyHistogram } from '../../src/loadtest/stats.js';
import { until } from './pcm-harness.js';

/** Frames a broken or hostile server might send, each refused by parsePcmServerMessage. */
const GARBAGE = [
  'not json',
  'null',
  '[]',
  '{"type":7}',
  '{"type":"surprise"}',
  '{"type":"connected"}',
  '{"type":"connected","codec":"pcm","sampleRate":44100,"channels":1,"frameMs":20}',
  '{"type":"peer-muted","muted":"yes"}',
  '{"type":"error","code":7,"message":"m"}',
  '{"type":"error","code":"PAIR_FULL"}',
];

let wss: WebSocketServer;
let url: string;
/** What each test's server sends after the garbage. */
let after: string[] = [];
const closes: number[] = [];

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  wss.on('connection', (ws) => {
    ws.on('close', (code) => closes.push(code));
    for (const text of [...GARBAGE, ...after]) ws.send(text);
  });
});
afterAll(() => new Promise<void>((resolve) => wss.close(() => resolve())));

describe('PCM clients against a server that sends malformed messages', () => {
  it('PcmClient reports each as invalid-message (INVALID_MESSAGE), acts on none, and keeps the connection', async () => {
    after = ['{"type":"waiting"}'];
    const client = new PcmClient({ url });
    const invalid: CallpeerError[] = [];
    const events: string[] = [];
    client.on('invalid-message', (err) => invalid.push(err));
    for (const e of ['waiting', 'connected', 'disconnected'] as const) client.on(e, () => events.push(e));
    client.on('peer-muted', () => events.push('peer-muted'));
    client.on('server-error', (err) => events.push(`server-error:${err.code}`));
    await client.connect();
    await until(() => events.includes('waiting'), 'the valid message after the garbage');
    expect(invalid.map((e) => e.code)).toEqual(GARBAGE.map(() => 'INVALID_MESSAGE'));
    expect(events).toEqual(['waiting']);
    expect(client.isPaired).toBe(false);
    await client.close();
    await until(() => closes.includes(1000), 'a clean close');
  });

  it('the load tester counts each as INVALID_MESSAGE and still pairs on a valid connected', async () => {
    after = ['{"type":"connected","codec":"pcm","sampleRate":48000,"channels":1,"frameMs":20}'];
    const params = validateParams({ url, mode: 'pcm', pairs: 1 }) as PcmLoadParams;
    const broadcast = new PcmBroadcast('pcm');
    const tester = new PcmTester({ params, broadcast, latency: new LatencyHistogram(), log: silentLogger(), pairPrefix: 'malformed' }, 0);
    await tester.start();
    await until(() => tester.snapshot().peersConnected === 1, 'paired');
    expect(tester.snapshot().errors).toEqual({ INVALID_MESSAGE: GARBAGE.length });
    await tester.close();
    broadcast.stop();
  });
});
