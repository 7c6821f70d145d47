/**
 * The stack's configuration: CDK context (`cdk.json`, or `-c key=value` on the command line), parsed
 * and validated in this one place. Everything downstream receives a typed {@link StackConfig}.
 */
import { engineConfigSchema, SEVERITIES, toFieldIssues } from '@incident-pilot/core';
import * as z from 'zod';

/** The retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** `-c key=value` always arrives as a string; cdk.json values arrive typed. Accept both. */
const fromJsonString = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value; // leave it to the schema to name the problem
  }
};
/** For the keys that take a JSON object (`-c llm='{…}'`): a string that does not parse is named as such. */
const fromJsonObject = (value: unknown, ctx: z.RefinementCtx): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `is not valid JSON (${(error as Error).message})`, input: value });
    return z.NEVER;
  }
};
const int = (min: number, max: number) => z.preprocess(fromJsonString, z.number().int().min(min).max(max));
const bool = z.preprocess(fromJsonString, z.boolean());
// zod's own "Invalid URL" would not say why a well-formed http:// URL is refused.
const requiredHttpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL' });
const httpsUrl = z.union([z.literal(''), requiredHttpsUrl]).default('');
const regionName = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'is not an AWS Region');
const awsRegion = z.union([z.literal(''), regionName]);

/** Geographies of Bedrock's system-defined (cross-Region) inference profiles: `<geography>.<model id>`. */
const PROFILE_GEOGRAPHIES = ['us', 'us-gov', 'eu', 'apac', 'jp', 'au', 'ca', 'global'];

/** `eu.anthropic.claude-…` → `{ geography: 'eu', modelId: 'anthropic.claude-…' }`; a model id → undefined. */
export function inferenceProfileOf(id: string): { geography: string; modelId: string } | undefined {
  const dot = id.indexOf('.');
  const geography = id.slice(0, dot);
  return dot > 0 && PROFILE_GEOGRAPHIES.includes(geography) ? { geography, modelId: id.slice(dot + 1) } : undefined;
}

export const configSchema = z.object({
  /** Deployment stage; part of the stack name (`IncidentPilot-<stage>`) and of alarm names. */
  stage: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,19}$/, 'must be 1-20 lowercase letters, digits or dashes, starting with a letter')
    .default('prod'),
  /** Retention of every function's and the API's log group, in days (a CloudWatch Logs value). */
  logRetentionDays: z
    .preprocess(
      fromJsonString,
      z
        .number()
        .refine(
          (d) => (RETENTION_DAYS as readonly number[]).includes(d),
          `must be one of ${RETENTION_DAYS.join(', ')}`,
        ),
    )
    .default(30),
  /** Where alarm notifications are e-mailed; empty = no subscription (subscribe to the topic yourself). */
  alarmEmail: z.union([z.literal(''), z.email()]).default(''),
  /** Upper bound of concurrent worker invocations the SQS event source may start (2-1000). */
  workerMaxConcurrency: int(2, 1000).default(5),
  /** The worker's memory in MB (128-10240); Lambda gives it CPU in proportion. */
  workerMemoryMb: int(128, 10_240).default(512),
  /** What happens to data (tables, secrets, key, logs) on `cdk destroy`: `retain` keeps it. */
  removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  /** Steady-state request rate limit of the API stage (requests per second). */
  apiThrottleRate: int(1, 10_000).default(50),
  /** Burst limit of the API stage (requests). */
  apiThrottleBurst: int(1, 5_000).default(100),
  /** `all`: an incident resolves when all of its alerts resolved; `any`: on the first resolved alert. */
  resolvePolicy: z.enum(['all', 'any']).default('all'),
  /** How long context (deploys, logs, traces) is kept, in hours. */
  contextTtlHours: int(1, 24 * 90).default(48),
  /** How long raw alert records are kept, in days (incidents are kept forever). */
  alertTtlDays: int(1, 3650).default(30),
  /** At most one re-correlation of an open incident per this many seconds. */
  refreshSeconds: int(0, 900).default(60),
  /** At most one `updated` notification per incident per this many seconds (0: no limit). */
  updateMinSeconds: int(0, 86_400).default(300),
  /** Rule thresholds, passed to the functions as `INCIDENT_PILOT_ENGINE_CONFIG`. */
  engineConfig: z.preprocess(fromJsonObject, z.record(z.string(), z.unknown())).default({}),
  /** Optional LLM rewording; an empty provider means templated narration only (README: LLM rewording). */
  llm: z
    .preprocess(
      fromJsonObject,
      z
        .strictObject({
          provider: z.enum(['', 'openai', 'openai-compatible', 'anthropic', 'ollama', 'bedrock']).default(''),
          /** A model name; for Bedrock a model id or a (cross-Region) inference-profile id. */
          model: z
            .string()
            .regex(/^[\w.:/-]*$/, 'letters, digits and . : / - _ only')
            .default(''),
          /** The full URL of the call (HTTP providers). */
          endpoint: httpsUrl,
          /** The provider's base URL; for Bedrock an endpoint override (a VPC interface endpoint). */
          baseUrl: httpsUrl,
          /** Bedrock: the Region the worker calls (default: the stack's). */
          region: awsRegion.default(''),
          /** Bedrock, geographic inference profile (`us.`, `eu.`, …): the Regions it routes requests to. */
          profileRegions: z.array(regionName).default([]),
          minSeverity: z.enum(SEVERITIES).default('high'),
          maxCallsPerHour: int(0, 100_000).default(60),
          maxTokens: int(256, 200_000).default(4096),
        })
        .superRefine((llm, ctx) => {
          const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
          if (llm.provider && !llm.model) problem('model', 'is required with a provider');
          if (llm.provider === 'openai-compatible' && !llm.endpoint && !llm.baseUrl) {
            problem('baseUrl', 'is required with openai-compatible');
          }
          // Ollama's default base URL is http://localhost:11434: nothing listens there in Lambda.
          if (llm.provider === 'ollama' && !llm.endpoint && !llm.baseUrl) {
            problem('baseUrl', 'is required with ollama (its default, localhost, is not reachable from Lambda)');
          }
          if (llm.endpoint && llm.baseUrl) problem('baseUrl', 'set either it or endpoint, not both');
          if (llm.provider !== 'bedrock') {
            if (llm.region) problem('region', 'is for bedrock only');
            if (llm.profileRegions.length > 0) problem('profileRegions', 'is for bedrock only');
            return;
          }
          if (llm.endpoint) problem('endpoint', 'is not used by bedrock (an endpoint override is baseUrl)');
          const profile = inferenceProfileOf(llm.model);
          if (profile && profile.geography !== 'global' && llm.profileRegions.length === 0) {
            problem('profileRegions', `is required with the inference profile ${llm.model}: the Regions it routes to`);
          }
          if (!profile && llm.profileRegions.length > 0) problem('profileRegions', 'is for inference profiles only');
        }),
    )
    .default({
      provider: '',
      model: '',
      endpoint: '',
      baseUrl: '',
      region: '',
      profileRegions: [],
      minSeverity: 'high',
      maxCallsPerHour: 60,
      maxTokens: 4096,
    }),
  /**
   * Paging sinks' non-secret settings (keys live in Secrets Manager): the PagerDuty Events API and
   * Opsgenie API URLs, PagerDuty change events for posted deploys, and the signed webhook's URL
   * (empty: no webhook).
   */
  paging: z
    .preprocess(
      fromJsonObject,
      z.strictObject({
        pagerdutyUrl: requiredHttpsUrl.default('https://events.pagerduty.com/v2/enqueue'),
        pagerdutyChangeEvents: bool.default(false),
        opsgenieUrl: requiredHttpsUrl.default('https://api.opsgenie.com'),
        webhookUrl: httpsUrl,
      }),
    )
    .default({
      pagerdutyUrl: 'https://events.pagerduty.com/v2/enqueue',
      pagerdutyChangeEvents: false,
      opsgenieUrl: 'https://api.opsgenie.com',
      webhookUrl: '',
    }),
  /** Slack app mode: the default channel id (empty = app mode off); `engineConfig.slack.channels` routes. */
  slackChannel: z
    .string()
    .regex(/^$|^[CGD][A-Z0-9]{2,30}$/, 'must be a Slack channel id such as C0123ABCD')
    .default(''),
  /** Base URL people open incidents under (e.g. behind your SSO proxy); adds a link to Slack messages. */
  publicUrl: httpsUrl,
  /** Log level of the functions' structured logs. */
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** AWS X-Ray active tracing on the functions (adds X-Ray permissions and cost). */
  tracing: bool.default(false),
  /** Alarm when the oldest queued job is older than this many seconds (the worker is stuck or failing). */
  queueAgeAlarmSeconds: int(60, 86_400).default(300),
  /** Alarm when an incident's first notification came later than this after its alert started. */
  notificationLatencyAlarmSeconds: int(10, 86_400).default(300),
  /** Dead man's switch: minutes without a heartbeat alert before an incident; 0 = off (no check deployed). */
  heartbeatMinutes: int(0, 10_080).default(0),
  /** The alertname of the heartbeat (Alertmanager's always-firing Watchdog). */
  heartbeatAlertname: z.string().min(1).max(256).default('Watchdog'),
});

export type StackConfig = z.output<typeof configSchema>;
export const CONTEXT_KEYS = Object.keys(configSchema.shape) as (keyof StackConfig)[];

/** A configuration problem: the message names every bad key; no stack trace needed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates the raw context values (undefined = default) and returns the typed configuration, or
 * throws one ConfigError naming every bad key, and every unknown one. `engineConfig` is also checked
 * against the engine's own schema, so a typo in a threshold fails `cdk synth`, not the first alert.
 */
export function parseConfig(context: Record<string, unknown>): StackConfig {
  const result = configSchema.safeParse(context);
  const issues = result.success ? [] : toFieldIssues(result.error).map((i) => `  ${i.path}: ${i.message}`);
  for (const key of unknownContextKeys(context)) {
    issues.push(`  ${key}: unknown key (not an incident-pilot setting; it would be silently ignored)`);
  }
  const engineInput = fromJsonString(context.engineConfig ?? {});
  if (isPlainObject(engineInput)) {
    const engine = engineConfigSchema.safeParse(engineInput);
    if (engine.success) {
      // Slack app mode is on only with a default channel: routes alone would leave it silently off.
      const { byService, byTeam } = engine.data.slack.channels;
      if (Object.keys({ ...byService, ...byTeam }).length > 0 && !context.slackChannel) {
        issues.push('  slackChannel: is required with engineConfig.slack.channels (Slack app mode is off without it)');
      }
    } else {
      issues.push(...toFieldIssues(engine.error, ['engineConfig']).map((i) => `  ${i.path}: ${i.message}`));
    }
  }
  if (!result.success || issues.length > 0) {
    throw new ConfigError(`invalid CDK context (cdk.json "context" or -c key=value):\n${issues.join('\n')}`);
  }
  return result.data;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Context keys spelt like ours (letters and digits, or a dotted path such as `-c llm.provider=…`) that
 * are none of ours: `-c alarmEmial=…` would otherwise deploy with the default. CDK's own keys contain
 * `:` or `-`, and feature flags start with `@`.
 */
function unknownContextKeys(context: Record<string, unknown>): string[] {
  const known: readonly string[] = CONTEXT_KEYS;
  return Object.keys(context).filter((key) => /^[A-Za-z]\w*(\.\w+)*$/.test(key) && !known.includes(key));
}
