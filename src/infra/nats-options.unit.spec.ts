import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/config.js';
import { natsAccessOptions } from './nats-options.js';

const options = (env: Record<string, string>) => natsAccessOptions(loadConfig(env));

describe('natsAccessOptions', () => {
  it('given nothing, connects without credentials and without requiring TLS', () => {
    expect(options({})).toEqual({});
  });

  it('given NATS_USER and NATS_PASSWORD, logs in with them', () => {
    expect(options({ NATS_USER: 'opensim-worker', NATS_PASSWORD: 'pw' })).toEqual({ user: 'opensim-worker', pass: 'pw' });
  });

  it('given NATS_TOKEN, uses it', () => {
    expect(options({ NATS_TOKEN: 't0k' })).toEqual({ token: 't0k' });
  });

  it('given NATS_CREDS, authenticates with the creds file; an unreadable one is refused naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'creds-'));
    const file = join(dir, 'user.creds');
    writeFileSync(file, '-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n');
    expect(typeof options({ NATS_CREDS: file }).authenticator).toBe('function');
    expect(() => options({ NATS_CREDS: join(dir, 'missing.creds') })).toThrow(/NATS_CREDS: cannot read/);
  });

  it('given a tls:// URL, requires TLS, with NATS_TLS_CA as the CA when set', () => {
    expect(options({ NATS_URL: 'tls://nats:4222' })).toEqual({ tls: {} });
    expect(options({ NATS_URL: 'tls://nats:4222', NATS_TLS_CA: '/etc/ca.pem' })).toEqual({ tls: { caFile: '/etc/ca.pem' } });
  });

  it('given NATS_INBOX_PREFIX, replies come to that inbox (servers that confine users to their own inboxes)', () => {
    expect(options({ NATS_INBOX_PREFIX: '_INBOX_OPS' })).toEqual({ inboxPrefix: '_INBOX_OPS' });
  });

  it.each([
    [{ NATS_USER: 'u' }, /set both or neither/],
    [{ NATS_PASSWORD: 'p' }, /set both or neither/],
    [{ NATS_USER: 'u', NATS_PASSWORD: 'p', NATS_TOKEN: 't' }, /set one of them/],
  ])('given %j, refuses it', (env, message) => {
    expect(() => options(env)).toThrow(ConfigError);
    expect(() => options(env)).toThrow(message);
  });
});
