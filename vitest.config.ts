import { defineConfig } from 'vitest/config';

const common = {
  // node-datachannel is native and keeps threads: a process per file isolates it.
  pool: 'forks' as const,
  testTimeout: 20_000,
  hookTimeout: 20_000,
};

/** Tests outside test/browser that drive Chromium too (named so). */
const BROWSER_ELSEWHERE = ['test/**/*browser*.test.ts', 'test/**/*chromium*.test.ts'];

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          ...common, name: 'node', maxWorkers: 2, sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/cli/**/*.test.ts'],
          exclude: BROWSER_ELSEWHERE,
        },
      },
      {
        // Real Chromium: audio and video threads must not fight other tests for the two cores,
        // so these run after the rest, one file at a time.
        test: {
          ...common, name: 'browser', maxWorkers: 1, fileParallelism: false, sequence: { groupOrder: 1 },
          include: ['test/browser/**/*.test.ts', ...BROWSER_ELSEWHERE],
        },
      },
    ],
  },
});
