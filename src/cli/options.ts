/** Small commander helpers shared by the subcommands. */
import { Option } from 'commander';
import { parseIceTransportPolicy, toNdcIceServers } from '../rtc/ice-servers.js';
import type { IceTransportPolicy } from '../rtc/peer.js';
import { parseIceServerUrl } from '../config.js';

/** `--token`, the same for every client command: a join token, also from CALLPEER_TOKEN. */
export function tokenOption(): Option {
  return new Option('--token <jwt>', 'join token for a server with auth on (callpeer token makes one)').env('CALLPEER_TOKEN');
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The help line of `--ice-transport-policy`, the same for every client command. */
export const ICE_TRANSPORT_POLICY_HELP = 'all (default), or relay: connect only through a TURN relay (the server\'s, or --ice-server turn:…), e.g. to test one';

/** `--bind`, `--ice-server` (STUN/TURN URLs) and `--ice-transport-policy` as node-datachannel Peer options. */
export function peerNetworkOptions(o: { bind?: string; iceServer?: string[]; iceTransportPolicy?: string }): {
  bindAddress?: string; iceServers?: string[]; iceTransportPolicy?: IceTransportPolicy;
} {
  return {
    ...(o.bind !== undefined && { bindAddress: o.bind }),
    ...(o.iceServer && { iceServers: o.iceServer.map(parseIceServerUrl).flatMap(toNdcIceServers) }),
    ...(o.iceTransportPolicy !== undefined && { iceTransportPolicy: parseIceTransportPolicy(o.iceTransportPolicy) }),
  };
}
