import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { headers } from 'nats';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { clockStartingAt } from '../../src/runtime/clock.js';
import { evaluateThresholds, openMonth, type Product } from '../../src/domain/index.js';
import { GiB, until } from '../support/monitoring.js';
import { CATALOG, fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { parsePrometheus, sumOf } from '../support/prometheus.js';

const ACC = 'HOOK';
const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const CAP = 3;

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  lineId: string;
}

/** A receiver that answers per line: `statusOf(lineId)`. */
async function receiver(statusOf: (lineId: string) => number): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const lineId = String((JSON.parse(raw) as { lineId: string }).lineId);
      received.push({ headers: req.headers, raw, lineId });
      res.statusCode = statusOf(lineId);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

describe('alert webhook: signed, a 4xx dead-lettered at once, a 5xx retried up to the cap', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    await system?.stop();
    await client?.cleanup();
    server?.close();
  });

  it('410 → one POST, WEBHOOK_REJECTED; 503 → exactly OPENSIM_ALERTS_WEBHOOK_MAX_ATTEMPTS POSTs, then RETRIES_EXHAUSTED; every POST verifies with standardwebhooks; counted', async () => {
    const gone = `${ACC}-L0`;
    const down = `${ACC}-L1`;
    const hook = await receiver((lineId) => (lineId === gone ? 410 : 503));
    server = hook.server;
    const env = isolatedEnv({ OPENSIM_ALERTS_WEBHOOK_URL: hook.url, OPENSIM_ALERTS_WEBHOOK_SECRET: SECRET, OPENSIM_ALERTS_WEBHOOK_MAX_ATTEMPTS: String(CAP) });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 2, []));
    // Each line's November record: 20.5 GiB used on 20 GiB, decided blocked.
    const products = Object.fromEntries(CATALOG.products.map((p) => [p.productRef, p as Product]));
    for (const lineId of [gone, down]) {
      const line = await client.db.collection('lines').findOne({ _id: lineId as never });
      const november = evaluateThresholds({ ...openMonth({ lineId, clientAccountId: ACC, planHistory: line!.line.planHistory, products }, '2026-11'), usage: { frBytes: 20.5 * GiB, euBytes: 0, spendCents: 0 } }).record;
      await client.db.collection('lines').updateOne({ _id: lineId as never }, { $set: { month: november }, $inc: { version: 1 } });
    }
    system = await startInProcess(env, { clock: clockStartingAt('2026-11-20T10:00:00+01:00') });

    const crossingOf = (lineId: string) => ({
      specversion: '1.0',
      id: `threshold:${lineId}:2026-11:BLOCK:1`,
      source: 'urn:opensim:test',
      type: 'opensim.threshold.crossed',
      time: new Date().toISOString(),
      subject: lineId,
      datacontenttype: 'application/json',
      data: { lineId, clientAccountId: ACC, month: '2026-11', threshold: 'BLOCK', limit: 20 * GiB, value: 20.5 * GiB },
    });
    for (const lineId of [gone, down]) {
      const h = headers();
      h.set('Nats-Msg-Id', crossingOf(lineId).id);
      await client.nc.jetstream().publish(`${client.prefix}.mon.${ACC}.${lineId}`, JSON.stringify(crossingOf(lineId)), { headers: h });
    }

    const letters = client.db.collection('deadLetters');
    const rejected = await until(() => letters.findOne({ _id: `warning:${crossingOf(gone).id}` as never }), (l) => l !== null);
    expect(rejected).toMatchObject({ kind: 'warning', reason: 'WEBHOOK_REJECTED', clientAccountId: ACC, subject: `${client.prefix}.mon.${ACC}.${gone}`, attempts: 1 });
    expect(JSON.parse(String(rejected!.payload))).toMatchObject({ id: crossingOf(gone).id, type: 'opensim.threshold.crossed' });
    // 1 s then 2 s between the three attempts.
    const exhausted = await until(() => letters.findOne({ _id: `warning:${crossingOf(down).id}` as never }), (l) => l !== null, 20_000);
    expect(exhausted).toMatchObject({ kind: 'warning', reason: 'RETRIES_EXHAUSTED', attempts: CAP });
    await new Promise((r) => setTimeout(r, 1500));
    expect(hook.received.filter((r) => r.lineId === gone)).toHaveLength(1);
    expect(hook.received.filter((r) => r.lineId === down)).toHaveLength(CAP);
    expect(await client.db.collection('notifications').countDocuments({})).toBe(0);

    // Signed with the real time; one webhook-id per warning, on every attempt.
    const verifier = new Webhook(SECRET);
    for (const r of hook.received) {
      expect(verifier.verify(r.raw, r.headers as Record<string, string>)).toMatchObject({ lineId: r.lineId, threshold: 'BLOCK' });
      expect(r.headers['webhook-id']).toBe(crossingOf(r.lineId).id);
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    const other = new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`);
    expect(() => other.verify(hook.received[0]!.raw, hook.received[0]!.headers as Record<string, string>)).toThrow(WebhookVerificationError);

    const samples = parsePrometheus((await system.metrics.render()).body);
    const deliveries = (result: string) => sumOf(samples, 'opensim_webhook_deliveries_total', { result });
    expect({ delivered: deliveries('delivered'), retried: deliveries('retried'), rejected: deliveries('rejected'), exhausted: deliveries('exhausted') }).toEqual({ delivered: 0, retried: CAP - 1, rejected: 1, exhausted: 1 });
    expect(sumOf(samples, 'opensim_dead_lettered_total', { reason: 'WEBHOOK_REJECTED' })).toBe(1);
    expect(sumOf(samples, 'opensim_dead_lettered_total', { reason: 'RETRIES_EXHAUSTED' })).toBe(1);
    // Enforcement is not held back by the webhook: both lines are blocked.
    const lines = await client.db.collection('lines').find({}, { projection: { enforcement: 1 } }).toArray();
    expect(lines.map((l) => l.enforcement?.state)).toEqual(['blocked', 'blocked']);
  }, 60_000);
});
