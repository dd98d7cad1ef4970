import { describe, expect, it } from 'vitest';
import { resolveStaticPath } from '../../../src/server/static-files.js';

describe('resolveStaticPath', () => {
  const root = '/srv/static';
  it('resolves files inside the root', () => {
    expect(resolveStaticPath(root, '/index.html')).toBe('/srv/static/index.html');
    expect(resolveStaticPath(root, '/js/a%20b.js')).toBe('/srv/static/js/a b.js');
  });
  it.each([
    ['/../etc/passwd', '/srv/static/etc/passwd'],
    ['/%2e%2e/etc/passwd', '/srv/static/etc/passwd'],
    ['/a/../../etc/passwd', '/srv/static/etc/passwd'],
    ['/..%2f..%2fetc', '/srv/static/etc'],
  ])('clamps %s inside the root', (p, expected) => {
    expect(resolveStaticPath(root, p)).toBe(expected);
  });
  it.each(['/x%00.html', '/a\\..\\b', '/%E0%A4%A'])('refuses %s', (p) => {
    expect(resolveStaticPath(root, p)).toBeUndefined();
  });
  it('never returns the root itself (a folder)', () => {
    expect(resolveStaticPath(root, '/')).toBeUndefined();
  });
});
