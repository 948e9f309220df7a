import { MongoClient } from 'mongodb';
import { connect, type NatsConnection } from 'nats';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { natsAccessOptions, natsServers } from './nats-options.js';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from './redis.js';

/**
 * The three connections of a process. Each reconnects by itself forever: a server that is
 * down makes the process unready (GET /readyz answers 503), never makes it exit.
 */
export interface Connections {
  /** Resolves once NATS answered the first time; until then `nats()` is undefined. */
  natsReady: Promise<NatsConnection>;
  nats(): NatsConnection | undefined;
  /**
   * A `Cluster` at run time when REDIS_URL is a Redis Cluster URL (redis.ts), typed `Redis` until
   * the intake and the queues take `RedisClient` (issue 17): the commands are the same on both;
   * `duplicate()` is not (use `duplicateRedis`, or `transactionConnection` for WATCH/MULTI).
   */
  redis: Redis;
  mongo: MongoClient;
  close(): Promise<void>;
}

export function openConnections(config: Config, logger: Logger): Connections {
  let nc: NatsConnection | undefined;
  const natsReady = connect({
    servers: natsServers(config.NATS_URL),
    ...natsAccessOptions(config),
    name: 'opensim',
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  }).then((connection) => {
    nc = connection;
    logger.info({ service: 'nats', server: connection.getServer() }, 'nats connected');
    void watchNatsStatus(connection, logger);
    return connection;
  });
  natsReady.catch((err) => logger.error({ err, service: 'nats' }, 'nats connection failed'));

  // BullMQ requires maxRetriesPerRequest: null on connections it blocks on.
  const redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false }) as Redis;
  redis.on('error', (err) => logger.debug({ err, service: 'redis' }, 'redis connection error'));

  // Fail fast while MongoDB is away, so the job's own backoff decides when to try again;
  // a serverSelectionTimeoutMS in the URL wins.
  const timeoutInUrl = /[?&]serverSelectionTimeoutMS=/i.test(config.MONGO_URL);
  const mongo = new MongoClient(config.MONGO_URL, { ...(timeoutInUrl ? {} : { serverSelectionTimeoutMS: 5000 }), appName: 'opensim' });
  mongo.connect().catch((err) => logger.warn({ err, service: 'mongo' }, 'mongo not reachable yet'));

  return {
    natsReady,
    nats: () => nc,
    redis,
    mongo,
    async close() {
      await Promise.allSettled([nc?.drain(), closeRedis(redis), mongo.close()]);
    },
  };
}

async function watchNatsStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect' || status.type === 'reconnect') {
      logger.warn({ service: 'nats', status: status.type, server: status.data }, `nats ${status.type}`);
    }
  }
}
