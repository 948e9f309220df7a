import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from 'nats';
import { ConfigError, type Config } from '../config/config.js';

type NatsAccess = Pick<Config, 'NATS_URL' | 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TOKEN' | 'NATS_CREDS' | 'NATS_TLS_CA' | 'NATS_INBOX_PREFIX'>;

/**
 * How this process proves who it is to NATS, from the environment: user and password, a
 * token, or a creds file (JWT + NKey, `nsc`) — one of them, or credentials in NATS_URL, or
 * none. A `tls://` URL makes TLS required (with NATS_TLS_CA for a private CA); with
 * `nats://` TLS is still used when the server offers it.
 */
export function natsAccessOptions(config: NatsAccess): Partial<ConnectionOptions> {
  const methods = [config.NATS_USER !== undefined || config.NATS_PASSWORD !== undefined, config.NATS_TOKEN !== undefined, config.NATS_CREDS !== undefined].filter(Boolean).length;
  if (methods > 1) throw new ConfigError(['NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS: set one of them, not several']);
  if ((config.NATS_USER === undefined) !== (config.NATS_PASSWORD === undefined)) {
    throw new ConfigError(['NATS_USER, NATS_PASSWORD: set both or neither']);
  }
  const options: Partial<ConnectionOptions> = {};
  if (config.NATS_USER !== undefined) Object.assign(options, { user: config.NATS_USER, pass: config.NATS_PASSWORD });
  if (config.NATS_TOKEN !== undefined) options.token = config.NATS_TOKEN;
  if (config.NATS_CREDS !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(config.NATS_CREDS);
    } catch (err) {
      throw new ConfigError([`NATS_CREDS: cannot read '${config.NATS_CREDS}': ${(err as Error).message}`]);
    }
    options.authenticator = credsAuthenticator(creds);
  }
  if (natsServers(config.NATS_URL).some((url) => url.startsWith('tls://')) || config.NATS_TLS_CA !== undefined) {
    options.tls = config.NATS_TLS_CA !== undefined ? { caFile: config.NATS_TLS_CA } : {};
  }
  if (config.NATS_INBOX_PREFIX !== undefined) options.inboxPrefix = config.NATS_INBOX_PREFIX;
  return options;
}

/**
 * NATS_URL as the client's `servers`: one URL, or a comma-separated list (the servers of a
 * cluster, any of which may be down at start). The `nats` client takes a string as one server,
 * commas included, so the list is split here.
 */
export function natsServers(natsUrl: string): string[] {
  return natsUrl
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}
