import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { AuditDocument, Collections } from '../store/documents.js';

/** Who acts: `--by`, else the login name ($USER), else the OS user. */
export function operatorName(by: string | undefined, env: Record<string, string | undefined> = process.env): string {
  if (by) return by;
  if (env.USER) return env.USER;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function recordAudit(c: Collections, entry: Omit<AuditDocument, '_id'>): Promise<AuditDocument> {
  const doc: AuditDocument = { _id: randomUUID(), ...entry };
  await c.audit.insertOne(doc);
  return doc;
}

export interface AuditFilter {
  since?: string;
  by?: string;
  action?: string;
}

/** Newest first. */
export async function listAudit(c: Collections, filter: AuditFilter, limit = 100): Promise<AuditDocument[]> {
  const query: Record<string, unknown> = {};
  if (filter.since !== undefined) query.at = { $gte: filter.since };
  if (filter.by !== undefined) query.by = filter.by;
  if (filter.action !== undefined) query.action = filter.action;
  return c.audit.find(query).sort({ at: -1 }).limit(limit).toArray();
}
