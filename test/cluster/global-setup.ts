import type { TestProject } from 'vitest/node';
import type { ServiceUrls } from '../support/resolve-services.js';
import { unreachable } from '../support/resolve-services.js';
import { CLUSTER_STATE, clusterScript, clusterUrls } from './cluster-servers.js';

/**
 * Once for `npm run test:cluster`: starts (or finds) the 3-node NATS cluster and the 3-master
 * Redis Cluster with `bash scripts/services.sh cluster up`, and gives their URLs to the tests
 * through the same `services` the end-to-end scenarios read (test/support/services.ts), so they
 * run unchanged. A URL set in the environment replaces the cluster's (e.g. REDIS_URL of a single
 * Redis, to run the scenarios on the NATS cluster alone). Fails with what the script said; never skips.
 */
export default async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  process.stderr.write(`cluster servers: bash scripts/services.sh cluster up (SERVICES_DIR=${CLUSTER_STATE})… `);
  try {
    await clusterScript('up');
  } catch (err) {
    process.stderr.write('failed.\n');
    throw new Error(`${(err as Error).message}\n\nThe cluster tests need the NATS and Redis clusters of scripts/services.sh (nats-server 2.10.29 built by 'bash scripts/services.sh up', Debian's redis-server and redis-cli).`);
  }
  const fromScript = clusterUrls();
  const urls: ServiceUrls = {
    natsUrl: process.env.NATS_URL ?? fromScript.natsUrl,
    redisUrl: process.env.REDIS_URL ?? fromScript.redisUrl,
    mongoUrl: process.env.MONGO_URL ?? fromScript.mongoUrl,
    origin: 'services-script',
  };
  const down = await unreachable(urls);
  if (down.length > 0) throw new Error(`cluster up succeeded, but these do not answer: ${down.join(', ')}`);
  process.stderr.write(`up in ${Math.round((Date.now() - started) / 1000)} s: ${urls.natsUrl}  ${urls.redisUrl}  ${urls.mongoUrl}\n`);
  project.provide('services', urls);
}
