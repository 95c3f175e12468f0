import { defineConfig } from 'vitest/config';

// One project per runtime. Suites under test/shared/ are written once per interface and run
// against every implementation from inside the project (mock, node HALs; wasm and js engines).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/quickjs/**'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
