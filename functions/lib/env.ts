import { engineConfigSchema, formatPath } from '@incident-pilot/core';
import * as z from 'zod';

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .default('')
  .transform((v) => v === '1' || v === 'true');

const jsonObject = z
  .string()
  .default('{}')
  .transform((s, ctx) => {
    try {
      return JSON.parse(s || '{}') as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
  });

/**
 * Every environment variable the functions read, parsed once at cold start. In AWS the stack sets
 * them; locally `npm start` does. Secrets come either as values (local) or as Secrets Manager ARNs
 * (AWS), never both.
 */
export const envSchema = z.object({
  /** Alerts, context, group state, notification markers and stats (pk/sk, TTL `expiresAt`). */
  INCIDENT_PILOT_TABLE: z.string().min(1),
  /** One item per incident (pk `id`), with the newest-first and open-incident indexes. */
  INCIDENT_PILOT_INCIDENTS_TABLE: z.string().min(1),
  INCIDENT_PILOT_QUEUE_URL: z.string().url(),
  /** How long context (deploys, logs, traces) is kept, in hours. */
  INCIDENT_PILOT_CONTEXT_TTL_HOURS: z.coerce.number().positive().default(48),
  /** How long raw alert records are kept, in days (incidents are kept forever). */
  INCIDENT_PILOT_ALERT_TTL_DAYS: z.coerce.number().positive().default(30),
  /** At most one re-correlation of an open incident per this many seconds (0–900). */
  INCIDENT_PILOT_REFRESH_SECONDS: z.coerce.number().int().min(0).max(900).default(60),
  /** At most one `updated` notification per incident per this many seconds; 0 turns the limit off. */
  INCIDENT_PILOT_UPDATE_MIN_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** A failed job without a Retry-After comes back after this many seconds, doubling per receive (max 120). */
  INCIDENT_PILOT_RETRY_BASE_SECONDS: z.coerce.number().positive().max(120).default(5),
  /** `all`: an incident resolves when every alert has resolved; `any`: when the first one does. */
  INCIDENT_PILOT_RESOLVE_POLICY: z.enum(['all', 'any']).default('all'),
  /** Rule thresholds as JSON, e.g. `{"deploy":{"windowMinutes":45}}`; see the README's rule table. */
  INCIDENT_PILOT_ENGINE_CONFIG: jsonObject.pipe(engineConfigSchema),
  /** Inbound bearer token (local). Empty and no ARN: the API is open (local only, announced loudly). */
  INCIDENT_PILOT_TOKEN: z.string().default(''),
  INCIDENT_PILOT_TOKEN_SECRET_ARN: z.string().default(''),
  /** Slack incoming-webhook URL (local) or the secret holding it (AWS). */
  INCIDENT_PILOT_SLACK_WEBHOOK: z.string().default(''),
  INCIDENT_PILOT_SLACK_SECRET_ARN: z.string().default(''),
  /** Structured log level of the functions. */
  INCIDENT_PILOT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** `1` silences the stdout sink. */
  INCIDENT_PILOT_QUIET: flag,
  /** Optional LLM rephrasing of the templated narration; empty provider = templates only. */
  INCIDENT_PILOT_LLM_PROVIDER: z.enum(['', 'openai', 'anthropic']).default(''),
  INCIDENT_PILOT_LLM_MODEL: z.string().default(''),
  INCIDENT_PILOT_LLM_ENDPOINT: z.string().default(''),
  INCIDENT_PILOT_LLM_API_KEY: z.string().default(''),
  INCIDENT_PILOT_LLM_SECRET_ARN: z.string().default(''),
});

export type Env = z.output<typeof envSchema>;

/** Parses the environment or throws one error naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
  throw new Error(`invalid incident-pilot configuration:\n${lines.join('\n')}`);
}
