/**
 * Generates docs/asyncapi.json (AsyncAPI 3.0.0) from the zod schemas, so the document is never
 * written by hand: inbound bodies from src/contract/messages.ts, outbound event data from
 * src/contract/events.ts (held equal to the domain's interfaces by test/asyncapi.unit.spec.ts).
 *
 *   npx tsx scripts/asyncapi.ts           # write docs/asyncapi.json
 *   npx tsx scripts/asyncapi.ts --check   # exit 1 if docs/asyncapi.json is not what would be written
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { eventDataSchemas } from '../src/contract/events.js';
import { cloudEventSchema, planChangeCancelSchema, planChangeRequestSchema, resourceOrderSchema, usageRecordSchema } from '../src/contract/messages.js';
import type { EventType } from '../src/domain/index.js';
import { queryParts } from './asyncapi-queries.js';

export const ASYNCAPI_PATH = fileURLToPath(new URL('../docs/asyncapi.json', import.meta.url));

type Json = Record<string, unknown>;

/** JSON Schema (draft-07, which AsyncAPI schemas extend) of what a sender may put on the wire. */
function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Json;
  return rest;
}

const ref = (path: string) => ({ $ref: `#/${path}` });

const ACCOUNT_PARAMETER = { description: 'The client account (tenant): `^[A-Za-z0-9_-]{1,64}$`. Equals the `clientAccountId` of the body.' };
const LINE_PARAMETER = { description: 'The line: `^[A-Za-z0-9_-]{1,64}$`. Equals the `lineId` of the event data.' };

/** W3C trace context headers (docs/operations.md, "Tracing"): read from commands, set on events, while the service traces. */
const TRACE_HEADERS_IN = {
  traceparent: { type: 'string', description: 'Optional, W3C trace context: the intake continues this trace while the service traces (OTEL_* variables); the outcome event carries the same trace id.' },
  tracestate: { type: 'string', description: 'Optional, W3C tracestate, carried along with traceparent.' },
};
const TRACE_HEADERS_OUT = {
  traceparent: { type: 'string', description: "While the service traces (OTEL_* variables): the W3C trace context the event was decided in, equal to the CloudEvent's traceparent attribute." },
  tracestate: { type: 'string', description: "With traceparent, when the trace has a tracestate: equal to the CloudEvent's tracestate attribute." },
};

interface InboundSpec {
  name: string;
  channel: string;
  schema: z.ZodType;
  idField: string;
  summary: string;
  description?: string;
}

const INBOUND: InboundSpec[] = [
  {
    name: 'PlanChangeRequest',
    channel: 'planChangeCommands',
    schema: planChangeRequestSchema,
    idField: 'requestId',
    summary: 'Change the plan of a line ("Changer la ressource"), at once or at effectiveAt.',
    description:
      'Outcome on opensim.evt.plan-change.{clientAccountId}: applied, rejected (reason) or failed. With a future effectiveAt: scheduled at once (the target reserved), then exactly one final outcome: applied or rejected when due (the rules checked again), or cancelled. Each requestId takes effect at most once.',
  },
  {
    name: 'PlanChangeCancel',
    channel: 'planChangeCancelCommands',
    schema: planChangeCancelSchema,
    idField: 'cancelId',
    summary: 'Cancel a scheduled plan change before it is applied.',
    description:
      'Outcome on opensim.evt.plan-change.{clientAccountId}: plan-change-cancel.applied, with plan-change.cancelled as the final outcome of the scheduled request (its target released), or plan-change-cancel.rejected (INVALID_PAYLOAD, TENANT_MISMATCH, NOT_SCHEDULED). A cancel and the application when due are decided on the line by one guarded write: exactly one of them wins.',
  },
  {
    name: 'ResourceOrder',
    channel: 'resourceOrderCommands',
    schema: resourceOrderSchema,
    idField: 'orderId',
    summary: 'A plan ordered upstream, to become an available resource of the service.',
    description: 'Outcome on opensim.evt.resource-order.{clientAccountId}: applied or rejected.',
  },
  {
    name: 'UsageRecord',
    channel: 'usageReports',
    schema: usageRecordSchema,
    idField: 'usageId',
    summary: 'Data used by a line in a zone (FR or EU), with its cost.',
    description:
      'Addition to CONTRACT.md (docs/domain.md): a usage report that is refused (INVALID_PAYLOAD, UNKNOWN_LINE, TENANT_MISMATCH) emits no event; an accepted one is counted once per usageId, whatever is redelivered, and emits opensim.threshold.crossed for the thresholds it crosses and opensim.usage.updated (coalesced: at most one per line per OPENSIM_USAGE_UPDATED_INTERVAL_MS, the last one always sent) on opensim.mon.{clientAccountId}.{lineId}.',
  },
];

interface OutboundSpec {
  type: EventType;
  summary: string;
  addition?: string;
}

const PLAN_CHANGE_EVENTS: OutboundSpec[] = [
  { type: 'opensim.plan-change.applied', summary: 'The plan change took effect; carries the recomputed envelope of the month.' },
  {
    type: 'opensim.plan-change.rejected',
    summary: 'A rule refused the plan change, or the message was invalid (INVALID_PAYLOAD).',
  },
  { type: 'opensim.plan-change.failed', summary: 'Retries exhausted; the request is dead-lettered for operations.' },
  { type: 'opensim.plan-change.scheduled', summary: 'The rules passed now; the change waits for its effectiveAt, its target reserved for the line.' },
  { type: 'opensim.plan-change.cancelled', summary: 'The final outcome of a scheduled request that a cancel removed; its target is released.' },
  { type: 'opensim.plan-change-cancel.applied', summary: 'The cancel removed the scheduled change.' },
  {
    type: 'opensim.plan-change-cancel.rejected',
    summary: 'The cancel was refused: INVALID_PAYLOAD, TENANT_MISMATCH, or NOT_SCHEDULED (unknown, applied, rejected or cancelled request).',
  },
];
const RESOURCE_ORDER_EVENTS: OutboundSpec[] = [
  {
    type: 'opensim.resource-order.applied',
    summary: 'The ordered resource exists, available to the service.',
    addition: 'Addition to CONTRACT.md (docs/domain.md): CONTRACT.md names the event type but not its data.',
  },
  {
    type: 'opensim.resource-order.rejected',
    summary: 'The order was refused.',
    addition: 'Addition to CONTRACT.md (docs/domain.md): data shape and the reasons UNKNOWN_SERVICE, UNKNOWN_PRODUCT, RESOURCE_CONFLICT.',
  },
];
const MONITORING_EVENTS: OutboundSpec[] = [
  { type: 'opensim.envelope.recomputed', summary: 'The envelope of the month, after a plan change, at month start or at activation.' },
  { type: 'opensim.usage.updated', summary: 'Usage of the month after usage reports: at most one per line per interval, the last one always sent.' },
  { type: 'opensim.threshold.crossed', summary: 'A threshold reached: ENVELOPE_80, ENVELOPE_100 (warn), REDUCTION (throttle), BLOCK, COST_CAP (block).' },
  {
    type: 'opensim.line.data-state.changed',
    summary: 'The data state of the line changed (normal, reduced, blocked).',
    addition: 'Addition to CONTRACT.md (docs/domain.md): the `reason` values REDUCTION, BLOCK, COST_CAP, PLAN_CHANGE, MONTH_START. Published by the threshold-alert consumer when the enforced data state changes (never by the decision that crossed the threshold), with the id data-state:{lineId}:{month}:alert:{id of the event acted on}.',
  },
];

/** `opensim.plan-change.applied` → `PlanChangeApplied`. */
function messageName(type: EventType): string {
  return type
    .replace(/^opensim\./, '')
    .split(/[.-]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

function inboundMessage(spec: InboundSpec): Json {
  return {
    name: spec.name,
    title: spec.name,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    contentType: 'application/json',
    headers: {
      type: 'object',
      properties: {
        'Nats-Msg-Id': { type: 'string', description: `Set by the publisher to the body's \`${spec.idField}\`: JetStream drops duplicates. A message republished by \`opensim dlq retry\` carries \`retry:<dead letter id>:<n>\` instead.` },
        'Opensim-Retry-Of': { type: 'string', description: 'Only on a message republished by `opensim dlq retry`: the id of the dead letter it came from. The body is the original, byte for byte.' },
        // Commands only: usage records are taken in by batch, and continue no trace.
        ...(spec.name === 'UsageRecord' ? {} : TRACE_HEADERS_IN),
      },
      required: ['Nats-Msg-Id'],
    },
    payload: ref(`components/schemas/${spec.name}`),
  };
}

function outboundMessage(spec: OutboundSpec): Json {
  return {
    name: messageName(spec.type),
    title: spec.type,
    summary: spec.summary,
    ...(spec.addition ? { description: spec.addition, 'x-addition': true } : {}),
    contentType: 'application/cloudevents+json',
    headers: ref('components/schemas/CloudEventHeaders'),
    payload: ref(`components/schemas/${messageName(spec.type)}Event`),
  };
}

/** The CloudEvent envelope whose `type` is `type` and whose `data` is that type's data. */
function eventSchema(type: EventType): Json {
  const envelope = cloudEventSchema.extend({ type: z.literal(type), data: eventDataSchemas[type] }).meta({
    title: `${messageName(type)}Event`,
    description: `CloudEvents 1.0, JSON structured mode, of type ${type}. A re-published event keeps its id: consumers deduplicate on it.`,
  });
  return jsonSchema(envelope);
}

function channel(address: string, description: string, parameters: Json, messages: string[]): Json {
  return {
    address,
    description,
    parameters,
    messages: Object.fromEntries(messages.map((name) => [name, ref(`components/messages/${name}`)])),
  };
}

function operation(action: 'send' | 'receive', channelId: string, messages: string[], summary: string): Json {
  return {
    action,
    summary,
    channel: ref(`channels/${channelId}`),
    messages: messages.map((name) => ref(`channels/${channelId}/messages/${name}`)),
  };
}

/** The AsyncAPI 3.0.0 document of the project's NATS interface. */
export function buildAsyncApi(): Json {
  const names = (specs: OutboundSpec[]) => specs.map((spec) => messageName(spec.type));
  const outbound = [...PLAN_CHANGE_EVENTS, ...RESOURCE_ORDER_EVENTS, ...MONITORING_EVENTS];
  const account = { clientAccountId: ACCOUNT_PARAMETER };
  const queries = queryParts({ jsonSchema, ref, accountParameter: ACCOUNT_PARAMETER });
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'OpenSIM plan changes',
      version: packageVersion(),
      description: [
        'Plan-change requests (at once or scheduled), their cancels, resource orders and usage reports in; outcomes and monitoring events out; queries answered (CONTRACT.md).',
        'Subjects start with the prefix `opensim` (env OPENSIM_SUBJECT_PREFIX). Inbound subjects are captured by a JetStream stream.',
        'Every inbound message gets exactly one outcome: applied, rejected (a rule said no) or failed (retries exhausted).',
        'Elements marked `x-addition: true` are this project\'s additions to CONTRACT.md (docs/domain.md); contract names are never renamed.',
        'Generated by scripts/asyncapi.ts from the zod schemas; do not edit.',
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:4222', protocol: 'nats', description: 'NATS with JetStream (env NATS_URL).' },
    },
    channels: {
      planChangeCommands: channel('opensim.cmd.plan-change.{clientAccountId}', 'Plan-change requests of a client account.', account, ['PlanChangeRequest']),
      planChangeCancelCommands: channel('opensim.cmd.plan-change-cancel.{clientAccountId}', 'Cancels of scheduled plan changes of a client account.', account, ['PlanChangeCancel']),
      resourceOrderCommands: channel('opensim.cmd.resource-order.{clientAccountId}', 'Resource orders of a client account.', account, ['ResourceOrder']),
      usageReports: channel('opensim.usage.{clientAccountId}', 'Usage reports of a client account.', account, ['UsageRecord']),
      planChangeEvents: channel('opensim.evt.plan-change.{clientAccountId}', 'Outcomes of plan-change requests and of their cancels.', account, names(PLAN_CHANGE_EVENTS)),
      resourceOrderEvents: channel('opensim.evt.resource-order.{clientAccountId}', 'Outcomes of resource orders.', account, names(RESOURCE_ORDER_EVENTS)),
      monitoring: channel(
        'opensim.mon.{clientAccountId}.{lineId}',
        'Monitoring of a line: envelope, usage, thresholds, data state.',
        { ...account, lineId: LINE_PARAMETER },
        names(MONITORING_EVENTS),
      ),
      ...queries.channels,
    },
    operations: {
      receivePlanChangeRequest: operation('receive', 'planChangeCommands', ['PlanChangeRequest'], 'Decide a plan-change request.'),
      receivePlanChangeCancel: operation('receive', 'planChangeCancelCommands', ['PlanChangeCancel'], 'Decide a cancel of a scheduled plan change.'),
      receiveResourceOrder: operation('receive', 'resourceOrderCommands', ['ResourceOrder'], 'Record an ordered resource.'),
      receiveUsageRecord: operation('receive', 'usageReports', ['UsageRecord'], 'Add usage to the month of a line and evaluate its thresholds.'),
      sendPlanChangeOutcome: operation('send', 'planChangeEvents', names(PLAN_CHANGE_EVENTS), 'Publish the outcome of a plan-change request.'),
      sendResourceOrderOutcome: operation('send', 'resourceOrderEvents', names(RESOURCE_ORDER_EVENTS), 'Publish the outcome of a resource order.'),
      sendMonitoringEvent: operation('send', 'monitoring', names(MONITORING_EVENTS), 'Publish the monitoring events of a line.'),
      ...queries.operations,
    },
    components: {
      schemas: {
        ...Object.fromEntries(INBOUND.map((spec) => [spec.name, jsonSchema(spec.schema)])),
        ...Object.fromEntries(outbound.map((spec) => [`${messageName(spec.type)}Event`, eventSchema(spec.type)])),
        ...queries.schemas,
        CloudEventHeaders: {
          type: 'object',
          properties: { 'Nats-Msg-Id': { type: 'string', description: "The CloudEvent's id: JetStream and consumers deduplicate on it." }, ...TRACE_HEADERS_OUT },
          required: ['Nats-Msg-Id'],
        },
      },
      messages: {
        ...Object.fromEntries(INBOUND.map((spec) => [spec.name, inboundMessage(spec)])),
        ...Object.fromEntries(outbound.map((spec) => [messageName(spec.type), outboundMessage(spec)])),
        ...queries.messages,
      },
    },
  };
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The text written to docs/asyncapi.json. */
export function renderAsyncApi(): string {
  return `${JSON.stringify(buildAsyncApi(), null, 2)}\n`;
}

function main(args: string[]): number {
  const text = renderAsyncApi();
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(ASYNCAPI_PATH, 'utf8');
    } catch {
      // missing: reported as stale below
    }
    if (current === text) return 0;
    process.stderr.write(`${ASYNCAPI_PATH} is stale: run npx tsx scripts/asyncapi.ts\n`);
    return 1;
  }
  writeFileSync(ASYNCAPI_PATH, text);
  process.stdout.write(`wrote ${ASYNCAPI_PATH}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
