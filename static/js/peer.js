// One RTCPeerConnection to one remote participant (mesh), with "perfect negotiation":
// either side may renegotiate; on glare the peer with the lower id is polite and yields.
// SfuLink (sfu.js) reuses it for the one connection to the server in an SFU room.

import { assessQuality } from './quality.js';
import { isCredentialRefusal } from './relay.js';
import { capEncoding } from './media-settings.js';

const KINDS = ['audio', 'video'];

export class PeerLink {
  /**
   * @param {object} o
   * @param {string} o.selfId our participant id
   * @param {{id: string, role: string}} o.remote
   * @param {RTCIceServer[]} o.iceServers from `joined`
   * @param {(msg: object) => void} o.send signaling send; `to` is added here
   * @param {{audio?: MediaStreamTrack, video?: MediaStreamTrack}} o.tracks what we send now
   * @param {MediaStream} o.stream the local stream the tracks belong to (for msid)
   * @param {(track: MediaStreamTrack, stream: MediaStream | undefined, tr: RTCRtpTransceiver) => void} o.onTrack
   * @param {(state: string) => void} o.onState connection state changes
   * @param {'all' | 'relay'} [o.iceTransportPolicy] 'relay': connect through a TURN relay only (`?relay=1`)
   * @param {() => void} [o.onRelayRefused] a TURN server refused our credentials (see relay.js)
   */
  constructor(o) {
    this.id = o.remote.id;
    this.role = o.remote.role;
    this.polite = o.selfId < o.remote.id;
    this.sendSignal = (m) => o.send({ ...m, to: this.id });
    this.onTrack = o.onTrack;
    this.onState = o.onState;
    this.stream = o.stream;
    this.tracks = { ...o.tracks };
    /** The server's media settings (`joined.room.media`): ceilings on what we send. */
    this.media = o.media;
    /** The kinds this connection carries (an SFU link narrows it). */
    this.kinds = KINDS;
    /** The transceiver carrying each kind of our media, once known. */
    this.transceivers = {};
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.iceRestarted = false;
    this.closed = false;
    this.queue = Promise.resolve();
    this.lastError = '';
    /** Packet counts at the previous quality() call, by mid ('' = all). */
    this.prevCounts = new Map();

    /** A TURN server refused our credentials on this connection (401/403): it can only relay with new ones. */
    this.relayRefused = false;

    const pc = new RTCPeerConnection({ iceServers: o.iceServers, iceTransportPolicy: o.iceTransportPolicy ?? 'all' });
    this.pc = pc;
    pc.onicecandidateerror = (e) => {
      if (!isCredentialRefusal(e) || this.relayRefused) return;
      this.relayRefused = true;
      o.onRelayRefused?.();
    };
    pc.onnegotiationneeded = () => this.offer();
    pc.onicecandidate = ({ candidate }) => {
      // End-of-candidates is not sent: Node peers do not accept it and browsers do not need it.
      if (candidate && candidate.candidate) this.sendSignal({ type: 'candidate', candidate: candidate.candidate, mid: candidate.sdpMid ?? '0' });
    };
    pc.ontrack = (e) => this.onTrack(e.track, e.streams[0], e.transceiver);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && !this.iceRestarted) {
        // One ICE restart: enough for a changed network; a blocked path stays failed.
        this.iceRestarted = true;
        pc.restartIce();
      }
      this.onState(pc.connectionState);
    };
  }

  /** The newcomer's side: send what we have, receive both kinds even without our own devices. */
  start() {
    for (const kind of this.kinds) {
      const track = this.tracks[kind];
      this.transceivers[kind] = track
        ? this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [this.stream] })
        : this.pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }

  async offer() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.sendSignal({ type: this.pc.localDescription.type, sdp: this.localSdp() });
      await this.applyLimits();
    } catch (err) {
      this.lastError = String(err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Our local description as we send it (an SFU link adds to its offers). */
  localSdp() {
    return this.pc.localDescription.sdp;
  }

  /** Incoming offer or answer; runs in order with candidates. */
  description(type, sdp) {
    this.enqueue(async () => {
      const pc = this.pc;
      const collision = type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      await pc.setRemoteDescription({ type, sdp });
      if (type !== 'offer') return;
      this.attachToOffer();
      await pc.setLocalDescription();
      this.sendSignal({ type: 'answer', sdp: pc.localDescription.sdp });
      await this.applyLimits();
      if (collision) this.offerRolledBack();
    });
  }

  /** Our offer was rolled back for the remote's (we are polite): what it carried is not negotiated yet. */
  offerRolledBack() {
    // The browser fires negotiationneeded again for what is still to negotiate.
  }

  candidate(candidate, mid) {
    if (!candidate) return;
    this.enqueue(async () => {
      try {
        await this.pc.addIceCandidate({ candidate: candidate.replace(/^a=/, ''), sdpMid: mid });
      } catch (err) {
        if (!this.ignoreOffer) this.lastError = String(err);
      }
    });
  }

  /**
   * After a remote offer: put our tracks on the transceivers it opened. A kind it did not
   * offer is added (and renegotiated) only for people; bots and recorders asked for what they want.
   */
  attachToOffer() {
    for (const kind of this.kinds) {
      if (this.transceivers[kind]) continue;
      const tr = this.pc.getTransceivers().find((t) => !t.stopped && t.receiver.track.kind === kind && !Object.values(this.transceivers).includes(t));
      if (tr) {
        this.transceivers[kind] = tr;
        const track = this.tracks[kind];
        if (track) {
          tr.sender.replaceTrack(track);
          tr.sender.setStreams(this.stream);
          tr.direction = 'sendrecv';
        }
      } else if (this.tracks[kind] && this.role === 'participant') {
        this.transceivers[kind] = this.pc.addTransceiver(this.tracks[kind], { direction: 'sendrecv', streams: [this.stream] });
      }
    }
  }

  /**
   * Sends `track` (or nothing) as our `kind`: replaceTrack when a sending transceiver exists,
   * else turns the transceiver on (or adds one), which renegotiates.
   */
  async setTrack(kind, track) {
    this.tracks[kind] = track ?? undefined;
    if (this.closed) return;
    const tr = this.transceivers[kind];
    if (!tr) {
      if (track && this.role === 'participant' && this.pc.signalingState !== 'closed' && this.pc.remoteDescription) {
        this.transceivers[kind] = this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [this.stream] });
      }
      return;
    }
    await tr.sender.replaceTrack(track ?? null);
    if (track && (tr.direction === 'recvonly' || tr.direction === 'inactive')) {
      tr.sender.setStreams(this.stream);
      tr.direction = 'sendrecv';
    }
  }

  /** Every sender's encodings under the server's ceilings (bitrate, frame rate); after each negotiation. */
  async applyLimits() {
    if (!this.media) return;
    for (const tr of this.pc.getTransceivers()) {
      const kind = tr.sender.track?.kind;
      if (tr.stopped || !kind) continue;
      const params = tr.sender.getParameters();
      // Simulcast layers got their share of the ceiling when they were made (cameraEncodings).
      if ((params.encodings?.length ?? 0) !== 1) continue;
      const changed = capEncoding(params.encodings[0], kind, this.media);
      if (changed) await tr.sender.setParameters(params).catch((err) => { this.lastError = String(err); });
    }
  }

  enqueue(fn) {
    this.queue = this.queue.then(fn).catch((err) => { this.lastError = String(err); });
  }

  /**
   * Inbound and outbound RTP figures by kind, the round trip time and the selected candidate
   * pair's candidate types (`path`), for the page's test hook.
   * With `mid`, inbound counts only that section's (one publisher of an SFU).
   */
  async stats(mid) {
    const out = { state: this.pc.connectionState, inbound: {}, outbound: {}, rttMs: undefined, path: null, relayRefused: this.relayRefused };
    if (this.closed) return out;
    const report = await this.pc.getStats();
    out.path = selectedPath(report);
    for (const s of report.values()) {
      if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) out.rttMs = s.currentRoundTripTime * 1000;
      if (s.type === 'inbound-rtp' && (mid === undefined || s.mid === mid)) {
        out.inbound[s.kind] = {
          packetsReceived: s.packetsReceived ?? 0, bytesReceived: s.bytesReceived ?? 0, packetsLost: s.packetsLost ?? 0,
          framesDecoded: s.framesDecoded, keyFramesDecoded: s.keyFramesDecoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight, audioLevel: s.audioLevel,
        };
      } else if (s.type === 'outbound-rtp') {
        // Simulcast: one entry per encoding, summed (the size is the largest one's).
        const o = out.outbound[s.kind] ??= { packetsSent: 0, bytesSent: 0, pliCount: 0, frameWidth: undefined, frameHeight: undefined };
        o.packetsSent += s.packetsSent ?? 0;
        o.bytesSent += s.bytesSent ?? 0;
        o.pliCount += (s.pliCount ?? 0) + (s.firCount ?? 0);
        if ((s.frameWidth ?? 0) > (o.frameWidth ?? 0)) [o.frameWidth, o.frameHeight] = [s.frameWidth, s.frameHeight];
      }
    }
    return out;
  }

  /** Connection quality since the previous call (see assessQuality), of one section if given. */
  async quality(mid) {
    const st = await this.stats(mid);
    const cur = { received: 0, lost: 0, rttMs: st.rttMs };
    for (const s of Object.values(st.inbound)) {
      cur.received += s.packetsReceived;
      cur.lost += s.packetsLost;
    }
    const q = assessQuality(this.prevCounts.get(mid ?? '') ?? { received: 0, lost: 0 }, cur);
    this.prevCounts.set(mid ?? '', cur);
    return q;
  }

  /** stats() keyed by the participant it measures (see SfuLink for a link carrying several). */
  async statsByPeer() {
    return { [this.id]: await this.stats() };
  }

  /** quality() as a Map keyed by the participant it measures. */
  async qualityByPeer() {
    return new Map([[this.id, await this.quality()]]);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
  }
}

/**
 * The selected candidate pair of a getStats() report as candidate types and protocol, e.g.
 * {local: 'relay', remote: 'host', protocol: 'udp'}; null before one is selected.
 */
function selectedPath(report) {
  let pairId;
  for (const s of report.values()) if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  const pair = pairId ? report.get(pairId) : undefined;
  if (!pair) return null;
  const local = report.get(pair.localCandidateId);
  const remote = report.get(pair.remoteCandidateId);
  return { local: local?.candidateType ?? '', remote: remote?.candidateType ?? '', protocol: local?.protocol ?? '' };
}
