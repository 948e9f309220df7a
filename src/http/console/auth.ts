import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Who may use the console and its API (CONTRACT.md, HTTP): whoever presents the admin token,
 * as `Authorization: Bearer <token>` (scripts, dashboards) or through a session cookie set by
 * the login form (people). The cookie never carries the token: it is a timestamp and a nonce
 * signed with it (HMAC-SHA256), so it is checked without server state, expires, and every
 * cookie dies when the token is changed. HttpOnly (no script reads it) and SameSite=Strict
 * (no other site's page sends it, so no cross-site request can act with it).
 */
export const SESSION_COOKIE = 'opensim_console';
export const SESSION_HOURS = 12;
const SESSION_MS = SESSION_HOURS * 3600_000;
const CLOCK_SKEW_MS = 60_000;

export type Presented = 'bearer' | 'session' | 'none';

export class ConsoleAuth {
  private readonly expected: Buffer | undefined;

  constructor(private readonly token: string | undefined) {
    this.expected = token === undefined ? undefined : digest(token);
  }

  /** No token configured: the console is off (503), never open. */
  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** How the request proves it may act, if it does. */
  check(req: IncomingMessage, now = Date.now()): Presented {
    if (!this.token) return 'none';
    const bearer = bearerOf(req.headers.authorization);
    if (bearer !== undefined && this.tokenMatches(bearer)) return 'bearer';
    const cookie = cookieOf(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && this.sessionValid(cookie, now)) return 'session';
    return 'none';
  }

  tokenMatches(given: string): boolean {
    return this.expected !== undefined && timingSafeEqual(digest(given), this.expected);
  }

  /** A new session value: `v1.<issued ms>.<nonce>.<hmac>`. */
  issueSession(now = Date.now()): string {
    const claim = `v1.${now}.${randomBytes(12).toString('hex')}`;
    return `${claim}.${this.sign(claim)}`;
  }

  sessionCookie(value: string, secure: boolean): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}${secure ? '; Secure' : ''}`;
  }

  static clearedCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  private sessionValid(value: string, now: number): boolean {
    const parts = value.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') return false;
    const issued = Number(parts[1]);
    if (!Number.isSafeInteger(issued) || issued > now + CLOCK_SKEW_MS || now - issued > SESSION_MS) return false;
    const signature = Buffer.from(parts[3]!, 'hex');
    const expected = Buffer.from(this.sign(parts.slice(0, 3).join('.')), 'hex');
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }

  private sign(claim: string): string {
    return createHmac('sha256', this.token!).update(claim, 'utf8').digest('hex');
  }
}

function bearerOf(header: string | undefined): string | undefined {
  const [scheme, value] = (header ?? '').split(' ', 2);
  return scheme?.toLowerCase() === 'bearer' && value ? value.trim() : undefined;
}

export function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Equal-length digests: timingSafeEqual then leaks neither the token nor its length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * A form post from a session cookie must come from this console's own pages: SameSite=Strict
 * already keeps other sites' cookies out; the Origin check covers browsers that send none.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Where to go after logging in: a path of this site only (never `//host` or a URL). */
export function safeNext(next: string | null | undefined): string {
  return next && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/';
}
