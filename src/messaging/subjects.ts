import type { DomainEvent } from '../domain/index.js';

/**
 * Subject and stream names of CONTRACT.md under a configurable prefix
 * (OPENSIM_SUBJECT_PREFIX). Stream and queue names derive from the prefix so that
 * two deployments (or two tests) sharing servers never see each other's messages.
 */
export interface Naming {
  prefix: string;
  planChangeCommands: string; // wildcard subject
  resourceOrderCommands: string;
  planChangeCancelCommands: string;
  /** Every command subject the intake takes in, in the order of `commandKindOf`. */
  commandSubjects: string[];
  usage: string;
  commandStream: string;
  usageStream: string;
  eventStream: string;
  eventSubjects: string[];
  /** Captures JetStream's max-deliveries advisories of the command consumers (dead-lettered by the relay). */
  advisoryStream: string;
  maxDeliveriesAdvisories: string;
}

export function naming(prefix: string): Naming {
  const streamBase = prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase();
  return {
    prefix,
    planChangeCommands: `${prefix}.cmd.plan-change.*`,
    resourceOrderCommands: `${prefix}.cmd.resource-order.*`,
    planChangeCancelCommands: `${prefix}.cmd.plan-change-cancel.*`,
    commandSubjects: [`${prefix}.cmd.plan-change.*`, `${prefix}.cmd.resource-order.*`, `${prefix}.cmd.plan-change-cancel.*`],
    usage: `${prefix}.usage.*`,
    commandStream: `${streamBase}_COMMANDS`,
    usageStream: `${streamBase}_USAGE`,
    eventStream: `${streamBase}_EVENTS`,
    eventSubjects: [`${prefix}.evt.>`, `${prefix}.mon.>`],
    advisoryStream: `${streamBase}_ADVISORIES`,
    maxDeliveriesAdvisories: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${streamBase}_COMMANDS.*`,
  };
}

/** The NATS subject an event of the domain is published on. */
export function eventSubject(prefix: string, event: DomainEvent): string {
  switch (event.subjectKind) {
    case 'plan-change':
      return `${prefix}.evt.plan-change.${event.data.clientAccountId}`;
    case 'resource-order':
      return `${prefix}.evt.resource-order.${event.data.clientAccountId}`;
    case 'mon':
      return `${prefix}.mon.${event.data.clientAccountId}.${event.data.lineId}`;
    default: {
      const unknown: never = event;
      throw new Error(`no subject for event ${JSON.stringify(unknown)}`);
    }
  }
}

/** The last token of a subject: the client account of a command. */
export function lastToken(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** The durable consumer through which the intake takes commands in. */
export const COMMAND_CONSUMER = 'command-intake';

export const COMMAND_KINDS = ['plan-change', 'resource-order', 'plan-change-cancel'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/**
 * The kind of a command from its subject (`<prefix>.cmd.<kind>.<account>`, or as the command
 * stream stores it, `<prefix>.cmd.<P>.<p>.<kind>.<account>`), `null` if it is none.
 */
export function commandKindOf(prefix: string, subject: string): CommandKind | null {
  const published = publishedSubject(prefix, subject);
  if (!published.startsWith(`${prefix}.cmd.`)) return null;
  const kind = published.slice(prefix.length + 5, published.lastIndexOf('.'));
  return (COMMAND_KINDS as readonly string[]).includes(kind) ? (kind as CommandKind) : null;
}

/**
 * The subject upstream published a command on, from the subject the stream stored it under:
 * what a dead letter keeps (so `opensim dlq retry` publishes where upstream would), what the
 * kind and account are read from. A subject of no layout is returned as it is.
 */
export function publishedSubject(prefix: string, stored: string): string {
  const head = `${prefix}.cmd.`;
  if (!stored.startsWith(head)) return stored;
  const tokens = stored.slice(head.length).split('.');
  if (tokens.length === 4 && /^\d+$/.test(tokens[0]!) && /^\d+$/.test(tokens[1]!)) return `${head}${tokens[2]}.${tokens[3]}`;
  return stored;
}
