import { messageId, usageRecordSchema, type UsageRecord } from '../contract/messages.js';
import { parisMonth, type Month } from '../domain/index.js';
import { lastToken } from '../messaging/subjects.js';
import { accountMismatch, readJsonBody, validateBody, validField, validValue } from '../messaging/inbound-body.js';

export type ParsedUsage =
  | { ok: true; record: UsageRecord; month: Month }
  | { ok: false; usageId: string | null; clientAccountId: string; message: string };

/** Bytes → a validated usage record and its Paris month, or why not (INVALID_PAYLOAD). Never throws. */
export function parseUsage(subject: string, body: Uint8Array, natsMsgId: string | undefined, maxBytes: number): ParsedUsage {
  const account = lastToken(subject);
  const invalid = (message: string, json?: unknown): ParsedUsage => ({ ok: false, usageId: validField(json, 'usageId', messageId) ?? validValue(natsMsgId, messageId), clientAccountId: account, message });
  const read = readJsonBody(body, maxBytes);
  if ('problem' in read) return invalid(read.problem);
  const { json } = read;
  const validated = validateBody(usageRecordSchema, json);
  if ('problem' in validated) return invalid(validated.problem, json);
  const record = validated.value;
  const mismatch = accountMismatch(record.clientAccountId, account);
  if (mismatch) return invalid(mismatch, json);
  try {
    return { ok: true, record, month: parisMonth(record.occurredAt) };
  } catch (err) {
    // The schema's date-time check is lighter than the domain's (e.g. 2026-02-30).
    return invalid(`occurredAt: ${(err as Error).message}`, json);
  }
}
