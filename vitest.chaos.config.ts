import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/** `npm run test:chaos`: the reliability suites' long runs (CHAOS=long), nothing else. */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/chaos/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
    env: { ...base.test?.env, CHAOS: 'long' },
    // Two at a time: the kill -9 cycles (most of the run, waiting on restarts) beside the others, which
    // keep to databases of their own or to the suite's one alone (the fuzz is the only file truncating it).
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 900_000,
  },
});
