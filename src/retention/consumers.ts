import { AckPolicy, DeliverPolicy, type ConsumerInfo, type JetStreamManager, type MsgRequest } from 'nats';
import { isNotFound } from '../messaging/streams.js';

/** A consumer's filter subjects; none means the whole stream. */
export function filtersOf(info: ConsumerInfo): string[] {
  const { filter_subjects: many, filter_subject: one } = info.config;
  if (many && many.length > 0) return many;
  return one ? [one] : ['>'];
}

/**
 * Whether every message on `subject` (which may hold wildcards, as a stream's subjects do) also
 * matches `filter`: a consumer with that filter is interested in all of them.
 */
export function subjectCovers(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return i < s.length;
    if (i >= s.length || s[i] === '>') return false;
    if (f[i] === '*') continue;
    if (s[i] === '*' || f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

/**
 * The durable consumers that keep every message of the stream from its start until they
 * acknowledge it: the ones whose interest makes interest retention safe.
 */
export function isKeepingConsumer(info: ConsumerInfo): boolean {
  return Boolean(info.config.durable_name) && info.config.deliver_policy === DeliverPolicy.All && info.config.ack_policy === AckPolicy.Explicit;
}

/**
 * The subjects messages published on `subjects` are stored under, once the stream's subject
 * transform rewrote them (a `{{partition(n,…)}}` token stands for each of its n values): what a
 * consumer's filter must cover. Without a transform, the subjects themselves.
 */
export function storedSubjects(subjects: readonly string[], transform: { src?: string; dest?: string } | undefined): string[] {
  const { src, dest } = transform ?? {};
  if (!src || !dest) return [...subjects];
  return subjects.flatMap((subject) => {
    if (!subjectCovers(src, subject)) return [subject];
    const tokens = subject.split('.');
    const wildcards = src.split('.').flatMap((t, i) => (t === '*' ? [tokens[i]!] : []));
    const choices = dest.split('.').map((token): string[] => {
      const wildcard = /^\{\{\s*wildcard\((\d+)\)\s*\}\}$/i.exec(token);
      if (wildcard) return [wildcards[Number(wildcard[1]) - 1] ?? '*'];
      const partition = /^\{\{\s*partition\((\d+)[^)]*\)\s*\}\}$/i.exec(token);
      if (partition) return Array.from({ length: Number(partition[1]) }, (_, p) => String(p));
      return token.startsWith('{{') ? ['*'] : [token];
    });
    return choices.reduce<string[]>((acc, options) => acc.flatMap((head) => options.map((o) => (head ? `${head}.${o}` : o))), ['']);
  });
}

/** The stream's subjects that no keeping durable consumer covers (empty: interest retention is safe). */
export function uncoveredSubjects(subjects: readonly string[], consumers: readonly ConsumerInfo[]): string[] {
  const filters = consumers.filter(isKeepingConsumer).flatMap(filtersOf);
  return subjects.filter((subject) => !filters.some((filter) => subjectCovers(filter, subject)));
}

export async function listConsumers(jsm: JetStreamManager, stream: string): Promise<ConsumerInfo[]> {
  try {
    return await jsm.consumers.list(stream).next();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/**
 * When the oldest message the consumer still needs was stored, or null if it needs none.
 * `from: 'unacknowledged'` counts messages delivered and not yet acknowledged (what a limit must
 * not delete); `from: 'undelivered'` only those not delivered yet (the consumer's lag: a message
 * JetStream gave up on after max deliveries stays unacknowledged, and would count for ever).
 */
export async function oldestNeeded(jsm: JetStreamManager, info: ConsumerInfo, from: 'unacknowledged' | 'undelivered'): Promise<Date | null> {
  const inFlight = from === 'unacknowledged' && info.num_ack_pending > 0;
  if (!inFlight && info.num_pending === 0) return null;
  const seq = (inFlight ? info.ack_floor.stream_seq : info.delivered.stream_seq) + 1;
  let oldest: Date | null = null;
  for (const filter of filtersOf(info)) {
    try {
      // The server's STREAM.MSG.GET takes next_by_subj (the first match at or after seq); nats.js types it for direct gets only.
      const message = await jsm.streams.getMessage(info.stream_name, { seq, next_by_subj: filter } as unknown as MsgRequest);
      if (!oldest || message.time < oldest) oldest = message.time;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return oldest;
}
