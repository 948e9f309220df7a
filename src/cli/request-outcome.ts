import { ErrorCode, JSONCodec, type NatsConnection, type NatsError } from 'nats';
import type { CloudEvent } from '../contract/messages.js';
import type { OutgoingQuery, OutgoingRequest } from './request-kinds.js';

export type RequestResult =
  | { outcome: CloudEvent; duplicate: boolean }
  /** Nothing came in time. `duplicate`: JetStream dropped the message as one it already holds. */
  | { outcome: undefined; duplicate: boolean };

/** No stream takes the subject: the system never ran against this NATS with this prefix. */
export class NoStreamError extends Error {
  override readonly name = 'NoStreamError';
}

const codec = JSONCodec<CloudEvent>();

/**
 * Publishes one request through JetStream, as an upstream system does, and waits for its outcome
 * event. The subscription is in place on the server before the message leaves, so an outcome
 * decided at once is not missed.
 */
export async function publishAndAwait(
  nc: NatsConnection,
  prefix: string,
  request: OutgoingRequest,
  timeoutMs: number,
  onDuplicate: () => void,
  onInterim: (event: CloudEvent) => void = () => {},
): Promise<RequestResult> {
  const subscription = nc.subscribe(`${prefix}.${request.outcomeSubject}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = (async () => {
      for await (const message of subscription) {
        let event: CloudEvent;
        try {
          event = codec.decode(message.data);
        } catch {
          continue; // not a CloudEvent: someone else's message on the subject
        }
        if (request.isOutcome(event)) return event;
        if (request.isInterim?.(event)) onInterim(event);
      }
      return undefined;
    })();
    await nc.flush();
    const subject = `${prefix}.${request.subject}`;
    let duplicate = false;
    try {
      const ack = await nc.jetstream().publish(subject, JSON.stringify(request.body), { msgID: request.msgId });
      duplicate = ack.duplicate;
    } catch (err) {
      if ((err as NatsError).code === ErrorCode.NoResponders) {
        throw new NoStreamError(`no JetStream stream takes ${subject}: the system creates its streams when it first starts (npm start or opensim start), with the same OPENSIM_SUBJECT_PREFIX (${prefix})`);
      }
      throw err;
    }
    if (duplicate) onDuplicate();
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    return { outcome: await Promise.race([outcome, timeout]), duplicate };
  } finally {
    clearTimeout(timer);
    subscription.unsubscribe();
  }
}

/** No process answers the query subject: no system runs queries against this NATS with this prefix. */
export class NoResponderError extends Error {
  override readonly name = 'NoResponderError';
}

/** Asks a query (core NATS request-reply); `undefined` when no reply came in time. */
export async function askQuery(nc: NatsConnection, prefix: string, query: OutgoingQuery, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  const subject = `${prefix}.${query.subject}`;
  try {
    const reply = await nc.request(subject, JSON.stringify(query.body), { timeout: timeoutMs });
    return reply.json<Record<string, unknown>>();
  } catch (err) {
    const code = (err as NatsError).code;
    if (code === ErrorCode.NoResponders) {
      throw new NoResponderError(`no process answers ${subject}: is the system running (npm start, or opensim start with the queries role and OPENSIM_SUBJECT_PREFIX=${prefix})?`);
    }
    if (code === ErrorCode.Timeout) return undefined;
    throw err;
  }
}
