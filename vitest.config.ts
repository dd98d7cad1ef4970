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
  'test/integration/pcm-flood.test.ts', 'test/integration/signaling-slow-reader.test.ts',
];

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          ...common, name: 'node', maxWorkers: 2, sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/cli/**/*.test.ts'],
          exclude: SERIAL_ELSEWHERE,
        },
      },
      {
        // Real Chromium (its audio and video threads must not fight other tests for the two
        // cores) and timing/memory measurements: after the rest, one file at a time.
        test: {
          ...common, name: 'serial', maxWorkers: 1, fileParallelism: false, sequence: { groupOrder: 1 },
          include: ['test/browser/**/*.test.ts', ...SERIAL_ELSEWHERE],
        },
      },
    ],
  },
});
