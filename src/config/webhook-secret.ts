/** The Standard Webhooks secret form: `whsec_` followed by the base64 of the key. */
const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Why a secret is unusable, or null. 24 to 64 bytes, as the standard recommends. */
export function webhookSecretProblem(secret: string): string | null {
  if (!secret.startsWith(PREFIX)) return `must start with ${PREFIX}`;
  const encoded = secret.slice(PREFIX.length);
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return 'must be base64 after whsec_';
  const bytes = Buffer.from(encoded, 'base64').length;
  return bytes < 24 || bytes > 64 ? `decodes to ${bytes} bytes; expected 24 to 64` : null;
}
