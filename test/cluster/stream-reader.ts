import type { JetStreamManager } from 'nats';
import type { CloudEvent } from '../../src/contract/messages.js';
import type { SeenOutcome } from '../nemesis/checker.js';

/**
 * Every event of a deployment, read from its events stream by sequence: what was stored, whoever
 * published it, and nothing missed while the reader's own NATS node was down (a core subscription
 * would miss what was published meanwhile).
 */
export class StreamReader {
  readonly events: CloudEvent[] = [];
  private next = 1;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
  ) {}

  async poll(): Promise<void> {
    try {
      const last = (await this.jsm.streams.info(this.stream)).state.last_seq;
      for (; this.next <= last; this.next++) this.events.push((await this.jsm.streams.getMessage(this.stream, { seq: this.next })).json<CloudEvent>());
    } catch {
      // The cluster is electing a leader, or this connection's node is away: the next poll goes on from here.
    }
  }

  /** Outcome events per request id, each distinct event id once. */
  outcomes(): Map<string, SeenOutcome[]> {
    const seen = new Map<string, Map<string, SeenOutcome>>();
    for (const event of this.events) {
      if (!event.type.startsWith('opensim.plan-change.')) continue;
      const byId = seen.get(String(event.data.requestId)) ?? new Map<string, SeenOutcome>();
      byId.set(event.id, { id: event.id, type: event.type, reason: (event.data.reason as string | undefined) ?? null });
      seen.set(String(event.data.requestId), byId);
    }
    return new Map([...seen].map(([id, byId]) => [id, [...byId.values()]]));
  }
}
