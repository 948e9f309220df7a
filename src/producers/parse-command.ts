import { messageId, planChangeCancelSchema, planChangeRequestSchema, resourceOrderSchema, subjectToken } from '../contract/messages.js';
import { accountOf, type CommandJob } from '../queues/command-queues.js';
import { lastToken, type CommandKind } from '../messaging/subjects.js';
import { accountMismatch, readJsonBody, validateBody, validField, validValue } from '../messaging/inbound-body.js';

export type { CommandKind };

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

/** The field that names each kind of command (its Nats-Msg-Id). */
const ID_FIELD: Record<CommandKind, string> = { 'plan-change': 'requestId', 'resource-order': 'orderId', 'plan-change-cancel': 'cancelId' };

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
    messageId: validField(json, ID_FIELD[kind], messageId) ?? validValue(natsMsgId, messageId),
    clientAccountId: account,
    lineId: kind === 'plan-change' ? validField(json, 'lineId', subjectToken) : null,
    message,
  });
  const read = readJsonBody(body, maxBytes);
  if ('problem' in read) return invalid(read.problem);
  const { json } = read;
  const job = jobOf(kind, subject, json, receivedAt);
  if ('problem' in job) return invalid(job.problem, json);
  const mismatch = accountMismatch(accountOf(job), account);
  if (mismatch) return invalid(mismatch, json);
  return { ok: true, job };
}

function jobOf(kind: CommandKind, subject: string, json: unknown, receivedAt: string): CommandJob | { problem: string } {
  switch (kind) {
    case 'plan-change':
      return toJob(validateBody(planChangeRequestSchema, json), (request) => ({ kind, subject, request, receivedAt }));
    case 'resource-order':
      return toJob(validateBody(resourceOrderSchema, json), (order) => ({ kind, subject, order, receivedAt }));
    case 'plan-change-cancel':
      return toJob(validateBody(planChangeCancelSchema, json), (cancel) => ({ kind, subject, cancel, receivedAt }));
    default: {
      const unknown: never = kind;
      throw new Error(`unknown command kind ${String(unknown)}`);
    }
  }
}

function toJob<T>(validated: { value: T } | { problem: string }, make: (command: T) => CommandJob): CommandJob | { problem: string } {
  return 'problem' in validated ? validated : make(validated.value);
}
