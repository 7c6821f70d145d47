import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '@incident-pilot/core';

/** Slack's replay window: a request whose timestamp is further off than this is refused. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/** `v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>">`, as Slack signs its requests. */
export function slackSignature(secret: string, timestamp: string, rawBody: string | Buffer): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Checks Slack's v0 request signature over the raw body (throws UnauthorizedError). The timestamp must
 * be within five minutes of `nowMs` either way, so a captured request cannot be replayed later; the
 * comparison runs in constant time.
 */
export function verifySlackSignature({
  secret,
  rawBody,
  timestamp,
  signature,
  nowMs,
}: {
  secret: string;
  rawBody: Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
  nowMs: number;
}): void {
  if (!secret) throw new UnauthorizedError('Slack requests are not accepted: no signing secret is configured');
  if (!timestamp || !signature) throw new UnauthorizedError('missing X-Slack-Signature or X-Slack-Request-Timestamp');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_CLOCK_SKEW_SECONDS) {
    throw new UnauthorizedError('X-Slack-Request-Timestamp is more than 5 minutes off');
  }
  const expected = Buffer.from(slackSignature(secret, timestamp, rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // Equal lengths first (timingSafeEqual requires it); the length of a v0 signature is public anyway.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new UnauthorizedError('invalid Slack signature');
  }
}
