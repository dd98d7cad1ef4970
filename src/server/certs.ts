import { X509Certificate } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import selfsigned from 'selfsigned';
import { CallpeerError } from '../errors.js';

export interface CertOptions {
  /** Folder to write cert.pem and key.pem into. */
  outDir: string;
  /** Extra host names or IP addresses for the certificate's subjectAltName. */
  hosts?: string[];
  /** Validity in days. Default 365. */
  days?: number;
}

export interface CertResult {
  certFile: string;
  keyFile: string;
  /** Every name and address the certificate covers. */
  names: string[];
  /** SHA-256 fingerprint of the certificate, colon-separated hex (what browsers show). */
  fingerprint: string;
  /** True when an earlier certificate in outDir was replaced. */
  replaced: boolean;
}

/** A DNS name (letters, digits, hyphens; dot-separated labels) or an IP address. */
export function isValidCertName(name: string): boolean {
  if (isIP(name)) return true;
  return name.length <= 253 && name.split('.').every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/**
 * Makes `dir` and its missing parents one level at a time, so every failure is a plain
 * error: a recursive mkdir never returns on some filesystems (/proc).
 */
async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    const info = await stat(at).catch(() => undefined);
    if (info?.isDirectory()) break;
    if (info) throw new CallpeerError('IO_ERROR', `cannot write the certificate to ${dir}: ${at} is a file, not a folder`, { hint: 'choose a writable folder with --out' });
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  try {
    for (const d of missing) await mkdir(d);
  } catch (err) {
    throw new CallpeerError('IO_ERROR', `cannot write the certificate to ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err, hint: 'choose a writable folder with --out' });
  }
}

/** localhost, this machine's host name and its non-internal IPv4/IPv6 addresses, plus `extra`. */
export function defaultCertNames(extra: string[] = []): string[] {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1', os.hostname()]);
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal) names.add(a.address);
  }
  for (const h of extra) names.add(h);
  return [...names];
}

/** Writes a self-signed development certificate (EC P-256, SHA-256) covering `names`. */
export async function generateDevCertificate(options: CertOptions): Promise<CertResult> {
  const bad = (options.hosts ?? []).find((h) => !isValidCertName(h));
  if (bad !== undefined) {
    throw new CallpeerError('INVALID_CONFIG', `--host "${bad}" is neither a host name nor an IP address`, { hint: 'use names like calls.example.com or addresses like 192.168.1.20' });
  }
  const names = defaultCertNames(options.hosts);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (options.days ?? 365) * 86_400_000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'callpeer development' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ],
  });
  const certFile = path.join(options.outDir, 'cert.pem');
  const keyFile = path.join(options.outDir, 'key.pem');
  await ensureDir(options.outDir);
  const replaced = await stat(certFile).then(() => true, () => false);
  try {
    await writeFile(certFile, pems.cert);
    await writeFile(keyFile, pems.private, { mode: 0o600 });
  } catch (err) {
    throw new CallpeerError('IO_ERROR', `cannot write the certificate to ${options.outDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err, hint: 'choose a writable folder with --out' });
  }
  return { certFile, keyFile, names, fingerprint: new X509Certificate(pems.cert).fingerprint256, replaced };
}
