// How the call page words the server's `quality` readings (PROTOCOL.md "Quality reports"):
// signal bars from the score, the figures of a tile's quality card, and the banner about your
// own connection. Pure, so it is tested in Node.

/**
 * Bars out of 4 for a 0-100 score (the E-model rescaled, see docs/call-pages.md): 80 and up is
 * a call nobody minds, under 60 one many people find bad.
 */
export function signalBars(score) {
  return score >= 80 ? 4 : score >= 60 ? 3 : score >= 40 ? 2 : 1;
}

const BAR_WORDS = { 4: 'Good', 3: 'Fair', 2: 'Poor', 1: 'Bad' };

/** One word for a score: Good, Fair, Poor or Bad. */
export function signalWord(score) {
  return BAR_WORDS[signalBars(score)];
}

/** The warnings in short words, for the card. */
const WARNING_WORDS = {
  'no-media': 'no media arriving',
  'high-loss': 'losing packets',
  'frozen-video': 'video frozen',
  'high-rtt': 'slow network',
  'high-jitter': 'unsteady network',
  'low-bitrate': 'low video bitrate',
};

const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/**
 * The quality card's rows [label, value] for reading `q`, with `video` the size and frame rate
 * of the tile's video as this page receives (or, for our own tile, sends) it.
 * @param {{score: number, packetLoss: number, jitterMs: number, rttMs: number, bitrateKbps: number, warnings: string[]}} q
 * @param {{width: number, height: number, fps?: number} | undefined} video
 */
export function cardRows(q, video) {
  const size = video ? `${video.width}×${video.height}${video.fps ? ` · ${Math.round(video.fps)} fps` : ''}` : '–';
  return [
    ['Packet loss', `${num(q.packetLoss)} %`],
    ['Jitter', `${num(q.jitterMs)} ms`],
    ['Round trip', `${num(q.rttMs)} ms`],
    ['Bitrate', `${Math.round(q.bitrateKbps)} kbit/s`],
    ['Resolution', size],
  ];
}

/** The warnings of `q` in words ('' when none), most serious first. */
export function warningWords(q) {
  return Object.keys(WARNING_WORDS).filter((w) => q.warnings.includes(w)).map((w) => WARNING_WORDS[w]).join(', ');
}

/**
 * The banner about our own connection for our reading `q`, in plain words with the figure that
 * tripped it and what people notice; '' when nothing is wrong. At most the two most serious.
 */
export function ownQualityText(q) {
  const w = new Set(q.warnings);
  const lines = [];
  if (w.has('no-media')) lines.push('Your audio and video are not getting through: check your network.');
  if (w.has('high-loss')) lines.push(`Your connection is losing packets (${num(q.packetLoss)} %): video may stutter and sound may break up.`);
  if (w.has('frozen-video')) lines.push('Your video is not getting through: others see it frozen.');
  if (w.has('high-rtt')) lines.push(`Your network is slow (RTT ${Math.round(q.rttMs)} ms): expect a delay when you talk.`);
  if (w.has('high-jitter')) lines.push(`Your connection is unsteady (jitter ${num(q.jitterMs)} ms): sound may break up.`);
  if (w.has('low-bitrate')) lines.push(`Your video gets through at only ${Math.round(q.bitrateKbps)} kbit/s: it may look blurry.`);
  return lines.slice(0, 2).join(' ');
}

/**
 * The banner when the page has lowered its own video on a link (adapt.js): why, in plain words;
 * '' when nothing is lowered.
 * @param {'loss' | 'rtt' | ''} reason
 */
export function loweredText(reason) {
  if (reason === 'loss') return 'Your connection is losing packets: video lowered.';
  if (reason === 'rtt') return 'Your connection is slow: video lowered.';
  return '';
}
