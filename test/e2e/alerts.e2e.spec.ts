import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { headers } from 'nats';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateThresholds, openMonth, type Product } from '../../src/domain/index.js';
import { spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { GiB, MonitoringFeed, until } from '../support/monitoring.js';
import { CATALOG, fleet, isolatedEnv, PipelineClient } from '../support/pipeline.js';

const ACC = 'ALERT';
const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const LINE = `${ACC}-L0`;

/** A webhook receiver: answers each request with the next status of `statuses` (then 200), and keeps what it got. */
async function webhook(statuses: number[]): Promise<{ server: Server; url: string; received: { headers: IncomingHttpHeaders; raw: string; body: Record<string, unknown> }[] }> {
  const received: { headers: IncomingHttpHeaders; raw: string; body: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: body, body: JSON.parse(body) as Record<string, unknown> });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`, received };
}

/**
 * `opensim alerts` on its own (no intake, no workers): it consumes the monitoring events of the
 * stream with its own durable consumer, warns through the webhook adapter, blocks the line in
 * MongoDB and announces it. The test plays the pipeline: it stores the line's November record
 * (20.5 GiB used on 20 GiB, decided blocked) and publishes the BLOCK crossing.
 */
describe('opensim alerts, alone, with the webhook adapter', () => {
  let client: PipelineClient | undefined;
  let feed: MonitoringFeed | undefined;
  let running: OpensimProcess | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    await running?.kill('SIGKILL');
    await feed?.close();
    await client?.cleanup();
    server?.close();
  });

  it('given a BLOCK crossing, then the user is warned once through the webhook (retried after a 503), the line is blocked once, and the same event published again changes nothing', async () => {
    const hook = await webhook([503]);
    server = hook.server;
    const env = isolatedEnv({ OPENSIM_ALERTS_WEBHOOK_URL: hook.url, OPENSIM_ALERTS_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'info' });
    client = await PipelineClient.open(env);
    const seeded = fleet(ACC, 1, []);
    await client.seed({ ...seeded, lines: [{ ...seeded.lines[0]!, msisdn: '+33698765432' }] });
    const line = await client.db.collection('lines').findOne({ _id: LINE as never });
    const products = Object.fromEntries(CATALOG.products.map((p) => [p.productRef, p as Product]));
    const november = evaluateThresholds({ ...openMonth({ lineId: LINE, clientAccountId: ACC, planHistory: line!.line.planHistory, products }, '2026-11'), usage: { frBytes: 20.5 * GiB, euBytes: 0, spendCents: 0 } }).record;
    await client.db.collection('lines').updateOne({ _id: LINE as never }, { $set: { month: november }, $inc: { version: 1 } });
    feed = await MonitoringFeed.open(client);

    running = spawnOpensim(['alerts'], env);
    await running.waitForLog((l) => l.msg === 'threshold alerts consuming');
    const crossing = {
      specversion: '1.0',
      id: `threshold:${LINE}:2026-11:BLOCK:1`,
      source: 'urn:opensim:test',
      type: 'opensim.threshold.crossed',
      time: new Date().toISOString(),
      subject: LINE,
      datacontenttype: 'application/json',
      data: { lineId: LINE, clientAccountId: ACC, month: '2026-11', threshold: 'BLOCK', limit: 20 * GiB, value: 20.5 * GiB },
    };
    const publish = (msgId: string) => {
      const h = headers();
      h.set('Nats-Msg-Id', msgId);
      return client!.nc.jetstream().publish(`${client!.prefix}.mon.${ACC}.${LINE}`, JSON.stringify(crossing), { headers: h });
    };
    await publish(crossing.id);

    const [blocked] = await feed.waitFor((e) => e.type === 'opensim.line.data-state.changed' && e.subject === LINE);
    expect(blocked!).toMatchObject({ id: `data-state:${LINE}:2026-11:alert:${crossing.id}`, data: { from: 'normal', to: 'blocked', reason: 'BLOCK', month: '2026-11' } });
    const notification = await until(() => client!.db.collection('notifications').findOne({ _id: crossing.id as never }), (n) => n !== null);
    expect(notification).toMatchObject({ channel: 'webhook', lineId: LINE, to: '+33698765432', threshold: 'BLOCK' });
    // The first POST got a 503: the event came back and the second one went through, with the same key.
    expect(hook.received.map((r) => r.headers['idempotency-key'])).toEqual([crossing.id, crossing.id]);
    // Signed per Standard Webhooks, with the same webhook-id on both attempts (the reference library verifies it).
    expect(hook.received.map((r) => r.headers['webhook-id'])).toEqual([crossing.id, crossing.id]);
    for (const r of hook.received) expect(new Webhook(SECRET).verify(r.raw, r.headers as Record<string, string>)).toEqual(r.body);
    expect(hook.received[1]!.body).toMatchObject({ id: crossing.id, to: '+33698765432', threshold: 'BLOCK', text: "OpenSIM : seuil de blocage atteint (20,0 Gio) : la data est bloquée jusqu'à la fin de novembre 2026." });

    // Published again past JetStream's duplicate window (another message id): acted on already, nothing more.
    await publish(`${crossing.id}#again`);
    await running.waitForLog((l) => l.msg === 'line user warned' && l.eventId === crossing.id && running!.logs.filter((x) => x.msg === 'line user warned').length === 2);
    expect(hook.received).toHaveLength(2);
    expect(feed.events.filter((e) => e.type === 'opensim.line.data-state.changed')).toHaveLength(1);
    const after = await client.db.collection('lines').findOne({ _id: LINE as never });
    expect(after!.enforcement).toMatchObject({ state: 'blocked', reason: 'BLOCK', actedOn: [crossing.id] });
    expect(await client.db.collection('notifications').countDocuments({})).toBe(1);

    expect(await running.kill('SIGTERM')).toBe(0);
  }, 60_000);
});
