/** Small commander helpers shared by the subcommands. */
import { toNdcIceServers } from '../rtc/ice-servers.js';
import { parseIceServerUrl } from '../config.js';

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--bind` and `--ice-server` (STUN/TURN URLs) as node-datachannel Peer options. */
export function peerNetworkOptions(o: { bind?: string; iceServer?: string[] }): { bindAddress?: string; iceServers?: string[] } {
  return {
    ...(o.bind !== undefined && { bindAddress: o.bind }),
    ...(o.iceServer && { iceServers: o.iceServer.map(parseIceServerUrl).flatMap(toNdcIceServers) }),
  };
}
