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
  /** Audio waiting now, ms: to be sent to the client plus to be played into the room. */
  queueMs: number;
  /** Audio dropped, ms: because the client did not keep up, or sent faster than real time. */
  droppedMs: number;
  /** Times the client's audio ran dry while it was talking (late or lost frames). */
  underruns: number;
}

/** What a leg keeps per output format for a SharedFrame (a resampler, an encoder): freed with it. */
export interface SharedConversion {
  close(): void;
}

/**
 * A frame many legs hear in one tick: the mix of the room's talkers, the same for everyone not
 * talking. A leg converts it (resample, encode) through the conversion kept here for its
 * output format, which does the work once per tick whichever leg asks first, so a room's
 * listeners cost one conversion per format, not one each. The media side bumps `tick` for
 * every new frame; a conversion is a continuous stream of those frames, as a leg's own is.
 */
export class SharedFrame {
  tick = 0;
  private readonly conversions = new Map<string, SharedConversion>();

  /** The conversion for `format` (a key its leg class chooses), made by `make` the first time. */
  conversion<T extends SharedConversion>(format: string, make: () => T): T {
    let c = this.conversions.get(format);
    if (c === undefined) {
      c = make();
      this.conversions.set(format, c);
    }
    return c as T;
  }

  close(): void {
    for (const c of this.conversions.values()) c.close();
    this.conversions.clear();
  }
}

export interface AudioLeg {
  /**
   * The room's media hands the member what it hears: one 20 ms frame per call, in real time,
   * the mix of everyone else (never itself). The frame is reused: copy to keep it. With
   * `shared`, the frame is that tick's SharedFrame, heard alike by other legs.
   */
  play(frame: Int16Array, shared?: SharedFrame): void;
  /**
   * The room's media takes what the member says at each 20 ms tick: the next frame, or
   * undefined (silent: the leg's voice gate is closed; or its audio ran dry). Pulled, not
   * pushed, so a client sending faster than real time fills only the leg's bounded queue,
   * never the room's media.
   */
  take(): Int16Array | undefined;
  stats(): LegStats;
}
