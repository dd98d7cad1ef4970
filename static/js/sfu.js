// The one connection to the server in an SFU room (PROTOCOL.md): we offer our microphone first;
// the server then offers one receive-only audio section per other publisher, whose stream id
// is that publisher's participant id. The server is the impolite side: on glare we yield.
import { PeerLink } from './peer.js';

/** The `from` of the server's offers and candidates, and the key of its link. */
export const SERVER = 'server';

export class SfuLink extends PeerLink {
  /**
   * @param {object} o as PeerLink's, without `remote`; `onTrack(publisherId, track)` names the
   *   publisher a forwarded track comes from.
   */
  constructor(o) {
    super({ ...o, remote: { id: SERVER, role: 'server' }, onTrack: (track, stream, tr) => this.addPublisher(stream, track, tr) });
    this.onPublisher = o.onTrack;
    /** Each publisher's forwarded audio, by participant id: {track, mid}. */
    this.publishers = new Map();
    this.polite = true;
    // The server is the other side of every message: no `to` (the server refuses one).
    this.sendSignal = (m) => o.send(m);
    // The server forwards audio only and answers video sections inactive.
    this.kinds = ['audio'];
  }

  addPublisher(stream, track, tr) {
    // Only the server's per-publisher sections carry a stream id; nothing else is expected.
    if (!stream || track.kind !== 'audio') return;
    // Stats go by mid: the server gives every forwarded track the same id ("audio").
    this.publishers.set(stream.id, { track, mid: tr.mid });
    this.onPublisher(stream.id, track);
  }

  /** The publisher's forwarded audio track, if it arrived. */
  trackOf(id) {
    return this.publishers.get(id)?.track;
  }

  /** The publisher left: its section stays negotiated but idle (the server cannot remove it). */
  drop(id) {
    this.publishers.delete(id);
  }

  /** The test hook's figures for each publisher we hear, keyed by participant id as in a mesh. */
  async statsByPeer() {
    const out = {};
    for (const [id, { mid }] of this.publishers) out[id] = await this.stats(mid);
    return out;
  }

  /** Connection quality of each publisher's audio since the previous call, by participant id. */
  async qualityByPeer() {
    const out = new Map();
    for (const [id, { mid }] of this.publishers) out.set(id, await this.quality(mid));
    return out;
  }
}
