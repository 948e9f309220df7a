import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

describe('loadConfig: retention and the signed webhook', () => {
  it('given none, documented defaults: inbound 7 days, events 3 days and 4 GiB, records 400 days, 12 webhook attempts', () => {
    expect(loadConfig({})).toMatchObject({
      OPENSIM_INBOUND_MAX_AGE_HOURS: 168,
      OPENSIM_EVENTS_MAX_AGE_HOURS: 72,
      OPENSIM_EVENTS_MAX_MIB: 4_096,
      OPENSIM_RECORDS_RETENTION_DAYS: 400,
      OPENSIM_ALERTS_WEBHOOK_MAX_ATTEMPTS: 12,
    });
  });

  it('accepts a replay horizon an hour shorter than the records\' life', () => {
    expect(loadConfig({ OPENSIM_INBOUND_MAX_AGE_HOURS: '239', OPENSIM_RECORDS_RETENTION_DAYS: '10' }).OPENSIM_INBOUND_MAX_AGE_HOURS).toBe(239);
  });

  it('accepts a webhook URL with a whsec_ secret', () => {
    expect(loadConfig({ OPENSIM_ALERTS_WEBHOOK_URL: 'https://hooks.example/opensim', OPENSIM_ALERTS_WEBHOOK_SECRET: SECRET }).OPENSIM_ALERTS_WEBHOOK_SECRET).toBe(SECRET);
  });

  it.each([
    [{ OPENSIM_ALERTS_WEBHOOK_URL: 'https://user:pw@hooks.example/x', OPENSIM_ALERTS_WEBHOOK_SECRET: SECRET }, /OPENSIM_ALERTS_WEBHOOK_URL must not carry credentials/],
    [{ OPENSIM_ALERTS_WEBHOOK_URL: 'https://token@hooks.example/x', OPENSIM_ALERTS_WEBHOOK_SECRET: SECRET }, /OPENSIM_ALERTS_WEBHOOK_URL must not carry credentials/],
    [{ OPENSIM_ALERTS_WEBHOOK_URL: 'https://hooks.example/x' }, /OPENSIM_ALERTS_WEBHOOK_SECRET: required/],
    [{ OPENSIM_ALERTS_WEBHOOK_SECRET: 'not-a-secret' }, /OPENSIM_ALERTS_WEBHOOK_SECRET must be whsec_/],
    [{ OPENSIM_ALERTS_WEBHOOK_SECRET: `whsec_${Buffer.alloc(8).toString('base64')}` }, /OPENSIM_ALERTS_WEBHOOK_SECRET/],
    [{ OPENSIM_ALERTS_WEBHOOK_SECRET: 'whsec_***' }, /OPENSIM_ALERTS_WEBHOOK_SECRET/],
    [{ OPENSIM_EVENTS_MAX_AGE_HOURS: '0' }, /OPENSIM_EVENTS_MAX_AGE_HOURS/],
    [{ OPENSIM_RECORDS_RETENTION_DAYS: 'soon' }, /OPENSIM_RECORDS_RETENTION_DAYS/],
    // The replay horizon must be shorter than the records' life: a command taken in again finds its decision.
    [{ OPENSIM_INBOUND_MAX_AGE_HOURS: '240', OPENSIM_RECORDS_RETENTION_DAYS: '10' }, /OPENSIM_INBOUND_MAX_AGE_HOURS: 240 h must be shorter than OPENSIM_RECORDS_RETENTION_DAYS/],
    [{ OPENSIM_INBOUND_MAX_AGE_HOURS: '9999' }, /must be shorter than OPENSIM_RECORDS_RETENTION_DAYS \(400 days\)/],
  ])('refuses %o naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
