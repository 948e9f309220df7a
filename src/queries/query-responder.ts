import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role, RoleContext } from '../platform/role.js';
import { queryError } from '../contract/queries.js';
import { answerLineQuery, answerPlanChangePreview, answerRequestQuery, querySubjects, type QueryDeps, type QueryHandler } from './query-handlers.js';

/** Every process answers queries; the queue group makes one of them answer each. */
export const QUERY_QUEUE_GROUP = 'opensim-queries';
/** Queries being answered at once, at most; past it a query is refused UNAVAILABLE at once instead of piling up on MongoDB. */
const MAX_IN_FLIGHT = 64;

/**
 * The query role: NATS request-reply on `<prefix>.qry.line.<account>`,
 * `<prefix>.qry.request.<account>` and `<prefix>.qry.plan-change-preview.<account>`. Core NATS subscriptions (a query is asked again rather
 * than stored), resubscribed by the client after a reconnect. It reads, never writes.
 */
export class QueryResponder implements Role {
  readonly name = 'queries';
  private subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    const { connections, readiness, config, logger } = context;
    const deps: QueryDeps = { collections: this.pipeline.collections, references: this.pipeline.references, clock: this.pipeline.clock, queues: this.pipeline.queues.queues };
    const subjects = querySubjects(config.OPENSIM_SUBJECT_PREFIX);
    const handlers: [string, QueryHandler][] = [
      [subjects.line, answerLineQuery],
      [subjects.request, answerRequestQuery],
      [subjects.planChangePreview, answerPlanChangePreview],
    ];
    readiness.registerConsumer(this.name, () => this.subscriptions.length === handlers.length && this.subscriptions.every((s) => !s.isClosed()));
    // Not awaited: with NATS away at start the other roles still start; /readyz says why it is not ready.
    void connections.natsReady
      .then((nc: NatsConnection) => {
        if (this.stopped) return;
        this.subscriptions = handlers.map(([subject, handler]) =>
          nc.subscribe(subject, {
            queue: QUERY_QUEUE_GROUP,
            callback: (err, msg) => {
              if (err) return logger.error({ err, subject }, 'query subscription closed');
              this.track(this.answer(deps, handler, msg, config.OPENSIM_MAX_PAYLOAD_BYTES, logger));
            },
          }),
        );
      })
      .catch(() => {});
  }

  private async answer(deps: QueryDeps, handler: QueryHandler, msg: Msg, maxBytes: number, logger: RoleContext['logger']): Promise<void> {
    if (!msg.reply) return; // a publish without a reply subject asks nothing
    let reply: object;
    if (this.inFlight.size > MAX_IN_FLIGHT) {
      reply = queryError('UNAVAILABLE', `more than ${MAX_IN_FLIGHT} queries in progress; ask again`);
    } else {
      try {
        reply = await handler(deps, msg.subject, msg.data, maxBytes);
      } catch (err) {
        // MongoDB or Redis away: say so rather than let the asker time out.
        logger.warn({ err, subject: msg.subject }, 'query not answered: store unavailable');
        reply = queryError('UNAVAILABLE', `the store did not answer (${(err as Error).message}); ask again`);
      }
    }
    // The asker may be gone (timed out) or the connection closing: nothing to do about it.
    try {
      msg.respond(JSON.stringify(reply));
    } catch (err) {
      logger.debug({ err, subject: msg.subject }, 'query reply not sent');
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    await Promise.allSettled([...this.inFlight]);
  }
}
