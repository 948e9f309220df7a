import { MongoDBContainer } from '@testcontainers/mongodb';
import { RedisContainer } from '@testcontainers/redis';
import { GenericContainer, Wait } from 'testcontainers';
import type { ResolvedServices } from './resolve-services.js';

// The same major versions as docker-compose.yml.
export const IMAGES = { mongo: 'mongo:7', redis: 'redis:7', nats: 'nats:2.10' } as const;

/** Starts MongoDB 7, Redis 7 and NATS 2.10 (JetStream) for one test run. */
export async function startContainers(): Promise<ResolvedServices> {
  const [mongo, redis, nats] = await Promise.all([
    new MongoDBContainer(IMAGES.mongo).start(),
    new RedisContainer(IMAGES.redis).withCommand(['redis-server', '--maxmemory-policy', 'noeviction']).start(),
    new GenericContainer(IMAGES.nats)
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start(),
  ]);
  return {
    urls: {
      // directConnection: the container's replica set advertises an address only reachable inside Docker.
      mongoUrl: `${mongo.getConnectionString()}/opensim?directConnection=true`,
      redisUrl: redis.getConnectionUrl(),
      natsUrl: `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`,
      origin: 'testcontainers',
    },
    stop: async () => {
      await Promise.all([mongo.stop(), redis.stop(), nats.stop()]);
    },
  };
}
