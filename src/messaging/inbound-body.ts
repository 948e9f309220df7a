import type { ZodType } from 'zod';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The checks every inbound message passes, whatever it carries (command or usage record), so
 * each INVALID_PAYLOAD says the same thing for the same fault.
 */

/** Over the size limit it is refused unread (a huge body costs nothing but its bytes); else UTF-8 JSON. */
export function readJsonBody(body: Uint8Array, maxBytes: number): { json: unknown } | { problem: string } {
  if (body.byteLength > maxBytes) return { problem: `message is ${body.byteLength} bytes, over the limit of ${maxBytes}` };
  try {
    return { json: JSON.parse(decoder.decode(body)) };
  } catch (err) {
    return { problem: `not UTF-8 JSON: ${(err as Error).message}` };
  }
}

/** The value, or every issue on one line: `path: message; …`. */
export function validateBody<T>(schema: ZodType<T>, json: unknown): { value: T } | { problem: string } {
  const parsed = schema.safeParse(json);
  if (parsed.success) return { value: parsed.data };
  return { problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') };
}

/** The body's account must be the subject's (the subject is what NATS permissions allow). */
export function accountMismatch(bodyAccount: string, subjectAccount: string): string | null {
  return bodyAccount === subjectAccount ? null : `clientAccountId '${bodyAccount}' differs from the subject's account '${subjectAccount}'`;
}

/** A field of a body that failed validation, if it is valid on its own: to name the message in the refusal. */
export function validField(json: unknown, field: string, schema: ZodType): string | null {
  if (typeof json !== 'object' || json === null) return null;
  return validValue((json as Record<string, unknown>)[field], schema);
}

export function validValue(value: unknown, schema: ZodType): string | null {
  return schema.safeParse(value).success ? (value as string) : null;
}
