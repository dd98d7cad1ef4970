/**
 * Small native shims that let third-party WebRTC stacks built on libnice (Janus, GStreamer's
 * webrtcbin in simple-whip-client) run in the tests' loopback-only namespace, each touching
 * only the process started with it. Sources in test/third-party/, compiled here with `cc`.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const THIRD_PARTY = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'third-party');
const CC = '/usr/bin/cc';

/** Why the shims cannot be built here, or undefined. */
export function ccMissing(): string | undefined {
  try {
    accessSync(CC, constants.X_OK);
    return undefined;
  } catch {
    return 'cc not found (test shims are compiled): apt-get install -y gcc';
  }
}

/** An LD_PRELOAD library that clears IFF_LOOPBACK in getifaddrs() (libnice then gathers 127.0.0.1). Returns its path. */
export function buildNoLoopbackShim(dir: string): string {
  const out = path.join(dir, 'getifaddrs-noloop.so');
  execFileSync(CC, ['-shared', '-fPIC', '-O2', '-o', out, path.join(THIRD_PARTY, 'getifaddrs-noloop.c'), '-ldl']);
  return out;
}

/** A stand-in libgupnp-igd-1.0.so.4 (no UPnP, no libsoup3) in `dir`: put `dir` first in LD_LIBRARY_PATH. */
export function buildGupnpIgdStub(dir: string): string {
  const out = path.join(dir, 'libgupnp-igd-1.0.so.4');
  execFileSync(CC, ['-shared', '-fPIC', '-O2', '-Wl,-soname,libgupnp-igd-1.0.so.4', '-o', out, path.join(THIRD_PARTY, 'gupnp-igd-stub.c')]);
  return dir;
}
