import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, runCli, startCli } from '../helpers/cli.js';
import { Probe } from '../helpers/server.js';

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
    for (const flag of ['--port', '--host', '--cert', '--key', '--max-members', '--ice-server', '--topology', '--rtc-bind', '--allowed-origin', '--log-level', '--simulcast', '--max-video-bitrate', '--max-resolution', '--max-framerate', '--audio-bitrate']) expect(serve.stdout).toContain(flag);
    for (const env of ['CALLPEER_PORT', 'CALLPEER_HOST', 'CALLPEER_CERT', 'CALLPEER_MAX_MEMBERS', 'CALLPEER_ICE_SERVER', 'CALLPEER_TOPOLOGY', 'CALLPEER_RTC_BIND', 'CALLPEER_ALLOWED_ORIGIN', 'CALLPEER_LOG_LEVEL', 'CALLPEER_SIMULCAST', 'CALLPEER_MAX_VIDEO_BITRATE', 'CALLPEER_MAX_RESOLUTION', 'CALLPEER_MAX_FRAMERATE', 'CALLPEER_AUDIO_BITRATE']) expect(serve.stdout).toContain(env);
  });

  it('output piped into a reader that stops early (| head) ends quietly, no stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'loadtest', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the help is written
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
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

  it('a file that is not PEM, or a key that is not the certificate\'s, is one line and exit 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-pem-'));
    writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate\n');
    const junk = await runCli(['serve', '--port', '0', '--cert', path.join(dir, 'junk.pem'), '--key', path.join(dir, 'junk.pem')]);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toContain('they are not a PEM certificate and private key');
    expect(junk.stderr).not.toMatch(/at .*\.js:\d+/);
    expect((await runCli(['certs', '--out', path.join(dir, 'a')])).code).toBe(0);
    expect((await runCli(['certs', '--out', path.join(dir, 'b')])).code).toBe(0);
    const mixed = await runCli(['serve', '--port', '0', '--cert', path.join(dir, 'a', 'cert.pem'), '--key', path.join(dir, 'b', 'key.pem')]);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toContain('the key does not belong to the certificate');
  });

  it('a bad value from the environment is refused like a flag', async () => {
    const r = await runCli(['serve'], { env: { CALLPEER_MAX_MEMBERS: 'lots' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--max-members (CALLPEER_MAX_MEMBERS) must be a whole number');
  });

  it('an unknown --topology or a --rtc-bind that is not an address is one line with the fix, exit 1', async () => {
    const topology = await runCli(['serve', '--port', '0', '--topology', 'star']);
    expect(topology.code).toBe(1);
    expect(topology.stderr).toContain('--topology (CALLPEER_TOPOLOGY) must be mesh or sfu (got star)');
    expect(topology.stderr).toContain('fix:');
    const resolution = await runCli(['serve', '--port', '0', '--max-resolution', '720p']);
    expect(resolution.code).toBe(1);
    expect(resolution.stderr).toContain('--max-resolution (CALLPEER_MAX_RESOLUTION) must be WxH (got "720p")');
    expect(resolution.stderr).toContain('1280x720');
    const bind = await runCli(['serve', '--port', '0', '--rtc-bind', 'nowhere']);
    expect(bind.code).toBe(1);
    expect(bind.stderr).toContain('--rtc-bind (CALLPEER_RTC_BIND) must be an IP address');
  });

  it('serves, and on SIGTERM tells its clients (1001) and exits 0 within 2 s', async () => {
    const s = await startCli(['serve', '--host', '127.0.0.1', '--port', '0'], LISTENING);
    const url = urlOf(s.output());
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const client = await Probe.open(`${url.replace('http', 'ws')}/ws`);
    await client.join('sigterm');
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    expect((await client.closed).code).toBe(1001);
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

  it('certs prints the SHA-256 fingerprint, refuses a bad --host, and says when it replaces a certificate', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-fp-'));
    const first = await runCli(['certs', '--out', dir]);
    const printed = /fingerprint \(SHA-256\): (\S+)/.exec(first.stdout)?.[1];
    expect(printed).toBe(new X509Certificate(readFileSync(path.join(dir, 'cert.pem'))).fingerprint256);
    expect(first.stdout).not.toContain('replaced');
    expect((await runCli(['certs', '--out', dir])).stdout).toContain('replaced the certificate that was there before');
    const bad = await runCli(['certs', '--out', dir, '--host', 'bad host!']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is neither a host name nor an IP address');
  });

  it('certs into a folder it cannot make says so instead of hanging', async () => {
    const r = await runCli(['certs', '--out', '/proc/callpeer-nope'], { timeoutMs: 5000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot write the certificate to /proc/callpeer-nope');
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
