/**
 * Every page and static file, and a missing file's 404, carry the security headers with their
 * exact values (issue 18 item 7). The values are spelled out here, not imported, so a change to
 * src/server/security-headers.ts has to be made here too, on purpose.
 */
import { describe, expect, it } from 'vitest';
import { useTestServer } from '../helpers/server.js';

const EXPECTED: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const CASES: { path: string; status: number; contentType: string }[] = [
  { path: '/', status: 200, contentType: 'text/html; charset=utf-8' },
  { path: '/r/room1', status: 200, contentType: 'text/html; charset=utf-8' },
  { path: '/duo', status: 200, contentType: 'text/html; charset=utf-8' },
  { path: '/js/call.js', status: 200, contentType: 'text/javascript; charset=utf-8' },
  { path: '/duo/capture-worklet.js', status: 200, contentType: 'text/javascript; charset=utf-8' },
  { path: '/style.css', status: 200, contentType: 'text/css; charset=utf-8' },
  { path: '/favicon.svg', status: 200, contentType: 'image/svg+xml' },
  { path: '/no-such-file.js', status: 404, contentType: 'text/plain; charset=utf-8' },
  { path: '/healthz', status: 200, contentType: 'application/json; charset=utf-8' },
  { path: '/api/rooms', status: 200, contentType: 'application/json; charset=utf-8' },
  { path: '/r/bad%20name', status: 404, contentType: 'text/plain; charset=utf-8' },
];

describe('security headers on pages and static files', () => {
  const t = useTestServer();

  for (const c of CASES) {
    for (const method of ['GET', 'HEAD'] as const) {
      it(`${method} ${c.path}: ${c.status} with CSP, X-Frame-Options, nosniff and Referrer-Policy`, async () => {
        const res = await fetch(`${t.server.url}${c.path}`, { method });
        await res.arrayBuffer();
        expect(res.status).toBe(c.status);
        expect(res.headers.get('content-type')).toBe(c.contentType);
        // headers.get joins repeated headers with ", ": an exact match also means "sent once".
        const got = Object.fromEntries(Object.keys(EXPECTED).map((name) => [name, res.headers.get(name)]));
        expect(got).toEqual(EXPECTED);
      });
    }
  }
});
