import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig: the operations variables', () => {
  it('given none, the admin routes are off, payloads up to 64 KiB, 20 deliveries, 30 s ack wait', () => {
    const config = loadConfig({});
    expect(config.OPENSIM_ADMIN_TOKEN).toBeUndefined();
    expect(config).toMatchObject({ OPENSIM_MAX_PAYLOAD_BYTES: 65_536, OPENSIM_INTAKE_MAX_DELIVER: 20, OPENSIM_INTAKE_ACK_WAIT_MS: 30_000 });
  });

  it.each([
    ['OPENSIM_ADMIN_TOKEN', 'short'],
    ['OPENSIM_MAX_PAYLOAD_BYTES', '10'],
    ['OPENSIM_INTAKE_MAX_DELIVER', '0'],
    ['OPENSIM_INTAKE_ACK_WAIT_MS', '100'],
    ['NATS_INBOX_PREFIX', 'has space'],
  ])('given a bad %s (%s), refuses it naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}`));
  });
});
