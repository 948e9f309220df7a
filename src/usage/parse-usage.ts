import { messageId, usageRecordSchema, type UsageRecord } from '../contract/messages.js';
import { parisMonth, type Month } from '../domain/index.js';
import { lastToken } from '../messaging/subjects.js';

export type ParsedUsage =
  | { ok: true; record: UsageRecord; month: Month }
  | { ok: false; usageId: string | null; clientAccountId: string; message: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes → a validated usage record and its Paris month, or why not (INVALID_PAYLOAD). Never throws. */
export function parseUsage(subject: string, body: Uint8Array, natsMsgId: string | undefined, maxBytes: number): ParsedUsage {
  const account = lastToken(subject);
  const invalid = (message: string, json?: unknown): ParsedUsage => ({ ok: false, usageId: idOf(json) ?? valid(natsMsgId), clientAccountId: account, message });
  if (body.byteLength > maxBytes) return invalid(`message is ${body.byteLength} bytes, over the limit of ${maxBytes}`);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (err) {
    return invalid(`not UTF-8 JSON: ${(err as Error).message}`);
  }
  const parsed = usageRecordSchema.safeParse(json);
  if (!parsed.success) return invalid(parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '), json);
  if (parsed.data.clientAccountId !== account) {
    return invalid(`clientAccountId '${parsed.data.clientAccountId}' differs from the subject's account '${account}'`, json);
  }
  try {
    return { ok: true, record: parsed.data, month: parisMonth(parsed.data.occurredAt) };
  } catch (err) {
    // The schema's date-time check is lighter than the domain's (e.g. 2026-02-30).
    return invalid(`occurredAt: ${(err as Error).message}`, json);
  }
}

function idOf(json: unknown): string | null {
  return typeof json === 'object' && json !== null ? valid((json as Record<string, unknown>).usageId) : null;
}

function valid(value: unknown): string | null {
  return messageId.safeParse(value).success ? (value as string) : null;
}
