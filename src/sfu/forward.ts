import { setRtpPayloadType, setRtpSsrc } from '../media/rtp.js';

/**
 * The one change an audio SFU makes to a forwarded RTP packet: the SSRC (and payload type)
 * of the subscriber's track, which its SDP announced. Sequence numbers and timestamps pass
 * through: each outgoing track carries exactly one publisher's stream, so they stay
 * continuous without rewriting. In place, so one buffer serves every subscriber in turn
 * (node-datachannel copies it on send).
 */
export function retargetRtp(packet: Buffer, ssrc: number, payloadType: number): void {
  setRtpPayloadType(packet, payloadType);
  setRtpSsrc(packet, ssrc);
}
