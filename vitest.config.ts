import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: servers and clients of the loopback tests compete for CPU, so files run two at a time.
    maxWorkers: 2,
  },
});
