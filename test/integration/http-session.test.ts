/**
 * What a WHIP/WHEP client (HttpSession) says when a server that is not callpeer answers oddly:
 * a plain-text refusal (Janus's simple-whip-server answers "500 Error setting ICE locally"), and
 * a 201 without the Location a session needs. A plain node:http server plays that server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhepClient } from '../../src/client/whep-client.js';
import { WhipClient } from '../../src/client/whip-client.js';
import { isCallpeerError } from '../../src/errors.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { PEER } from './sfu-helpers.js';

let server: Server;
let base: string;
const seen: { method: string; auth: string | undefined; key: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method!, auth: req.headers.authorization, key: req.headers['x-api-key'] as string | undefined });
    req.resume();
    req.on('end', () => {
      if (req.url === '/refuses') res.writeHead(500, { 'content-type': 'text/plain' }).end('Error setting ICE locally');
      else if (req.url === '/no-location') res.writeHead(201, { 'content-type': 'application/sdp' }).end('v=0\r\n');
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  cleanupRtc();
});

async function failure(start: () => Promise<unknown>): Promise<{ code: string; message: string; hint: string | undefined }> {
  try {
    await start();
  } catch (err) {
    if (isCallpeerError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('did not fail');
}

describe('HttpSession against a server that is not callpeer', () => {
  it('a plain-text refusal is quoted with its status; the bearer token and extra headers went with the POST', async () => {
    const whip = new WhipClient({ url: `${base}/refuses`, token: 'tok', headers: { 'x-api-key': 'k1' }, peer: PEER });
    expect(await failure(() => whip.start())).toMatchObject({ code: 'CONNECTION_FAILED', message: 'WHIP endpoint refused (500): Error setting ICE locally', hint: expect.stringContaining('the refusal says what to change') });
    await whip.stop();
    expect(seen.at(-1)).toEqual({ method: 'POST', auth: 'Bearer tok', key: 'k1' });
  });

  it('a 201 without a Location is an error that says so', async () => {
    const whep = new WhepClient({ url: `${base}/no-location`, peer: PEER });
    expect(await failure(() => whep.start())).toMatchObject({ code: 'INVALID_MESSAGE', message: 'the WHEP endpoint answered 201 without a Location' });
    await whep.stop();
  });
});
