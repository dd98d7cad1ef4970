import { describe, expect, it } from 'vitest';
import { requestUrl } from '../../../src/server/request-url.js';

const req = (url: string, host?: string) => ({ url, headers: host === undefined ? {} : { host } });

describe('requestUrl', () => {
  it.each([['127.0.0.1:8080'], ['localhost'], ['[::1]:80'], ['call.example.com'], ['xn--bcher-kva.example'], ['a%20b'], [''], [undefined]])('accepts Host %j', (host) => {
    expect(requestUrl(req('/ws/pcm?rate=8000', host))?.searchParams.get('rate')).toBe('8000');
  });

  it.each([['%%%'], ['a b'], ['[::1'], ['a/b'], ['user@host'], ['host:80:80'], ['host:port']])('refuses Host %j', (host) => {
    expect(requestUrl(req('/ws', host))).toBeUndefined();
  });

  it('never takes the host from the request: the path and query are what a route sees', () => {
    const url = requestUrl(req('/r/abc?x=1', 'evil.example'))!;
    expect([url.hostname, url.pathname, url.search]).toEqual(['localhost', '/r/abc', '?x=1']);
  });

  it.each([['http://%%%/ws'], ['//a b/ws'], ['http://[::1/']])('refuses the request line %j', (url) => {
    expect(requestUrl(req(url, '127.0.0.1'))).toBeUndefined();
  });

  it('reads an absolute-form request line by its path', () => {
    expect(requestUrl(req('http://127.0.0.1:8080/ws?a=1', '127.0.0.1:8080'))?.pathname).toBe('/ws');
  });
});
