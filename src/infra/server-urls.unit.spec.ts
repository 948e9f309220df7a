import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { streamReplicas } from '../messaging/streams.js';
import { natsAccessOptions, natsServers } from './nats-options.js';
import { createRedis, duplicateRedis, redisTarget, transactionConnection } from './redis.js';
import { describeServers, serverAddresses } from '../config/server-addresses.js';

describe('server URLs of a cluster: NATS lists and Redis Cluster URLs', () => {
  it('given a NATS list, then each server, with default ports, and the client gets them one by one', () => {
    const url = 'nats://127.0.0.1:4301, nats://u:pw@10.0.0.2,tls://[::1]:4303';
    expect(serverAddresses(url)).toEqual([
      { host: '127.0.0.1', port: 4301 },
      { host: '10.0.0.2', port: 4222 },
      { host: '::1', port: 4303 },
    ]);
    expect(natsServers(url)).toEqual(['nats://127.0.0.1:4301', 'nats://u:pw@10.0.0.2', 'tls://[::1]:4303']);
    expect(describeServers(url)).toBe('127.0.0.1:4301, 10.0.0.2:4222, [::1]:4303');
  });

  it('given one tls:// server among the list, then TLS is required', () => {
    expect(natsAccessOptions({ NATS_URL: 'nats://a:4222,tls://b:4222' }).tls).toEqual({});
    expect(natsAccessOptions({ NATS_URL: 'nats://a:4222,nats://b:4222' }).tls).toBeUndefined();
  });

  it('given a Redis Cluster URL, then its seeds, credentials and TLS; never a path', () => {
    expect(redisTarget('redis+cluster://127.0.0.1:7301,127.0.0.1:7302')).toEqual({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 7301 }, { host: '127.0.0.1', port: 7302 }], tls: false });
    expect(redisTarget('rediss+cluster://app:p%40ss@redis-0:6380,redis-1/')).toEqual({ kind: 'cluster', nodes: [{ host: 'redis-0', port: 6380 }, { host: 'redis-1', port: 6379 }], username: 'app', password: 'p@ss', tls: true });
    expect(redisTarget('redis://127.0.0.1:6379/2')).toEqual({ kind: 'server', url: 'redis://127.0.0.1:6379/2' });
    expect(() => redisTarget('redis+cluster://a:7000,b:7001/1')).toThrow(/takes no path, database or options/);
    expect(() => serverAddresses('redis+cluster://a:7000,:7001')).toThrow(/':7001' is not host\[:port\]/);
  });

  it('given the configuration, then lists and cluster URLs are accepted and bad ones refused by name', () => {
    const config = loadConfig({ NATS_URL: 'nats://a:4301,nats://b:4302', REDIS_URL: 'redis+cluster://a:7301,b:7302', OPENSIM_STREAM_REPLICAS: '3' });
    expect(config).toMatchObject({ NATS_URL: 'nats://a:4301,nats://b:4302', REDIS_URL: 'redis+cluster://a:7301,b:7302', OPENSIM_STREAM_REPLICAS: 3 });
    expect(loadConfig({}).OPENSIM_STREAM_REPLICAS).toBe('auto');
    expect(() => loadConfig({ NATS_URL: 'nats://a:4301,http://b' })).toThrow(/NATS_URL: NATS_URL must be a URL with scheme nats:\/\/ or tls:\/\/, or a comma-separated list of them/);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://a:7301/0' })).toThrow(/REDIS_URL: a Redis Cluster URL takes no path/);
    expect(() => loadConfig({ REDIS_URL: 'http://a' })).toThrow(/REDIS_URL must be a URL with scheme redis:\/\/ or rediss:\/\/, or a Redis Cluster URL/);
    expect(() => loadConfig({ OPENSIM_STREAM_REPLICAS: '0' })).toThrow(/OPENSIM_STREAM_REPLICAS/);
  });

  it('given a URL, then the factory makes a Redis or a Cluster, and duplicates keep the kind', async () => {
    const server = createRedis('redis://127.0.0.1:1', { lazyConnect: true });
    const cluster = createRedis('redis+cluster://:secret@127.0.0.1:1,127.0.0.1:2', { lazyConnect: true, maxRetriesPerRequest: null });
    expect(server).toBeInstanceOf(Redis);
    expect(cluster).toBeInstanceOf(Cluster);
    expect((cluster as Cluster).options.redisOptions).toMatchObject({ password: 'secret', maxRetriesPerRequest: null });
    const fenced = transactionConnection(cluster) as Cluster;
    expect(fenced).toBeInstanceOf(Cluster);
    expect(fenced.options).toMatchObject({ maxRedirections: 0, enableOfflineQueue: false, redisOptions: { password: 'secret', maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false } });
    expect((duplicateRedis(server, { lazyConnect: true }) as Redis).options).toMatchObject({ port: 1 });
    for (const client of [server, cluster, fenced]) client.disconnect();
  });
});

describe('stream replicas', () => {
  it('given auto, then 3 on a cluster of three or more, its size below three, 1 on a server alone; a number is itself', () => {
    const cluster = (n: number) => ({ cluster: 'c', connect_urls: Array.from({ length: n }, (_, i) => `h${i}:4222`) });
    expect(streamReplicas('auto', cluster(3))).toBe(3);
    expect(streamReplicas('auto', cluster(5))).toBe(3);
    expect(streamReplicas('auto', cluster(2))).toBe(2);
    expect(streamReplicas('auto', { cluster: undefined, connect_urls: undefined })).toBe(1);
    expect(streamReplicas('auto', undefined)).toBe(1);
    expect(streamReplicas(5, { cluster: undefined, connect_urls: undefined })).toBe(5);
  });
});
