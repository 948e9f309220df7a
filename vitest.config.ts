import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      // The domain is where the rules live: it must stay almost fully covered.
      thresholds: { 'src/domain/**/*.ts': { lines: 95 } },
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.spec.ts', 'test/**/*.e2e.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: integration files run one by one so fault tests keep their timing.
          fileParallelism: false,
        },
      },
    ],
  },
});
