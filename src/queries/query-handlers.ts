import type { ZodType } from 'zod';
import { lineQuerySchema, planChangePreviewQuerySchema, queryError, requestQuerySchema } from '../contract/queries.js';
import { accountMismatch, readJsonBody, validateBody } from '../messaging/inbound-body.js';
import { lastToken } from '../messaging/subjects.js';
import { readLineView, type LineReadDeps } from './line-query.js';
import { readPlanChangePreview, type PreviewReadDeps } from './plan-change-preview.js';
import { readRequestStatus, type RequestReadDeps } from './request-status.js';

/**
 * The query subjects of CONTRACT.md under the prefix, and one handler per subject: parse,
 * validate, check the account, read. Handlers never write.
 */
export function querySubjects(prefix: string) {
  return { line: `${prefix}.qry.line.*`, request: `${prefix}.qry.request.*`, planChangePreview: `${prefix}.qry.plan-change-preview.*` } as const;
}

export type QueryDeps = LineReadDeps & RequestReadDeps & PreviewReadDeps;
export type QueryHandler = (deps: QueryDeps, subject: string, body: Uint8Array, maxBytes: number) => Promise<object>;

export const answerLineQuery: QueryHandler = (deps, subject, body, maxBytes) =>
  withBody(lineQuerySchema, subject, body, maxBytes, (query) => readLineView(deps, query.lineId, query.clientAccountId));

export const answerRequestQuery: QueryHandler = (deps, subject, body, maxBytes) =>
  withBody(requestQuerySchema, subject, body, maxBytes, (query) => readRequestStatus(deps, query.requestId, query.clientAccountId));

export const answerPlanChangePreview: QueryHandler = (deps, subject, body, maxBytes) =>
  withBody(planChangePreviewQuerySchema, subject, body, maxBytes, (query) => readPlanChangePreview(deps, query));

/**
 * The checks of every inbound body (src/messaging/inbound-body.ts): size, UTF-8 JSON, schema,
 * then the body's account against the subject's. CONTRACT.md's reason table names an account
 * disagreement INVALID_PAYLOAD; TENANT_MISMATCH is for a line or request of another account.
 */
async function withBody<T extends { clientAccountId: string }>(schema: ZodType<T>, subject: string, body: Uint8Array, maxBytes: number, read: (query: T) => Promise<object>): Promise<object> {
  const parsed = readJsonBody(body, maxBytes);
  if ('problem' in parsed) return queryError('INVALID_PAYLOAD', parsed.problem);
  const valid = validateBody(schema, parsed.json);
  if ('problem' in valid) return queryError('INVALID_PAYLOAD', valid.problem);
  const mismatch = accountMismatch(valid.value.clientAccountId, lastToken(subject));
  if (mismatch) return queryError('INVALID_PAYLOAD', mismatch);
  return read(valid.value);
}
