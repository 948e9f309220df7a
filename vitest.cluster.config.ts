import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the end-to-end scenarios of plan changes, idempotency, usage and
 * shutdown, unchanged, on a 3-node NATS cluster (streams at 3 replicas) and a 3-master Redis
 * Cluster started by scripts/services.sh, plus the cluster's own tests (test/cluster). Not part of
 * `npm test` (README, "Scaling out").
 */
export default defineConfig({
  test: {
    name: 'cluster',
    include: [
      'test/cluster/**/*.cluster.spec.ts',
      'test/e2e/plan-change.e2e.spec.ts',
      'test/e2e/idempotency.e2e.spec.ts',
      'test/e2e/usage-thresholds.e2e.spec.ts',
      'test/e2e/usage-burst.e2e.spec.ts',
      'test/e2e/shutdown.e2e.spec.ts',
    ],
    globalSetup: ['test/cluster/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: one file at a time, as the integration project.
    fileParallelism: false,
  },
});
