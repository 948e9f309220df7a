import type { Collection, Document, Filter, FindOneAndUpdateOptions, UpdateFilter, WithId } from 'mongodb';

/** How many guarded updates are in flight at once. */
const CONCURRENCY = 32;

export interface GuardedUpdate<T extends Document> {
  filter: Filter<T>;
  update: UpdateFilter<T>;
}

/**
 * Many guarded updates (`{_id, version: n}` and the like), each a `findOneAndUpdate`, a few at
 * a time; returns each document as it is after its update, `null` where the guard did not
 * match (someone else wrote it), or `'refused'` where `refused(err)` says the server refused
 * that update for a reason its caller handles (a unique index). Not a bulkWrite: the result
 * says exactly which updates won and hands back what they wrote (the outbox to publish), with
 * no second read. And the MongoDB-wire test server finds the document by `_id` for
 * `findAndModify` but scans the collection for an `update` whose filter has more than `_id`
 * (docs/testing.md), which makes a bulk of guarded updates cost O(lines) each.
 */
export async function findOneAndUpdateEach<T extends Document>(
  collection: Collection<T>,
  updates: readonly GuardedUpdate<T>[],
  options: Omit<FindOneAndUpdateOptions, 'returnDocument' | 'includeResultMetadata'> = {},
  refused: (err: unknown) => boolean = () => false,
): Promise<(WithId<T> | null | 'refused')[]> {
  const results: (WithId<T> | null | 'refused')[] = new Array(updates.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < updates.length) {
      const k = next++;
      try {
        results[k] = await collection.findOneAndUpdate(updates[k]!.filter, updates[k]!.update, { ...options, returnDocument: 'after' });
      } catch (err) {
        if (!refused(err)) throw err;
        results[k] = 'refused';
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, updates.length) }, worker));
  return results;
}
