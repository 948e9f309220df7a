/** A stored document without MongoDB's `_id` and our bookkeeping fields: the domain record. */
export function toRecord<T extends { _id: string }>(doc: T | null, drop: string[] = []): Omit<T, '_id'> | null {
  if (!doc) return null;
  const { _id: _ignored, ...rest } = doc;
  for (const key of drop) delete (rest as Record<string, unknown>)[key];
  return rest;
}
