import { describe, expect, it } from 'vitest';
import { isHostAllowed, requestHost } from '../../../src/server/host-check.js';
import { isOriginAllowed } from '../../../src/server/origin.js';

describe('isHostAllowed (DNS rebinding)', () => {
  it('always answers IP literals, localhost and requests without Host', () => {
    for (const h of [undefined, '', '127.0.0.1:8080', '[::1]:80', '192.0.2.7', 'localhost:3000', 'LOCALHOST']) {
      expect(isHostAllowed(h, [], '127.0.0.1'), String(h)).toBe(true);
    }
  });

  it('a server listening on loopback answers no other name unless listed', () => {
    expect(isHostAllowed('rebind.attacker.example', [], '127.0.0.1')).toBe(false);
    expect(isHostAllowed('rebind.attacker.example:8080', [], 'localhost')).toBe(false);
    expect(isHostAllowed('call.example.com', ['call.example.com'], '127.0.0.1')).toBe(true);
    expect(isHostAllowed('call.example.com:8443', ['call.example.com:8443'], '127.0.0.1')).toBe(true);
  });

  it('a server listening beyond loopback answers any name, or only the listed ones when given', () => {
    expect(isHostAllowed('call.example.com', [], '0.0.0.0')).toBe(true);
    expect(isHostAllowed('other.example', ['call.example.com'], '0.0.0.0')).toBe(false);
    expect(isHostAllowed('Call.Example.com', ['call.example.com'], '0.0.0.0')).toBe(true);
  });
});

describe('behind a reverse proxy', () => {
  const req = (headers: Record<string, string>) => ({ headers } as never);

  it('reads X-Forwarded-Host only when the proxy is trusted', () => {
    const r = req({ host: 'backend:8080', 'x-forwarded-host': 'call.example.com, hop.example' });
    expect(requestHost(r, true)).toBe('call.example.com');
    expect(requestHost(r, false)).toBe('backend:8080');
  });

  it('accepts the public origin only with --trust-proxy', () => {
    const r = req({ host: 'backend:8080', 'x-forwarded-host': 'call.example.com', origin: 'https://call.example.com' });
    expect(isOriginAllowed(r, [], true)).toBe(true);
    expect(isOriginAllowed(r, [], false)).toBe(false);
  });
});
