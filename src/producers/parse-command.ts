import type { ZodType } from 'zod';
import { messageId, planChangeRequestSchema, resourceOrderSchema, subjectToken } from '../contract/messages.js';
import type { CommandJob } from '../workers/command-queues.js';
import { lastToken } from '../messaging/subjects.js';

export type CommandKind = CommandJob['kind'];

export type ParsedCommand =
  | { ok: true; job: CommandJob }
  | {
      ok: false;
      kind: CommandKind;
      /** From the body if it carries a valid one, else the Nats-Msg-Id header, else null (CONTRACT.md). */
      messageId: string | null;
      clientAccountId: string;
      lineId: string | null;
      message: string;
    };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes → a validated command, or why not (INVALID_PAYLOAD). Never throws. */
export function parseCommand(
  kind: CommandKind,
  subject: string,
  body: Uint8Array,
  natsMsgId: string | undefined,
  receivedAt: string,
  maxBytes: number,
): ParsedCommand {
  const account = lastToken(subject);
  const invalid = (message: string, json?: unknown): ParsedCommand => ({
    ok: false,
    kind,
    messageId: pick(json, kind === 'plan-change' ? 'requestId' : 'orderId', messageId) ?? pickValid(natsMsgId, messageId),
    clientAccountId: account,
    lineId: kind === 'plan-change' ? pick(json, 'lineId', subjectToken) : null,
    message,
  });
  // Refused before parsing: a huge body costs nothing but its bytes.
  if (body.byteLength > maxBytes) return invalid(`message is ${body.byteLength} bytes, over the limit of ${maxBytes}`);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (err) {
    return invalid(`not UTF-8 JSON: ${(err as Error).message}`);
  }
  const validated =
    kind === 'plan-change'
      ? validate(planChangeRequestSchema, json, (request): CommandJob => ({ kind, subject, request, receivedAt }))
      : validate(resourceOrderSchema, json, (order): CommandJob => ({ kind, subject, order, receivedAt }));
  if ('problems' in validated) return invalid(validated.problems, json);
  const { job } = validated;
  const bodyAccount = job.kind === 'plan-change' ? job.request.clientAccountId : job.order.clientAccountId;
  if (bodyAccount !== account) {
    return invalid(`clientAccountId '${bodyAccount}' differs from the subject's account '${account}'`, json);
  }
  return { ok: true, job };
}

function validate<T>(schema: ZodType<T>, json: unknown, toJob: (command: T) => CommandJob): { job: CommandJob } | { problems: string } {
  const parsed = schema.safeParse(json);
  if (parsed.success) return { job: toJob(parsed.data) };
  return { problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') };
}

function pick(json: unknown, field: string, schema: ZodType): string | null {
  if (typeof json !== 'object' || json === null) return null;
  return pickValid((json as Record<string, unknown>)[field], schema);
}

function pickValid(value: unknown, schema: ZodType): string | null {
  return schema.safeParse(value).success ? (value as string) : null;
}
