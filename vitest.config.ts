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
      {
        // dist/agent.js inside QuickJS with a host-side HAL (hal/quickjs/); needs `npm run build` first.
        test: {
          name: 'quickjs',
          include: ['test/quickjs/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
