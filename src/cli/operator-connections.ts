import { MongoClient } from 'mongodb';
import { connect, type NatsConnection } from 'nats';
import type { Config } from '../config/config.js';
import { natsAccessOptions, natsServers } from '../infra/nats-options.js';
import { describeServers } from '../config/server-addresses.js';
import { collections, type Collections } from '../store/documents.js';

/**
 * Connections of an operator verb (`dlq`, `audit`, `queues`): opened for one command, failing
 * at once with the server's name when it does not answer (a verb must not hang).
 */
export async function withMongo<T>(config: Config, use: (c: Collections) => Promise<T>): Promise<T> {
  const timeoutInUrl = /[?&]serverSelectionTimeoutMS=/i.test(config.MONGO_URL);
  const client = new MongoClient(config.MONGO_URL, { ...(timeoutInUrl ? {} : { serverSelectionTimeoutMS: 5000 }), appName: 'opensim-cli' });
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new Error(`cannot reach MongoDB at ${hostOf(config.MONGO_URL)} (MONGO_URL): ${(err as Error).message}`);
    }
    return await use(collections(client.db()));
  } finally {
    await client.close();
  }
}

export async function withNats<T>(config: Config, use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: natsServers(config.NATS_URL), name: 'opensim-cli', timeout: 5000, ...natsAccessOptions(config) });
  } catch (err) {
    throw new Error(`cannot reach NATS at ${hostOf(config.NATS_URL)} (NATS_URL): ${(err as Error).message}`);
  }
  try {
    return await use(nc);
  } finally {
    await nc.drain().catch(() => {});
  }
}

/** Host and port only (each server of a list): the URL may carry credentials. */
export function hostOf(url: string): string {
  return describeServers(url);
}
