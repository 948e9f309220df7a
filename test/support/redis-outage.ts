import { Redis } from 'ioredis';
import { isClusterUrl } from '../../src/infra/redis.js';
import { serverAddresses } from '../../src/config/server-addresses.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * Redis "away" for a test: a TCP proxy that drops and refuses connections (tcp-proxy.ts), in
 * front of a single server. A Redis Cluster's clients connect to the nodes its slots name, past any
 * proxy in front of a seed, so there every master is frozen instead (SIGSTOP, found by the pid
 * INFO reports: the local clusters of scripts/services.sh): commands hang, as behind a cut proxy,
 * until `restore` or `close` (SIGCONT). `url` leaves a cluster URL as it is.
 */
export async function startRedisOutage(redisUrl: string): Promise<TcpProxy> {
  if (!isClusterUrl(redisUrl)) return startTcpProxy(redisUrl, 6379);
  const pids = await Promise.all(
    serverAddresses(redisUrl).map(async ({ host, port }) => {
      const node = new Redis({ host, port, maxRetriesPerRequest: 1 });
      try {
        return Number(/process_id:(\d+)/.exec(await node.info('server'))![1]);
      } finally {
        node.disconnect();
      }
    }),
  );
  const signal = (name: NodeJS.Signals) => {
    for (const pid of pids) process.kill(pid, name);
  };
  let frozen = false;
  const restore = async () => {
    if (frozen) signal('SIGCONT');
    frozen = false;
  };
  return {
    port: 0,
    url: (serviceUrl) => serviceUrl,
    async cut() {
      signal('SIGSTOP');
      frozen = true;
    },
    restore,
    close: restore,
  };
}
