import { mkdir, writeFile } from 'node:fs/promises';
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
  fingerprint: string;
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
  try {
    await mkdir(options.outDir, { recursive: true });
    await writeFile(certFile, pems.cert);
    await writeFile(keyFile, pems.private, { mode: 0o600 });
  } catch (err) {
    throw new CallpeerError('IO_ERROR', `cannot write the certificate to ${options.outDir}: ${(err as Error).message}`, { cause: err, hint: 'choose a writable folder with --out' });
  }
  return { certFile, keyFile, names, fingerprint: pems.fingerprint };
}
