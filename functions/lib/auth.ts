import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compares in constant time; hashing first hides the length of the expected token as well. */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Checks an `Authorization` header the way Alertmanager's `http_config` sends it: `Bearer <token>`
 * (authorization / credentials_file) or `Basic base64(user:token)` (basic_auth; any user name).
 * An empty expected token (a blank secret) matches nothing: it must not let a bare `Bearer` in.
 */
export function isAuthorized(header: string | undefined, token: string): boolean {
  if (!header || !token) return false;
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  if (/^bearer$/i.test(scheme)) return safeEqual(value, token);
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && safeEqual(decoded.slice(colon + 1), token);
  }
  return false;
}
