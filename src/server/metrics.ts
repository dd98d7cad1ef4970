import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { livePeerCount } from '../rtc/peer.js';

/**
 * The server's Prometheus registry and the signaling metrics. Other services (PCM, SFU)
 * register their own metrics on `registry`; nothing uses prom-client's global registry,
 * so several servers can live in one process (tests).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly rooms: Gauge;
  readonly participants: Gauge;
  readonly messages: Counter<'type' | 'direction'>;
  readonly errors: Counter<'code'>;
  readonly slowReaders: Counter;
  readonly refusedConnections: Counter<'reason'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'callpeer_' });
    const registers = [this.registry];
    this.connections = new Gauge({ name: 'callpeer_ws_connections', help: 'Open WebSocket connections', labelNames: ['path'], registers });
    this.rooms = new Gauge({ name: 'callpeer_rooms', help: 'Rooms with at least one participant', registers });
    this.participants = new Gauge({ name: 'callpeer_participants', help: 'Participants in rooms', registers });
    this.messages = new Counter({ name: 'callpeer_signaling_messages_total', help: 'Signaling messages by type and direction (in = from clients)', labelNames: ['type', 'direction'], registers });
    this.errors = new Counter({ name: 'callpeer_errors_total', help: 'Errors sent to clients, by protocol code', labelNames: ['code'], registers });
    this.refusedConnections = new Counter({ name: 'callpeer_connections_refused_total', help: 'TCP connections refused or cut before a request: per-ip (over --max-connections-per-ip), idle (no request headers within --headers-timeout)', labelNames: ['reason'], registers });
    // Native PeerConnections the process holds (the SFU's, the gateway's): back to 0 when nobody is in a call.
    new Gauge({ name: 'callpeer_rtc_peer_connections', help: 'WebRTC peer connections open in this process', registers, collect() { this.set(livePeerCount()); } });
    this.slowReaders = new Counter({ name: 'callpeer_ws_slow_readers_dropped_total', help: '/ws clients dropped for leaving more than maxSendBufferBytes unread', registers });
  }
}
