import { expect } from 'vitest';
import { lineViewSchema } from '../../src/contract/queries.js';
import type { LineView } from '../../src/domain/index.js';
import type { CloudEvent } from '../../src/contract/messages.js';
import { until } from './monitoring.js';
import type { PipelineClient } from './pipeline.js';

/**
 * "After the last event of a line, the line view and the event agree" (issue 14), for any
 * suite that has run traffic or faults: once the line is quiet (nothing left in its outbox, no
 * held-back usage.updated (`usageNotice.dueAt`), no usage commit pending), the view the query answers carries the
 * figures of the last monitoring event that carries figures (usage.updated or
 * envelope.recomputed) among `events` (as a subscriber received them, in order).
 */
export async function expectViewAgreesWithLastEvent(client: PipelineClient, account: string, lineId: string, events: readonly CloudEvent[] = client.events): Promise<LineView> {
  await until(
    () => client.db.collection('lines').findOne({ _id: lineId as never }),
    (doc) => doc !== null && (doc.outbox ?? []).length === 0 && !doc.usageNotice?.dueAt && (doc.usagePending ?? []).length === 0,
  );
  const reply = await client.nc.request(`${client.prefix}.qry.line.${account}`, JSON.stringify({ clientAccountId: account, lineId }), { timeout: 5000 });
  const view = lineViewSchema.parse(reply.json());
  const last = events.filter((e) => e.subject === lineId && (e.type === 'opensim.usage.updated' || e.type === 'opensim.envelope.recomputed')).at(-1);
  if (!last) throw new Error(`no usage.updated or envelope.recomputed of line ${lineId} among ${events.length} events`);
  const d = last.data as Record<string, unknown>;
  if (last.type === 'opensim.usage.updated') {
    expect({ month: view.month, usage: view.usage, envelopeBytes: view.envelope.totalBytes, remainingBytes: view.remainingBytes, dataState: view.dataState }, `view against ${last.id}`).toEqual({
      month: d.month, usage: d.usage, envelopeBytes: d.envelopeBytes, remainingBytes: d.remainingBytes, dataState: d.dataState,
    });
  } else {
    expect({ month: view.month, envelope: view.envelope, thresholds: view.thresholds, usage: view.usage, overageExposureBytes: view.overageExposureBytes, dataState: view.dataState }, `view against ${last.id}`).toEqual({
      month: d.month, envelope: d.envelope, thresholds: d.thresholds, usage: d.usage, overageExposureBytes: d.overageExposureBytes, dataState: d.dataState,
    });
  }
  return view;
}
