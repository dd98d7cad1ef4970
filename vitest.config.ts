import { defineConfig } from 'vitest/config';

const common = {
  // node-datachannel is native and keeps threads: a process per file isolates it.
  pool: 'forks' as const,
  testTimeout: 20_000,
  hookTimeout: 20_000,
};

/**
 * Files that run in the serial group: those outside test/browser that drive Chromium too
 * (named so), and those whose figures (frame timing, memory) need the machine to themselves.
 */
const SERIAL_ELSEWHERE = [
  'test/**/*browser*.test.ts', 'test/**/*chromium*.test.ts',
  'test/integration/pcm-flood.test.ts', 'test/integration/signaling-slow-reader.test.ts', 'test/integration/pcm-backpressure.test.ts',
];

/**
 * Browser files light enough to run two at once: no page sends camera video through a codec
 * the test times, and nothing measures frame pacing, message rates, levels or memory
 * (pcm-gateway counts a phone's media messages a second, csp checks a /duo level: beside
 * another file they failed now and then). The rest (video calls, SFU
 * layers and their switching, Firefox, quality) keep the machine's two cores to themselves.
 */
const BROWSER_PAIRS = [
  'lobby', 'helpers', 'duo', 'duo-cli', 'bot', 'moderation', 'server-kill', 'turn', 'negotiation', 'https', 'resilience',
].map((name) => `test/browser/${name}.test.ts`);

/**
 * Real Chromium and Firefox can stall a frame or a tick now and then on a busy 2-core
 * machine: a failing browser test is run once more, and fails for good when it fails twice.
 */
const BROWSER_RETRY = 1;

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          // Three at a time on two cores: these files mostly wait on real-time media and the
          // network, not the CPU (CI's time limit is the reason; CPU-measuring files are serial).
          ...common, name: 'node', maxWorkers: 3, sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/fuzz/**/*.test.ts', 'test/soak/**/*.test.ts'],
          exclude: SERIAL_ELSEWHERE,
        },
      },
      {
        // Real Chromium with audio-only or signaling-only pages: two files at a time.
        test: {
          ...common, name: 'browser', maxWorkers: 2, retry: BROWSER_RETRY, sequence: { groupOrder: 1 },
          include: BROWSER_PAIRS,
        },
      },
      {
        // Real Chromium with video (its audio and video threads must not fight other tests for
        // the two cores) and timing/memory measurements: after the rest, one file at a time.
        test: {
          ...common, name: 'serial', maxWorkers: 1, fileParallelism: false, retry: BROWSER_RETRY, sequence: { groupOrder: 2 },
          include: ['test/browser/**/*.test.ts', ...SERIAL_ELSEWHERE],
          exclude: BROWSER_PAIRS,
        },
      },
    ],
  },
});
