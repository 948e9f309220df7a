import type { ServerResponse } from 'node:http';
import { DeliverPolicy, type NatsConnection, type Subscription } from 'nats';
import type { CloudEvent } from '../../contract/messages.js';
import type { Logger } from '../../logging/logger.js';
import { naming } from '../../messaging/subjects.js';
import { consumptionSection } from './consumption.js';
import { eventItem } from './event-item.js';
import { changeForm, planTitle, scheduledChangeSection } from './line-page.js';
import { cancelStatusText, requestStatusText } from './outcome-text.js';
import { lineCard, type ConsoleReadDeps } from './reads.js';

/** Event streams open at once, at most: each holds two NATS subscriptions. */
const MAX_FEEDS = 200;
const HEARTBEAT_MS = 15_000;
/** "Événements récents" at page load: the line's monitoring events of the last hour, the newest ones. */
const HISTORY_MS = 3600_000;
const HISTORY_MAX = 20;

const OUTCOMES: Record<string, 'applied' | 'rejected' | 'failed' | 'scheduled' | 'cancelled'> = {
  'opensim.plan-change.applied': 'applied',
  'opensim.plan-change.rejected': 'rejected',
  'opensim.plan-change.failed': 'failed',
  'opensim.plan-change.scheduled': 'scheduled',
  'opensim.plan-change.cancelled': 'cancelled',
};
const CANCEL_OUTCOMES: Record<string, 'applied' | 'rejected'> = {
  'opensim.plan-change-cancel.applied': 'applied',
  'opensim.plan-change-cancel.rejected': 'rejected',
};

/** The status line of a request's (or a cancel's) outcome event, keyed by the id the page waits on; null for other events. */
function outcomeMessage(event: CloudEvent): { requestId: string; status: string; html: string } | null {
  const d = event.data as { requestId?: string | null; cancelId?: string | null; reason?: string | null; appliedAt?: string; effectiveAt?: string; cancelledAt?: string };
  const status = OUTCOMES[event.type];
  if (status) {
    const requestId = d.requestId ?? '';
    const decidedAt = d.cancelledAt ?? event.time;
    return { requestId, status, html: requestStatusText({ requestId, status, reason: d.reason ?? null, eventId: event.id, decidedAt, effectiveAt: d.appliedAt ?? d.effectiveAt ?? null }).text };
  }
  const cancel = CANCEL_OUTCOMES[event.type];
  if (cancel) {
    const cancelId = d.cancelId ?? '';
    return { requestId: cancelId, status: cancel, html: cancelStatusText({ cancelId, requestId: d.requestId ?? '', status: cancel, reason: d.reason ?? null }).text };
  }
  return null;
}

/**
 * The live part of a line's page: Server-Sent Events fed by core NATS subscriptions on the
 * line's monitoring subject and its account's plan-change outcomes (those of this line, and
 * the status of refused cancels, which name no line).
 * Each event is sent as it arrives; then the card is read again from the line document and its
 * changing fragments sent (coalesced: one read at a time, one more if events came meanwhile).
 * The document is read after the event, and events are published only after their write, so
 * the card shown is never older than the event.
 */
export class LiveFeeds {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly deps: ConsoleReadDeps,
    private readonly nats: () => NatsConnection | undefined,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /** Streams the events of `line` to `res` until the browser goes away or the console stops. */
  stream(res: ServerResponse, line: { lineId: string; clientAccountId: string }): void {
    const nc = this.nats();
    if (!nc || this.open.size >= MAX_FEEDS) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end(nc ? 'too many live pages open' : 'NATS is not connected');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    // A write after the browser left would raise an error on the response: check first.
    const send = (event: string, data: unknown) => void (res.writableEnded || res.destroyed || res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
    const refresh = this.cardRefresher(line.lineId, send);
    const onEvent = (event: CloudEvent) => {
      send('line-event', { id: event.id, time: event.time, type: event.type, html: eventItem(event).text });
      const outcome = outcomeMessage(event);
      if (outcome) send('outcome', outcome);
      refresh();
    };
    const subscriptions: Subscription[] = [
      nc.subscribe(`${this.prefix}.mon.${line.clientAccountId}.${line.lineId}`, { callback: (err, msg) => !err && onEvent(msg.json<CloudEvent>()) }),
      nc.subscribe(`${this.prefix}.evt.plan-change.${line.clientAccountId}`, {
        callback: (err, msg) => {
          if (err) return;
          const event = msg.json<CloudEvent>();
          if (event.data.lineId === line.lineId) return onEvent(event);
          // A refused cancel names no line: its status goes to the pages of the account, where the one that sent it waits on its cancelId.
          const outcome = CANCEL_OUTCOMES[event.type] ? outcomeMessage(event) : null;
          if (outcome) send('outcome', outcome);
        },
      }),
    ];
    const heartbeat = setInterval(() => void (res.writableEnded || res.write(': keep-alive\n\n')), HEARTBEAT_MS);
    const close = () => {
      clearInterval(heartbeat);
      for (const s of subscriptions) s.unsubscribe();
      this.open.delete(close);
      res.end();
    };
    this.open.add(close);
    res.on('close', close);
    void this.history(nc, line)
      .then((events) => events.forEach((event) => send('line-event', { id: event.id, time: event.time, type: event.type, html: eventItem(event).text })))
      .catch((err) => this.logger.debug({ err, lineId: line.lineId }, 'recent events not read'));
  }

  /** Ends every stream (the console stops): browsers reconnect to another process. */
  closeAll(): void {
    for (const close of [...this.open]) close();
  }

  private cardRefresher(lineId: string, send: (event: string, data: unknown) => void): () => void {
    let running = false;
    let again = false;
    const run = async (): Promise<void> => {
      running = true;
      try {
        do {
          again = false;
          const card = await lineCard(this.deps, lineId);
          if (card) send('card', { version: card.view.version, fragments: { 'plan-title': planTitle(card).text, consumption: consumptionSection(card.view).text, 'scheduled-change': scheduledChangeSection(card).text, 'change-resource': changeForm(card).text } });
        } while (again);
      } catch (err) {
        this.logger.warn({ err, lineId }, 'line card not refreshed');
      } finally {
        running = false;
      }
    };
    return () => {
      if (running) again = true;
      else void run();
    };
  }

  /** The line's monitoring events of the last hour in the events stream, the newest HISTORY_MAX. */
  private async history(nc: NatsConnection, line: { lineId: string; clientAccountId: string }): Promise<CloudEvent[]> {
    const consumer = await nc.jetstream().consumers.get(naming(this.prefix).eventStream, {
      filterSubjects: [`${this.prefix}.mon.${line.clientAccountId}.${line.lineId}`],
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Date.now() - HISTORY_MS).toISOString(),
    });
    const events: CloudEvent[] = [];
    const messages = await consumer.fetch({ max_messages: 500, expires: 1000 });
    for await (const m of messages) {
      events.push(m.json<CloudEvent>());
      if (events.length > HISTORY_MAX) events.shift();
      if (m.info.pending === 0) break;
    }
    return events;
  }
}
