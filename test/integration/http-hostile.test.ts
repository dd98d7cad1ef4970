import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ChildServer } from './pcm-harness.js';

// The server runs in its own process: an exception that escapes would end it, and the test
// sees the process gone instead of an error swallowed by the test runner.
let server: ChildServer;
let port: number;
let exited: number | null | undefined;

beforeAll(async () => {
  server = await spawnServer();
  port = Number(new URL(server.url).port);
  server.exited.then((code) => { exited = code; });
});
afterAll(() => server.close());

/** Sends raw bytes, resolves with everything the server answered until it closed (or 2 s passed). */
function raw(request: string, { reset = false } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const done = () => { clearTimeout(timer); socket.destroy(); resolve(answer); };
    const timer = setTimeout(done, 2000);
    socket.on('data', (d) => { answer += d.toString('latin1'); });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(request, () => { if (reset) socket.resetAndDestroy(); });
  });
}

const status = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
const upgrade = (path: string, host: string, kind = 'websocket') =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: ${kind}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
const get = (path: string, host = '127.0.0.1') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

describe('malformed requests', () => {
  it.each([
    ['an upgrade with Host "%%%" on /ws', upgrade('/ws', '%%%')],
    ['an upgrade with Host "a b" on /ws/pcm', upgrade('/ws/pcm', 'a b')],
    ['an h2c upgrade with a bad Host on another path', upgrade('/nowhere', '%%%', 'h2c')],
    ['an upgrade with an absolute URL that does not parse', upgrade('http://%%%/ws', '127.0.0.1')],
    ['an upgrade to a protocol-relative path with a bad host', upgrade('//a b/ws', '127.0.0.1')],
    ['a GET with an absolute URL that does not parse', get('http://%%%/')],
    ['a GET of a protocol-relative path with a bad host', get('//%%%/index.html')],
  ])('%s answers 400 and closes that socket', async (_name, request) => {
    const answer = await raw(request);
    expect(status(answer)).toBe(400);
  });

  it('a batch of odd request lines, headers and resets leaves the server serving', async () => {
    const batch = [
      upgrade('/ws', '%%%'), upgrade('/ws', ''), upgrade('/ws?x=%zz%', '[::1'), upgrade('/ws/pcm?rate=%zz&codec=%%&pair=../..', '127.0.0.1'),
      upgrade('/ws', '127.0.0.1', 'websocket, h2c'), upgrade('*', '%%%'), upgrade('/ws', 'x'.repeat(20_000)),
      get('/r/%E0%A4%A'), get('/%00'), get('/..%2f..%2fetc/passwd'), get('/?' + 'a=1&'.repeat(5000)), get('*'),
      'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'GET / HTTP/1.1\r\n\r\n', 'BREW /pot HTCPCP/1.0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\u0000b\r\n\r\n', 'GET /\u0001 HTTP/1.1\r\nHost: a\r\n\r\n', 'GET / HTTP/9.9\r\nHost: a\r\n\r\n',
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', // no key
    ];
    const answers = await Promise.all(batch.map((r) => raw(r)));
    // Reset mid-upgrade, before and after the server answers.
    await Promise.all([raw(upgrade('/ws', '%%%'), { reset: true }), raw(upgrade('/ws', '127.0.0.1'), { reset: true }), raw(upgrade('/ws/pcm', '127.0.0.1'), { reset: true })]);
    for (const [i, a] of answers.entries()) {
      const code = status(a);
      // Each gets a plain answer, never a 5xx: 4xx, or what a well-formed request gets (the
      // pcm upgrade with an odd query is accepted and then refused with a close; a long query is a page).
      expect(code > 0 && code < 500, `request ${i}: ${JSON.stringify(a.slice(0, 80))}`).toBe(true);
    }
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(exited).toBeUndefined();
  });
});

describe('host names (DNS rebinding)', () => {
  it('a server on loopback refuses pages and upgrades for another host name with 403, and names it in the log', async () => {
    expect(status(await raw(get('/', 'rebind.attacker.example')))).toBe(403);
    expect(status(await raw(upgrade('/ws', 'rebind.attacker.example:80')))).toBe(403);
    expect(status(await raw(get('/', `127.0.0.1:${port}`)))).toBe(200);
    expect(status(await raw(get('/', `localhost:${port}`)))).toBe(200);
  });
});

describe('room API bodies over the limit', () => {
  const post = (bytes: number) => `POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n${JSON.stringify({ id: 'big', name: 'x'.repeat(bytes - 22) })}`;

  it('a 200 KiB body is read to its end and answered 413 MESSAGE_TOO_LARGE (not a reset connection), every time', async () => {
    const body = JSON.stringify({ id: 'big', name: 'x'.repeat(200 * 1024) });
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${server.url}/api/rooms`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('MESSAGE_TOO_LARGE');
    }
  });

  it('a 2 MiB body is cut off once past 1 MiB, and the server goes on serving', async () => {
    const answer = await raw(post(2 * 1024 * 1024));
    expect(status(answer) === 0 || status(answer) === 413).toBe(true); // cut, or answered before the cut
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(exited).toBeUndefined();
  });
});

