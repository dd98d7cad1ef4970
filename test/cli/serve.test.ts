import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';

const LISTENING = /callpeer listening/;
const urlOf = (out: string) => /"url":"([^"]+)"/.exec(out)?.[1] ?? '';

describe('callpeer CLI', () => {
  it('--help lists every command, serve --help every flag with its variable', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/serve/);
    expect(top.stdout).toMatch(/certs/);
    const serve = await runCli(['serve', '--help']);
    expect(serve.code).toBe(0);
    for (const flag of ['--port', '--host', '--cert', '--key', '--max-members', '--ice-server', '--allowed-origin', '--log-level']) expect(serve.stdout).toContain(flag);
    for (const env of ['CALLPEER_PORT', 'CALLPEER_HOST', 'CALLPEER_CERT', 'CALLPEER_MAX_MEMBERS', 'CALLPEER_ICE_SERVER', 'CALLPEER_ALLOWED_ORIGIN', 'CALLPEER_LOG_LEVEL']) expect(serve.stdout).toContain(env);
  });

  it('an unknown option names it and exits 1', async () => {
    const r = await runCli(['serve', '--bogus']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });

  it('a port in use names the port and the fix, exit 1', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await runCli(['serve', '--host', '127.0.0.1', '--port', String(port)]);
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(r.stderr).toContain('fix: ');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('an unreadable certificate names the file and the fix, exit 1', async () => {
    const r = await runCli(['serve', '--port', '0', '--cert', '/nonexistent/cert.pem', '--key', '/nonexistent/key.pem']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--cert /nonexistent/cert.pem cannot be read');
    expect(r.stderr).toContain('callpeer certs');
  });

  it('a bad value from the environment is refused like a flag', async () => {
    const r = await runCli(['serve'], { env: { CALLPEER_MAX_MEMBERS: 'lots' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--max-members must be a whole number');
  });

  it('serves, and exits 0 within 2 s of SIGTERM', async () => {
    const s = await startCli(['serve', '--host', '127.0.0.1', '--port', '0'], LISTENING);
    const url = urlOf(s.output());
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const r = await s.exited;
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('certs writes a certificate for localhost that serve then uses for HTTPS by default', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-certs-'));
    const made = await runCli(['certs', '--host', 'calls.example.test'], { cwd: dir });
    expect(made.code).toBe(0);
    const certFile = path.join(dir, 'certs', 'cert.pem');
    expect(existsSync(path.join(dir, 'certs', 'key.pem'))).toBe(true);
    const x509 = new X509Certificate(readFileSync(certFile));
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('DNS:calls.example.test');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');

    const s = await startCli(['serve', '--host', '127.0.0.1', '--port', '0'], LISTENING, { cwd: dir });
    const url = urlOf(s.output());
    expect(url).toMatch(/^https:\/\//);
    const status = await new Promise<number>((resolve, reject) => {
      https.get(`${url}/healthz`, { ca: readFileSync(certFile), servername: 'localhost' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
    });
    expect(status).toBe(200);
    s.child.kill('SIGINT');
    expect((await s.exited).code).toBe(0);
  });

  it('certs refuses a bad --days, and an unwritable --out, exit 1', async () => {
    const bad = await runCli(['certs', '--days', 'forever', '--out', mkdtempSync(path.join(tmpdir(), 'cp-'))]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--days must be a whole number');
    const dir = mkdtempSync(path.join(tmpdir(), 'cp-'));
    writeFileSync(path.join(dir, 'file'), 'x');
    const ro = await runCli(['certs', '--out', path.join(dir, 'file', 'sub')]);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toContain('cannot write the certificate');
  });
});
