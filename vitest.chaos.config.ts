import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/** `npm run test:chaos`: the reliability suites' long runs (CHAOS=long), nothing else. */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/chaos/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
    env: { ...base.test?.env, CHAOS: 'long' },
    testTimeout: 900_000,
  },
});
