/** One server a URL names, without credentials: for reachability probes and messages. */
export interface ServerAddress {
  host: string;
  port: number;
}

const DEFAULT_PORTS: Record<string, number> = { nats: 4222, tls: 4222, redis: 6379, rediss: 6379, 'redis+cluster': 6379, 'rediss+cluster': 6379, mongodb: 27017, 'mongodb+srv': 27017 };

/**
 * The servers a URL names. One for a plain URL; several for the lists the configuration accepts,
 * which WHATWG URL parsing refuses: a NATS list (`nats://a:4222,nats://b:4222`, as NATS_URL of a
 * cluster), a Redis Cluster URL (`redis+cluster://a:7000,b:7001`) or a MongoDB seed list
 * (`mongodb://a,b,c/db`). Throws on an item that is not host[:port].
 */
export function serverAddresses(url: string): ServerAddress[] {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) throw new Error(`not a URL with a scheme: ${describe(url)}`);
  const defaultPort = DEFAULT_PORTS[scheme] ?? 0;
  return url.split(',').map((item) => {
    let rest = item.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    rest = rest.split(/[/?#]/)[0]!;
    rest = rest.slice(rest.lastIndexOf('@') + 1);
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(rest);
    if (!match) throw new Error(`'${describe(item)}' is not host[:port]`);
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (port < 1 || port > 65535) throw new Error(`'${describe(item)}': no port (and no default for ${scheme}://)`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** `host:port, host:port`: what a message may show of a URL (never its credentials). */
export function describeServers(url: string): string {
  try {
    return serverAddresses(url)
      .map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`)
      .join(', ');
  } catch {
    return '(unparsable URL)';
  }
}

/** The URL without what sits between `//` and `@` of each item: safe to show in an error. */
function describe(item: string): string {
  return item.replace(/\/\/[^/@]*@/g, '//…@');
}
