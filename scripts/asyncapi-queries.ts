/**
 * The query part of docs/asyncapi.json (CONTRACT.md, "Queries"): NATS request-reply. Each query
 * subject is a channel the system receives on; its reply goes to the asker's reply subject, a
 * channel without a fixed address. Built from the zod schemas of src/contract/queries.ts by
 * scripts/asyncapi.ts, with its helpers passed in.
 */
import type { z } from 'zod';
import {
  lineQuerySchema,
  lineViewSchema,
  planChangePreviewQuerySchema,
  planChangePreviewSchema,
  queryErrorSchema,
  requestQuerySchema,
  requestStatusSchema,
} from '../src/contract/queries.js';

type Json = Record<string, unknown>;

interface QuerySpec {
  id: string;
  address: string;
  query: { name: string; schema: z.ZodType };
  answer: { name: string; schema: z.ZodType };
  summary: string;
}

const QUERIES: QuerySpec[] = [
  {
    id: 'lineQueries',
    address: 'opensim.qry.line.{clientAccountId}',
    query: { name: 'LineQuery', schema: lineQuerySchema },
    answer: { name: 'LineView', schema: lineViewSchema },
    summary: 'The current view of a line of the account (envelope, usage, thresholds, data state), derived from the line as stored.',
  },
  {
    id: 'requestQueries',
    address: 'opensim.qry.request.{clientAccountId}',
    query: { name: 'RequestQuery', schema: requestQuerySchema },
    answer: { name: 'RequestStatus', schema: requestStatusSchema },
    summary: 'What became of a plan-change request of the account: pending, applied, rejected, failed, unknown (scheduled, cancelled).',
  },
  {
    id: 'planChangePreviewQueries',
    address: 'opensim.qry.plan-change-preview.{clientAccountId}',
    query: { name: 'PlanChangePreviewQuery', schema: planChangePreviewQuerySchema },
    answer: { name: 'PlanChangePreview', schema: planChangePreviewSchema },
    summary:
      'What a plan change would do, at once or at effectiveAt: the decision (applied, scheduled, or rejected with the reason, UNKNOWN_LINE and TENANT_MISMATCH included), the envelope, thresholds, usage, overage exposure and data state after it, and the thresholds it would cross at once. Computed by the domain code of the real change on the current state.',
  },
];

const ERROR = { name: 'QueryError', schema: queryErrorSchema };
const DESCRIPTION =
  'NATS request-reply: publish the body with a reply subject (nats request). The account in the body must equal the subject\'s last token (else INVALID_PAYLOAD). One JSON object answers: the reply, or {"error": {code, message}}. Queries never write and publish nothing.';

interface Helpers {
  jsonSchema(schema: z.ZodType): Json;
  ref(path: string): Json;
  accountParameter: Json;
}

export function queryParts({ jsonSchema, ref, accountParameter }: Helpers): { channels: Json; operations: Json; schemas: Json; messages: Json } {
  const message = (spec: { name: string }, summary: string) => ({ name: spec.name, title: spec.name, summary, contentType: 'application/json', payload: ref(`components/schemas/${spec.name}`) });
  const channels: Json = {};
  const operations: Json = {};
  const schemas: Json = { [ERROR.name]: jsonSchema(ERROR.schema) };
  const messages: Json = { [ERROR.name]: message(ERROR, 'A refused query: INVALID_PAYLOAD, TENANT_MISMATCH, UNKNOWN_LINE, or UNAVAILABLE (addition: the store did not answer; ask again).') };
  for (const spec of QUERIES) {
    const replies = `${spec.id.replace(/Queries$/, '')}Replies`;
    channels[spec.id] = { address: spec.address, description: `${spec.summary} ${DESCRIPTION}`, parameters: { clientAccountId: accountParameter }, messages: { [spec.query.name]: ref(`components/messages/${spec.query.name}`) } };
    channels[replies] = {
      address: null,
      description: `Replies to ${spec.address}: the asker's reply subject (its inbox).`,
      messages: { [spec.answer.name]: ref(`components/messages/${spec.answer.name}`), [ERROR.name]: ref(`components/messages/${ERROR.name}`) },
    };
    operations[`reply${spec.query.name}`] = {
      action: 'receive',
      summary: spec.summary,
      channel: ref(`channels/${spec.id}`),
      messages: [ref(`channels/${spec.id}/messages/${spec.query.name}`)],
      reply: { channel: ref(`channels/${replies}`), messages: [ref(`channels/${replies}/messages/${spec.answer.name}`), ref(`channels/${replies}/messages/${ERROR.name}`)] },
    };
    schemas[spec.query.name] = jsonSchema(spec.query.schema);
    schemas[spec.answer.name] = jsonSchema(spec.answer.schema);
    messages[spec.query.name] = message(spec.query, spec.summary);
    messages[spec.answer.name] = message(spec.answer, `The reply to ${spec.address}.`);
  }
  return { channels, operations, schemas, messages };
}
