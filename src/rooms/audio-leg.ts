/**
 * A member whose audio is not WebRTC (a PCM gateway client, a phone call): the room's media
 * side mixes what it hears and takes what it says, in one format whatever the client speaks,
 * so the media side knows nothing of WebSocket framing or client codecs and the gateway
 * nothing of RTP.
 */

/** The leg's audio format: 48 kHz mono Int16, in 20 ms frames. */
export const LEG_SAMPLE_RATE = 48000;
export const LEG_FRAME_SAMPLES = 960;

/** A gateway member's audio figures (the room API lists them with the participant). */
export interface LegStats {
  /** Frames the client sent (its own framing). */
  framesIn: number;
  /** 20 ms frames sent to the client. */
  framesOut: number;
  /** Audio waiting to be sent to the client now, ms. */
  queueMs: number;
  /** Audio dropped because the client did not keep up, ms. */
  droppedMs: number;
  /** Times the client's audio ran dry while it was talking (late or lost frames). */
  underruns: number;
}

export interface AudioLeg {
  /**
   * The room's media hands the member what it hears: one 20 ms frame per call, in real time,
   * the mix of everyone else (never itself). The frame is reused: copy to keep it.
   */
  play(frame: Int16Array): void;
  /** Set by the room's media: called with each 20 ms frame the member says (reused: copy to keep it). */
  onAudio: ((frame: Int16Array) => void) | undefined;
  /** The room's media found the member's audio dry at a tick while it was talking. */
  underrun(): void;
  stats(): LegStats;
}
