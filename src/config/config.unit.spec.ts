import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('given no variables, uses the defaults of CONTRACT.md', () => {
    expect(loadConfig({})).toMatchObject({
      NATS_URL: 'nats://127.0.0.1:4222',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MONGO_URL: 'mongodb://127.0.0.1:27017/opensim',
      OPENSIM_SUBJECT_PREFIX: 'opensim',
      OPENSIM_HTTP_PORT: 8080,
    });
  });

  it('given an empty variable, treats it as unset', () => {
    expect(loadConfig({ OPENSIM_HTTP_PORT: '' }).OPENSIM_HTTP_PORT).toBe(8080);
  });

  it.each([
    ['NATS_URL', 'http://x:4222'],
    ['REDIS_URL', 'not a url'],
    ['MONGO_URL', 'postgres://db'],
    ['OPENSIM_SUBJECT_PREFIX', 'open sim'],
    ['OPENSIM_HTTP_PORT', '70000'],
    ['OPENSIM_HTTP_PORT', 'eighty'],
    ['LOG_LEVEL', 'loud'],
  ])('given a bad %s (%s), refuses it naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: `));
  });

  it('given TLS and credentials in the URLs, accepts them', () => {
    const config = loadConfig({ NATS_URL: 'tls://user:pw@nats:4222', REDIS_URL: 'rediss://:pw@redis:6380', MONGO_URL: 'mongodb+srv://u:p@cluster/opensim' });
    expect(config.REDIS_URL).toBe('rediss://:pw@redis:6380');
  });
});
