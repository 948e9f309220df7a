import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook, webhookSecretProblem } from './webhook-signature.js';

const SECRET = `whsec_${Buffer.from('a shared secret of 32 bytes long').toString('base64')}`;

describe('signWebhook (Standard Webhooks v1)', () => {
  it('signs as the reference library does, with the id unchanged and the timestamp in seconds', () => {
    const at = new Date('2026-11-30T10:00:00.750Z');
    const body = '{"id":"threshold:L1:2026-11:BLOCK:1"}';
    const signed = signWebhook(SECRET, 'threshold:L1:2026-11:BLOCK:1', at, body);
    expect(signed).toEqual({ 'webhook-id': 'threshold:L1:2026-11:BLOCK:1', 'webhook-timestamp': '1796032800', 'webhook-signature': new Webhook(SECRET).sign('threshold:L1:2026-11:BLOCK:1', at, body) });
  });

  it('a signature over another body, id or secret does not match', () => {
    const at = new Date('2026-11-30T10:00:00Z');
    const base = signWebhook(SECRET, 'a', at, 'x')['webhook-signature'];
    expect(signWebhook(SECRET, 'a', at, 'y')['webhook-signature']).not.toBe(base);
    expect(signWebhook(SECRET, 'b', at, 'x')['webhook-signature']).not.toBe(base);
    expect(signWebhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, 'a', at, 'x')['webhook-signature']).not.toBe(base);
  });

  it.each([
    ['whsec_' + Buffer.alloc(24).toString('base64'), null],
    ['whsec_' + Buffer.alloc(64).toString('base64'), null],
    ['whsec_' + Buffer.alloc(23).toString('base64'), 'decodes to 23 bytes; expected 24 to 64'],
    ['secret_' + Buffer.alloc(32).toString('base64'), 'must start with whsec_'],
    ['whsec_not base64!', 'must be base64 after whsec_'],
  ])('secret %s: %s', (secret, problem) => {
    expect(webhookSecretProblem(secret)).toBe(problem);
  });
});
