/** Options, signals and events of a Peer (src/rtc/peer.ts). */
import type { IceServer } from 'node-datachannel';
import type { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MediaCapabilities } from './answer-plan.js';
import type { PeerDataChannel } from './data-channel.js';
import type { MediaTrack } from './media-track.js';

/** RTCConfiguration.iceTransportPolicy: every candidate, or TURN relay candidates only. */
export type IceTransportPolicy = 'all' | 'relay';

export const ICE_TRANSPORT_POLICIES: readonly IceTransportPolicy[] = ['all', 'relay'];

/**
 * Delays before each new attempt at a connection that failed, for the side that offered it.
 * The DTLS race strikes fast and at random (not for good), so retries come quickly.
 */
export const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000];

export interface PeerOptions {
  /** Name in logs and in libdatachannel's own logs (default: random hex). Never client-supplied. */
  id?: string;
  /** Parent logger; the Peer logs under a `{ peer: id }` child (default: silent). */
  logger?: Logger;
  /** STUN/TURN servers in node-datachannel form (`stun:host:port`, `turn:u:p@host:port`); default none. */
  iceServers?: (string | IceServer)[];
  /** Local address to gather host candidates on (tests: '127.0.0.1'). */
  bindAddress?: string;
  /**
   * Which candidates we offer (default 'all'): 'relay' signals TURN relay candidates only
   * (from the TURN server in `iceServers`), so a remote can reach us only through the relay.
   * Not a hard guarantee on our side: libjuice still sends connectivity checks from its host
   * socket, which a remote TURN allocation lets through when our host address is one it
   * permits (the relay's own address, e.g. coturn on the same machine).
   */
  iceTransportPolicy?: IceTransportPolicy;
  /**
   * Share one UDP port between PCs (server side only: two muxed PCs on one port cannot reach
   * each other). Use with portRangeBegin === portRangeEnd.
   */
  enableIceUdpMux?: boolean;
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** What we send/receive when answering (default: Opus send+receive, no video). */
  capabilities?: Partial<MediaCapabilities>;
  /**
   * Bandwidth the remote may send us, kbit/s, per media kind: `b=AS` and `b=TIAS` in every
   * audio or video section of our descriptions (browsers cap their senders by them).
   */
  receiveBandwidth?: { audioKbps?: number; videoKbps?: number };
  /** Perfect negotiation role (default true): polite lets a colliding remote offer win. */
  polite?: boolean;
  /** Close with reason 'timeout' if not connected this long after the first description, ms (default 30 000; 0 = never). */
  connectTimeoutMs?: number;
  /** Close with reason 'disconnected' if ICE stays disconnected this long, ms (default 10 000). */
  disconnectedTimeoutMs?: number;
  /**
   * Our first offer makes us the DTLS client (a=setup:active) instead of the server
   * (a=setup:passive, the default). The DTLS server must finish ICE first: a ClientHello that
   * reaches libdatachannel before its DTLS transport starts is queued, but
   * DtlsTransport::start() registers for it before it enters the connecting state, so the
   * queued hello can be skipped until OpenSSL's 1 s retransmit brings it (a ~1 s setup stall).
   * An offering Peer signals its candidates only once the answer is applied (see
   * Peer.flushLocalCandidates), so it finishes ICE first: it should be the server. A remote
   * offer with a=setup:actpass (browsers) is answered as the server in either case.
   * Measured with test/bench/dtls-setup.bench.ts (1,000 setups, 50 at a time, signals delayed
   * 1 ms): 0 stalls as server, 25-46 % as client.
   */
  offererIsDtlsClient?: boolean;
  /** Emit `datachannel` for channels the remote opens (default true); false ignores them (an SFU member). */
  acceptDataChannels?: boolean;
  /**
   * Signal candidates one by one after the description (default true). False: each local
   * description waits until gathering completes and carries every candidate, and no
   * `candidate` signal follows (for a remote that cannot hear more after the description,
   * e.g. a WHIP client, which gets only the HTTP answer).
   */
  trickle?: boolean;
  /**
   * Record when ICE first connects (`iceConnectedAt`), apart from the connection as a whole
   * (ICE then DTLS): one more native callback, so only for whoever reports setup phases.
   */
  timeIce?: boolean;
}

export type PeerSignal =
  | { kind: 'description'; type: 'offer' | 'answer'; sdp: string }
  | { kind: 'candidate'; candidate: string; mid: string };

/** Why a Peer closed: `close()` called, ICE failed, stayed disconnected, never connected, a fault. */
export type PeerCloseReason = 'closed' | 'failed' | 'disconnected' | 'timeout' | 'error';

export interface PeerEvents {
  /** A description or candidate to send to the remote through signaling. */
  signal: [signal: PeerSignal];
  /** ICE+DTLS are up (emitted again after a recovered disconnection). */
  connected: [];
  /** The remote sends media on this track (once per track). */
  track: [track: MediaTrack];
  /** The remote stopped sending on a track it sent on (its section went inactive or recvonly). */
  'track-ended': [track: MediaTrack];
  /** The remote opened a data channel. */
  datachannel: [channel: PeerDataChannel];
  /** An offer/answer exchange completed (signaling state back to stable). */
  negotiated: [];
  /** Emitted once; the Peer is unusable afterwards. */
  closed: [reason: PeerCloseReason];
  /** A fault that closed the Peer (followed by `closed`). */
  error: [err: CallpeerError];
}

export interface AddAudioTrackOptions {
  /** Default 'sendrecv'; 'recvonly' offers to receive only (a listener, a recorder). */
  direction?: 'sendonly' | 'sendrecv' | 'recvonly';
  /** Opus payload type (default 111, what browsers use). */
  payloadType?: number;
  /** a=msid stream id (default: the Peer's cname). */
  streamId?: string;
  /** a=msid track id (default: `audio-<mid>`). */
  trackId?: string;
}
