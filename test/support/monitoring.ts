import { headers, type ConsumerMessages } from 'nats';
import type { CloudEvent } from '../../src/contract/messages.js';
import type { UsageRecord } from '../../src/contract/messages.js';
import { naming } from '../../src/messaging/subjects.js';
import type { PipelineClient } from './pipeline.js';

export const GiB = 2 ** 30;

/**
 * The monitoring events as a dashboard with a JetStream consumer sees them: read from the
 * `<PREFIX>_EVENTS` stream (an ordered consumer on `<prefix>.mon.>`), so each event once, in the
 * order stored, whatever was re-published (CONTRACT.md: consumers deduplicate on the id;
 * JetStream does it for stream consumers).
 */
export class MonitoringFeed {
  readonly events: CloudEvent[] = [];
  private constructor(private readonly messages: ConsumerMessages) {}

  static async open(client: PipelineClient): Promise<MonitoringFeed> {
    await client.ensureStreams();
    const consumer = await client.nc.jetstream().consumers.get(naming(client.prefix).eventStream, { filterSubjects: [`${client.prefix}.mon.>`] });
    const feed = new MonitoringFeed(await consumer.consume());
    void (async () => {
      for await (const m of feed.messages) feed.events.push(m.json<CloudEvent>());
    })();
    return feed;
  }

  ofLine(lineId: string, type?: string): CloudEvent[] {
    return this.events.filter((e) => e.subject === lineId && (type === undefined || e.type === type));
  }

  async waitFor(predicate: (e: CloudEvent) => boolean, count = 1, timeoutMs = 20_000): Promise<CloudEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.filter(predicate);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`expected ${count} matching monitoring events, saw ${found.length}; last events:\n${this.events.slice(-30).map((e) => `${e.type} ${e.id}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    await this.messages.close();
  }
}

export function usageRecord(account: string, lineId: string, usageId: string, bytes: number, occurredAt: string, extra: Partial<UsageRecord> = {}): UsageRecord {
  return { usageId, clientAccountId: account, lineId, zone: 'FR', bytes, occurredAt, ...extra };
}

/** Publishes usage records to JetStream, `inFlight` at a time; `msgId(record)` sets Nats-Msg-Id (`null`: none). */
export async function publishUsage(client: PipelineClient, records: readonly UsageRecord[], msgId: (r: UsageRecord) => string | null = (r) => r.usageId, inFlight = 1000): Promise<void> {
  const js = client.nc.jetstream();
  for (let i = 0; i < records.length; i += inFlight) {
    await Promise.all(
      records.slice(i, i + inFlight).map((record) => {
        const h = headers();
        const id = msgId(record);
        if (id) h.set('Nats-Msg-Id', id);
        return js.publish(`${client.prefix}.usage.${record.clientAccountId}`, JSON.stringify(record), { headers: h });
      }),
    );
  }
}

/** Polls until `probe` holds; fails with the last value seen. */
export async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Usage claims counted (marked applied, or inserted by a settled batch attempt), among those matching `filter`. */
export async function countedClaims(client: PipelineClient, filter: Record<string, unknown> = {}): Promise<number> {
  const claims = await client.db.collection('usage').find(filter, { projection: { attempt: 1, applied: 1, rejected: 1 } }).toArray();
  const settled = new Set((await client.db.collection('usageAttempts').find({}, { projection: { _id: 1 } }).toArray()).map((a) => String(a._id)));
  return claims.filter((claim) => claim.rejected === undefined && (claim.applied === true || settled.has(String(claim.attempt)))).length;
}
