import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TransientError } from '@incident-pilot/core';

/**
 * Reads secrets from Secrets Manager with a per-container cache, so a warm function does not call
 * Secrets Manager on every request, yet a rotated value is picked up within `ttlMs`.
 */
export function createSecretReader({
  client = new SecretsManagerClient({}),
  ttlMs = 5 * 60_000,
  now = Date.now,
}: {
  client?: SecretsManagerClient;
  ttlMs?: number;
  now?: () => number;
} = {}) {
  const cache = new Map<string, { value: string; at: number }>();
  return async function readSecret(arn: string): Promise<string> {
    const hit = cache.get(arn);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      const value = (out.SecretString ?? '').trim();
      cache.set(arn, { value, at: now() });
      return value;
    } catch (error) {
      // Never echo the secret id's contents; the name of the error is enough to act on.
      throw new TransientError(`could not read a secret from Secrets Manager (${(error as Error).name})`);
    }
  };
}
