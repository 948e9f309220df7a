import type { CloudEvent } from '../contract/messages.js';

/** An event waiting to be published: the CloudEvent and the NATS subject it goes to. */
export interface OutboxEntry {
  id: string;
  subject: string;
  event: CloudEvent;
}
