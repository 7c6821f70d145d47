import { engineConfigSchema, SEVERITIES, toFieldIssues } from '@incident-pilot/core';
import * as z from 'zod/mini';

function buildEnvSchema() {
  const flag = z.pipe(
    z._default(z.enum(['0', '1', 'true', 'false', '']), ''),
    z.transform((v) => v === '1' || v === 'true'),
  );

  const jsonObject = z.pipe(
    z._default(z.string(), '{}'),
    z.transform((s, ctx) => {
      try {
        return JSON.parse(s || '{}') as unknown;
      } catch {
        ctx.issues.push({ code: 'custom', message: 'is not valid JSON', input: s });
        return z.NEVER;
      }
    }),
  );

  /** Text, empty when unset. */
  const text = z._default(z.string(), '');
  /** A number from its text, with its checks and default. */
  const numeric = (d: number, ...checks: z.core.$ZodCheck<number>[]) =>
    z._default(z.coerce.number().check(...checks), d);
  const web = z.url({ protocol: /^https?$/ });
  const httpUrl = z._default(z.union([z.literal(''), web]), '');
  // Where a sink posts: http(s) only, and never echoed in an error (it may carry a token).
  const sinkUrl = z
    .string()
    .check(z.refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), 'is not a valid http(s) URL'));

  return z
    .object({
      /** Alerts, context, group state, notification markers and stats (pk/sk, TTL `expiresAt`). */
      INCIDENT_PILOT_TABLE: z.string().check(z.minLength(1)),
      /** One item per incident (pk `id`), with the newest-first and open-incident indexes. */
      INCIDENT_PILOT_INCIDENTS_TABLE: z.string().check(z.minLength(1)),
      INCIDENT_PILOT_QUEUE_URL: z.url(),
      /** How long context (deploys, logs, traces) is kept, in hours. */
      INCIDENT_PILOT_CONTEXT_TTL_HOURS: numeric(48, z.positive()),
      /** How long raw alert records are kept, in days (incidents are kept forever). */
      INCIDENT_PILOT_ALERT_TTL_DAYS: numeric(30, z.positive()),
      /** At most one re-correlation of an open incident per this many seconds (0–900). */
      INCIDENT_PILOT_REFRESH_SECONDS: numeric(60, z.int(), z.gte(0), z.lte(900)),
      /** At most one `updated` notification per incident per this many seconds; 0 turns the limit off. */
      INCIDENT_PILOT_UPDATE_MIN_SECONDS: numeric(300, z.int(), z.gte(0), z.lte(86_400)),
      /** A failed job without a Retry-After comes back after this many seconds, doubling per receive (max 120). */
      INCIDENT_PILOT_RETRY_BASE_SECONDS: numeric(5, z.positive(), z.lte(120)),
      /** `all`: an incident resolves when every alert has resolved; `any`: when the first one does. */
      INCIDENT_PILOT_RESOLVE_POLICY: z._default(z.enum(['all', 'any']), 'all'),
      /** Rule thresholds as JSON, e.g. `{"deploy":{"windowMinutes":45}}`; see the README's rule table. */
      INCIDENT_PILOT_ENGINE_CONFIG: z.pipe(jsonObject, engineConfigSchema),
      /** Inbound bearer token (local). Empty and no ARN: the API is open (local only, announced loudly). */
      INCIDENT_PILOT_TOKEN: text,
      INCIDENT_PILOT_TOKEN_SECRET_ARN: text,
      /** Slack incoming-webhook URL (local) or the secret holding it (AWS). */
      INCIDENT_PILOT_SLACK_WEBHOOK: text,
      INCIDENT_PILOT_SLACK_SECRET_ARN: text,
      /** Slack app mode: the bot token (local) or the secret holding it (AWS). */
      INCIDENT_PILOT_SLACK_BOT_TOKEN: text,
      INCIDENT_PILOT_SLACK_BOT_SECRET_ARN: text,
      /** Slack app mode: the default channel id (engine config `slack.channels` routes by service/team). */
      INCIDENT_PILOT_SLACK_CHANNEL: text,
      /** The Slack Web API base URL; another one for tests and proxies. */
      INCIDENT_PILOT_SLACK_API_URL: z._default(web, 'https://slack.com/api'),
      /** Checks requests from Slack (`POST /slack/interactions`): the app's signing secret, or its secret's ARN. */
      INCIDENT_PILOT_SLACK_SIGNING_SECRET: text,
      INCIDENT_PILOT_SLACK_SIGNING_SECRET_ARN: text,
      /** Base URL people open incidents under; adds a link to each Slack message. */
      INCIDENT_PILOT_PUBLIC_URL: httpUrl,
      /** Alerts with this alertname are heartbeats (Alertmanager's always-firing Watchdog), never incidents. */
      INCIDENT_PILOT_HEARTBEAT_ALERTNAME: z._default(z.string().check(z.minLength(1)), 'Watchdog'),
      /** Minutes without a heartbeat before the "Alertmanager heartbeat missing" incident; 0 or empty: off. */
      INCIDENT_PILOT_HEARTBEAT_MINUTES: numeric(0, z.nonnegative(), z.lte(10_080)),
      /** Structured log level of the functions. */
      INCIDENT_PILOT_LOG_LEVEL: z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info'),
      /** `1` silences the stdout sink. */
      INCIDENT_PILOT_QUIET: flag,
      /** Optional LLM rewording of the templated narration; empty provider = templates only (README: LLM). */
      INCIDENT_PILOT_LLM_PROVIDER: z._default(
        z.enum(['', 'openai', 'openai-compatible', 'anthropic', 'ollama', 'bedrock']),
        '',
      ),
      /** Model name; for Bedrock a model id or an inference-profile id. */
      INCIDENT_PILOT_LLM_MODEL: text,
      /** The full URL of the call (chat-completions, messages or /api/chat). */
      INCIDENT_PILOT_LLM_ENDPOINT: httpUrl,
      /** The provider's base URL (the call's path is appended); for Bedrock an endpoint override. */
      INCIDENT_PILOT_LLM_BASE_URL: httpUrl,
      INCIDENT_PILOT_LLM_API_KEY: text,
      INCIDENT_PILOT_LLM_SECRET_ARN: text,
      /** Bedrock only: the region of the model (default: the function's). */
      INCIDENT_PILOT_LLM_REGION: text,
      /** Incidents below this severity are never sent to the LLM. */
      INCIDENT_PILOT_LLM_MIN_SEVERITY: z._default(z.enum(SEVERITIES), 'high'),
      /** LLM calls per rolling hour per process; beyond, templates. 0 = none. */
      INCIDENT_PILOT_LLM_MAX_CALLS_PER_HOUR: numeric(60, z.int(), z.gte(0)),
      /** Tokens one call may use (prompt and answer); a larger report stays templated. */
      INCIDENT_PILOT_LLM_MAX_TOKENS: numeric(4096, z.int(), z.gte(256), z.lte(200_000)),
      /** Base URL of this deployment's API, for links to incidents in pages; empty: no links. */
      INCIDENT_PILOT_API_URL: httpUrl,
      /** PagerDuty Events API v2 routing key (local) or the secret holding it (AWS); neither: off. */
      INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY: text,
      INCIDENT_PILOT_PAGERDUTY_SECRET_ARN: text,
      INCIDENT_PILOT_PAGERDUTY_URL: z._default(sinkUrl, 'https://events.pagerduty.com/v2/enqueue'),
      /** `1` forwards deploys posted to /context/deploys as PagerDuty Change Events. */
      INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS: flag,
      /** Opsgenie API integration key (local) or the secret holding it (AWS); neither: off. */
      INCIDENT_PILOT_OPSGENIE_API_KEY: text,
      INCIDENT_PILOT_OPSGENIE_SECRET_ARN: text,
      /** `https://api.eu.opsgenie.com` for the EU instance. */
      INCIDENT_PILOT_OPSGENIE_URL: z._default(sinkUrl, 'https://api.opsgenie.com'),
      /** Signed generic webhook: where to POST (empty: off) and the HMAC secret (local) or its secret (AWS). */
      INCIDENT_PILOT_WEBHOOK_URL: z._default(z.union([z.literal(''), sinkUrl]), ''),
      INCIDENT_PILOT_WEBHOOK_SECRET: text,
      INCIDENT_PILOT_WEBHOOK_SECRET_ARN: text,
    })
    .check(
      z.superRefine((env, ctx) => {
        const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
        if (env.INCIDENT_PILOT_SLACK_BOT_TOKEN && !env.INCIDENT_PILOT_SLACK_CHANNEL) {
          issue(
            'INCIDENT_PILOT_SLACK_CHANNEL',
            'is required with INCIDENT_PILOT_SLACK_BOT_TOKEN (the channel id to post to)',
          );
        }
        if (
          env.INCIDENT_PILOT_SLACK_CHANNEL &&
          !env.INCIDENT_PILOT_SLACK_BOT_TOKEN &&
          !env.INCIDENT_PILOT_SLACK_BOT_SECRET_ARN
        ) {
          issue(
            'INCIDENT_PILOT_SLACK_BOT_TOKEN',
            'is required with INCIDENT_PILOT_SLACK_CHANNEL (Slack app mode posts with a bot token)',
          );
        }
      }),
    );
}

/**
 * Every environment variable the functions read, parsed once at cold start. In AWS the stack sets
 * them; locally `npm start` does. Secrets come either as values (local) or as Secrets Manager ARNs
 * (AWS), never both.
 *
 * Built on the first call, not at import: the environment is parsed when the composition root is
 * built (the first invocation), and module init stays free of zod work (see scripts/bench-cold-start.ts).
 */
export function envSchema(): EnvSchema {
  built ??= buildEnvSchema();
  return built;
}

type EnvSchema = ReturnType<typeof buildEnvSchema>;
let built: EnvSchema | undefined;

export type Env = z.output<EnvSchema>;

type LlmVariable = keyof Env & `INCIDENT_PILOT_LLM_${string}`;

/** Combinations of the LLM variables that cannot work, each naming the variable to fix. */
function llmProblems(env: Env): [LlmVariable, string][] {
  const provider = env.INCIDENT_PILOT_LLM_PROVIDER;
  if (!provider) return [];
  const problems: [LlmVariable, string][] = [];
  const is = `with INCIDENT_PILOT_LLM_PROVIDER=${provider}`;
  if (!env.INCIDENT_PILOT_LLM_MODEL) problems.push(['INCIDENT_PILOT_LLM_MODEL', `is required ${is}`]);
  if (env.INCIDENT_PILOT_LLM_ENDPOINT && env.INCIDENT_PILOT_LLM_BASE_URL) {
    problems.push(['INCIDENT_PILOT_LLM_BASE_URL', 'set either it or INCIDENT_PILOT_LLM_ENDPOINT, not both']);
  }
  if (provider === 'openai-compatible' && !env.INCIDENT_PILOT_LLM_ENDPOINT && !env.INCIDENT_PILOT_LLM_BASE_URL) {
    problems.push(['INCIDENT_PILOT_LLM_BASE_URL', `is required ${is} (e.g. http://localhost:8000/v1)`]);
  }
  if (provider === 'bedrock') {
    // Bedrock signs with the function's role; a key here is a configuration mistake, not a fallback.
    for (const name of ['INCIDENT_PILOT_LLM_API_KEY', 'INCIDENT_PILOT_LLM_ENDPOINT'] as const) {
      if (env[name]) problems.push([name, `is not used ${is} (the role signs; an endpoint override is BASE_URL)`]);
    }
  } else if (env.INCIDENT_PILOT_LLM_REGION) {
    problems.push(['INCIDENT_PILOT_LLM_REGION', `is for bedrock only, not ${provider}`]);
  }
  if (provider === 'ollama' && env.INCIDENT_PILOT_LLM_API_KEY) {
    problems.push(['INCIDENT_PILOT_LLM_API_KEY', `is not used ${is} (Ollama has no API key)`]);
  }
  if (env.INCIDENT_PILOT_LLM_API_KEY && env.INCIDENT_PILOT_LLM_SECRET_ARN) {
    problems.push(['INCIDENT_PILOT_LLM_API_KEY', 'set either it or INCIDENT_PILOT_LLM_SECRET_ARN, not both']);
  }
  return problems;
}

/** A secret given as a value (local) and as a Secrets Manager ARN (AWS): one of each pair at most. */
const SECRET_PAIRS = [
  ['INCIDENT_PILOT_TOKEN', 'INCIDENT_PILOT_TOKEN_SECRET_ARN'],
  ['INCIDENT_PILOT_SLACK_WEBHOOK', 'INCIDENT_PILOT_SLACK_SECRET_ARN'],
  ['INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY', 'INCIDENT_PILOT_PAGERDUTY_SECRET_ARN'],
  ['INCIDENT_PILOT_OPSGENIE_API_KEY', 'INCIDENT_PILOT_OPSGENIE_SECRET_ARN'],
  ['INCIDENT_PILOT_WEBHOOK_SECRET', 'INCIDENT_PILOT_WEBHOOK_SECRET_ARN'],
] as const;

/** The webhook sink's shortest HMAC key (its WEBHOOK_MIN_SECRET_LENGTH; not imported: sinks stay out of the HTTP bundles). */
const WEBHOOK_MIN_SECRET_LENGTH = 32;

/** Combinations of the secret and paging variables that cannot work, each naming the variable to fix. */
function secretProblems(env: Env): [keyof Env, string][] {
  const problems: [keyof Env, string][] = [];
  for (const [value, arn] of SECRET_PAIRS) {
    if (env[value] && env[arn]) problems.push([arn, `set either ${value} or ${arn}, not both`]);
  }
  if (env.INCIDENT_PILOT_WEBHOOK_URL && !env.INCIDENT_PILOT_WEBHOOK_SECRET && !env.INCIDENT_PILOT_WEBHOOK_SECRET_ARN) {
    problems.push([
      'INCIDENT_PILOT_WEBHOOK_SECRET',
      'is required with INCIDENT_PILOT_WEBHOOK_URL (webhooks are always signed)',
    ]);
  }
  if (env.INCIDENT_PILOT_WEBHOOK_SECRET && env.INCIDENT_PILOT_WEBHOOK_SECRET.length < WEBHOOK_MIN_SECRET_LENGTH) {
    problems.push([
      'INCIDENT_PILOT_WEBHOOK_SECRET',
      `must be at least ${WEBHOOK_MIN_SECRET_LENGTH} characters (an HMAC key; e.g. openssl rand -hex 32)`,
    ]);
  }
  const hasRoutingKey = env.INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY || env.INCIDENT_PILOT_PAGERDUTY_SECRET_ARN;
  if (env.INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS && !hasRoutingKey) {
    problems.push([
      'INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS',
      'needs INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY (or INCIDENT_PILOT_PAGERDUTY_SECRET_ARN)',
    ]);
  }
  return problems;
}

/**
 * The variables that are set. One set to nothing (`INCIDENT_PILOT_UPDATE_MIN_SECONDS=` in a .env file)
 * is unset and takes its default: read as a number it would be 0 and turn the pacing off, and a blank
 * token would be a token.
 */
export const setVariables = (source: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => Boolean(entry[1]?.trim())));

/** Parses the environment (its set variables) or throws one error naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema().safeParse(setVariables(source));
  const problems = result.success ? [...llmProblems(result.data), ...secretProblems(result.data)] : [];
  if (result.success && problems.length === 0) return result.data;
  const lines = result.success
    ? problems.map(([name, message]) => `  ${name}: ${message}`)
    : toFieldIssues(result.error).map((i) => `  ${i.path}: ${i.message}`);
  throw new Error(`invalid incident-pilot configuration:\n${lines.join('\n')}`);
}
