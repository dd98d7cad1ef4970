import path from 'node:path';
import type { Command } from 'commander';
import { CallpeerError } from '../errors.js';
import { generateDevCertificate } from '../server/certs.js';
import { collect } from './options.js';

/** A path relative to the current folder when it is inside it, else absolute. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

export function registerCerts(program: Command): void {
  program
    .command('certs')
    .description('make a self-signed development certificate that `callpeer serve` picks up')
    .option('--out <dir>', 'folder for cert.pem and key.pem', 'certs')
    .option('--host <name>', 'extra host name or IP address to cover, repeatable (localhost, this host name and its LAN addresses are always in)', collect)
    .option('--days <n>', 'validity in days', '365')
    .action(async (opts: { out: string; host?: string[]; days: string }) => {
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1 || days > 3650) {
        throw new CallpeerError('INVALID_CONFIG', `--days must be a whole number from 1 to 3650 (got ${opts.days})`, { hint: 'use --days 365' });
      }
      const result = await generateDevCertificate({ outDir: path.resolve(opts.out), hosts: opts.host ?? [], days });
      process.stdout.write(
        `wrote ${shown(result.certFile)} and ${shown(result.keyFile)}\n` +
        `covers: ${result.names.join(', ')}\n` +
        `fingerprint (SHA-256): ${result.fingerprint}\n` +
        (result.replaced ? 'replaced the certificate that was there before\n' : '') +
        'browsers will warn once: this certificate is self-signed, for development only\n',
      );
    });
}
