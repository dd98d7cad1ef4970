/**
 * How much a fuzz file does. `npm test` runs a short seeded pass (the same inputs every run,
 * so a failure reproduces); `npm run fuzz` sets FUZZ_LONG=1 for the long one, with a new seed
 * each run unless FUZZ_SEED is given (fast-check prints the seed and path of a failure).
 */
export const LONG = process.env.FUZZ_LONG === '1';
export const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : LONG ? Date.now() % 2 ** 31 : 20261204;
// A long run draws a new seed: printed, so a failure found with it can be run again.
if (LONG) console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} npm run fuzz repeats this run)`);

/** fast-check runs per property: `short` in `npm test`, `long` in `npm run fuzz`. */
export function runs(short: number, long: number): { numRuns: number; seed: number } {
  return { numRuns: LONG ? long : short, seed: SEED };
}

/** Frames per endpoint: FUZZ_FRAMES, else 100,000 in the long run (the bar), 1,500 in `npm test`. */
export const FRAMES = Number(process.env.FUZZ_FRAMES ?? (LONG ? 100_000 : 1_500));
