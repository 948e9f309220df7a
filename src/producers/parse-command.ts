import { messageId, planChangeRequestSchema, resourceOrderSchema, subjectToken } from '../contract/messages.js';
import type { CommandJob } from '../workers/command-queues.js';
import { lastToken } from '../messaging/subjects.js';
import { accountMismatch, readJsonBody, validateBody, validField, validValue } from '../messaging/inbound-body.js';

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
    messageId: validField(json, kind === 'plan-change' ? 'requestId' : 'orderId', messageId) ?? validValue(natsMsgId, messageId),
    clientAccountId: account,
    lineId: kind === 'plan-change' ? validField(json, 'lineId', subjectToken) : null,
    message,
  });
  const read = readJsonBody(body, maxBytes);
  if ('problem' in read) return invalid(read.problem);
  const { json } = read;
  const job: CommandJob | { problem: string } =
    kind === 'plan-change'
      ? toJob(validateBody(planChangeRequestSchema, json), (request) => ({ kind, subject, request, receivedAt }))
      : toJob(validateBody(resourceOrderSchema, json), (order) => ({ kind, subject, order, receivedAt }));
  if ('problem' in job) return invalid(job.problem, json);
  const mismatch = accountMismatch(job.kind === 'plan-change' ? job.request.clientAccountId : job.order.clientAccountId, account);
  if (mismatch) return invalid(mismatch, json);
  return { ok: true, job };
}

function toJob<T>(validated: { value: T } | { problem: string }, make: (command: T) => CommandJob): CommandJob | { problem: string } {
  return 'problem' in validated ? validated : make(validated.value);
}
