import { serverAddresses, type ServerAddress } from './server-addresses.js';

/** What REDIS_URL names: a server (redis://, rediss://) or a Redis Cluster (redis+cluster://host:port,host:port). Parsed here, with the rest of the configuration. */
export type RedisTarget =
  | { kind: 'server'; url: string }
  | { kind: 'cluster'; nodes: ServerAddress[]; username?: string; password?: string; tls: boolean };

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//i;

export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** What REDIS_URL names; throws with what is wrong (never echoing credentials). */
export function redisTarget(url: string): RedisTarget {
  const scheme = CLUSTER_SCHEME.exec(url);
  if (!scheme) return { kind: 'server', url };
  const afterScheme = url.slice(scheme[0].length);
  const path = /[/?#](.*)$/.exec(afterScheme.slice(afterScheme.lastIndexOf('@') + 1));
  if (path && path[0] !== '/') throw new Error('a Redis Cluster URL takes no path, database or options: redis+cluster://host:port,host:port');
  const at = afterScheme.split('/')[0]!.lastIndexOf('@');
  const userinfo = at >= 0 ? afterScheme.slice(0, at) : '';
  const [username, password] = userinfo.includes(':') ? [userinfo.slice(0, userinfo.indexOf(':')), userinfo.slice(userinfo.indexOf(':') + 1)] : [userinfo, ''];
  return {
    kind: 'cluster',
    nodes: serverAddresses(url),
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    tls: scheme[1]!.toLowerCase() === 'rediss',
  };
}
