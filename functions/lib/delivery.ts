/**
 * The worker's half of the composition root: the sinks and the narrator. Kept apart so that only the
 * worker's bundle carries the sinks' and LLM code.
 */
import { type Incident, IncidentPilotError, type NarrationRequest, narrate, type Sink } from '@incident-pilot/core';
import {
  createChannelPacer,
  createLlmClient,
  createLlmNarrator,
  createOpsgenieSink,
  createPagerDutySink,
  createSlackAppSink,
  createSlackSink,
  createStdoutSink,
  createWebhookSink,
  isUsableKey,
  type LlmNarrator,
  type LlmProviderName,
  type NarrationFallback,
} from '@incident-pilot/sinks';
import type { Root } from './composition.js';
import { METRIC } from './metrics.js';
import { slackApiOf, slackAppEnabled, slackBotToken } from './slack.js';

export interface Delivery {
  sinks(): Promise<Sink[]>;
  /** The templated narration, reworded by the LLM when one is configured and the narrator finds it due. */
  narrate(incident: Incident, request?: NarrationRequest): Promise<string>;
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

export function createDelivery(root: Root): Delivery {
  const { env, overrides } = root;
  const fetch = overrides.fetch ?? globalThis.fetch;
  let narrator: { apiKey: string; narrator: LlmNarrator } | undefined;
  let slackNoticeLogged = false;
  let botNoticeLogged = false;
  // One pacer and client per process: the sinks are rebuilt per job, the channel budget is not.
  const pace = createChannelPacer();
  const slackApi = slackApiOf(root, 10_000);
  const publicUrl = env.INCIDENT_PILOT_PUBLIC_URL || undefined;

  const slackUrl = async () => {
    const url = env.INCIDENT_PILOT_SLACK_SECRET_ARN
      ? await root.secret(env.INCIDENT_PILOT_SLACK_SECRET_ARN)
      : env.INCIDENT_PILOT_SLACK_WEBHOOK;
    if (url && !isUrl(url) && !slackNoticeLogged) {
      // The stack creates the secret with a placeholder until an operator fills it in.
      root.log.info('Slack is not configured: the Slack webhook secret does not hold a URL yet');
      slackNoticeLogged = true;
    }
    return isUrl(url) ? url : '';
  };

  // A key from Secrets Manager that is not one token is the stack's placeholder: the sink stays off.
  const placeholderLogged = new Set<string>();
  const key = async (sink: string, arn: string, value: string) => {
    const found = arn ? await root.secret(arn) : value;
    if (!found || isUsableKey(found)) return found;
    if (!placeholderLogged.has(sink)) {
      root.log.info(`${sink} is not configured: its secret does not hold a key yet`);
      placeholderLogged.add(sink);
    }
    return '';
  };

  /**
   * A sink from its own settings. A secret that cannot be read right now fails only its own sink (its
   * deliveries throw, so the job retries them), never the others.
   */
  const build = async (name: string, make: () => Promise<Sink | null>): Promise<Sink | null> => {
    try {
      return await make();
    } catch (error) {
      return {
        name,
        deliver: async () => {
          throw error;
        },
      };
    }
  };

  /** The paging sinks that are configured, each built on its own. */
  const pagingSinks = async (): Promise<Sink[]> => {
    // Links in pages are for people: through the URL they reach the API under, when one is set.
    const apiUrl = publicUrl ?? env.INCIDENT_PILOT_API_URL;
    const sinks = await Promise.all([
      build('pagerduty', async () => {
        const routingKey = await key(
          'PagerDuty',
          env.INCIDENT_PILOT_PAGERDUTY_SECRET_ARN,
          env.INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY,
        );
        return routingKey
          ? createPagerDutySink({ routingKey, url: env.INCIDENT_PILOT_PAGERDUTY_URL, apiUrl, fetch })
          : null;
      }),
      build('opsgenie', async () => {
        const apiKey = await key(
          'Opsgenie',
          env.INCIDENT_PILOT_OPSGENIE_SECRET_ARN,
          env.INCIDENT_PILOT_OPSGENIE_API_KEY,
        );
        return apiKey ? createOpsgenieSink({ apiKey, url: env.INCIDENT_PILOT_OPSGENIE_URL, apiUrl, fetch }) : null;
      }),
      build('webhook', async () => {
        if (!env.INCIDENT_PILOT_WEBHOOK_URL) return null;
        const secret = env.INCIDENT_PILOT_WEBHOOK_SECRET_ARN
          ? await root.secret(env.INCIDENT_PILOT_WEBHOOK_SECRET_ARN)
          : env.INCIDENT_PILOT_WEBHOOK_SECRET;
        return createWebhookSink({ url: env.INCIDENT_PILOT_WEBHOOK_URL, secret, fetch });
      }),
    ]);
    return sinks.filter((s): s is Sink => s !== null);
  };

  // A discarded rewording is a log line with its reason, and a metric per provider.
  const onFallback = ({ kind, reason, provider }: NarrationFallback) => {
    if (kind === 'skipped') {
      root.log.info('narration kept templated', { provider, reason });
      return;
    }
    root.log.warn(`narration ${kind}`, { provider, reason });
    root.metrics.count(kind === 'rejected' ? METRIC.narrationRejected : METRIC.narrationFailed, 1, { provider });
  };

  /** The narrator, built anew when the key changed (a rotated secret, read through the secrets cache). */
  const llm = async (provider: LlmProviderName) => {
    const apiKey =
      env.INCIDENT_PILOT_LLM_SECRET_ARN && provider !== 'bedrock' && provider !== 'ollama'
        ? await root.secret(env.INCIDENT_PILOT_LLM_SECRET_ARN)
        : env.INCIDENT_PILOT_LLM_API_KEY;
    if (narrator?.apiKey === apiKey) return narrator.narrator;
    const client = createLlmClient(
      {
        provider,
        model: env.INCIDENT_PILOT_LLM_MODEL,
        endpoint: env.INCIDENT_PILOT_LLM_ENDPOINT,
        baseUrl: env.INCIDENT_PILOT_LLM_BASE_URL,
        region: env.INCIDENT_PILOT_LLM_REGION,
        apiKey,
      },
      { fetch, bedrock: overrides.bedrock },
    );
    narrator = {
      apiKey,
      narrator: createLlmNarrator({
        client,
        minSeverity: env.INCIDENT_PILOT_LLM_MIN_SEVERITY,
        maxCallsPerHour: env.INCIDENT_PILOT_LLM_MAX_CALLS_PER_HOUR,
        maxTokens: env.INCIDENT_PILOT_LLM_MAX_TOKENS,
        now: root.now,
        secrets: [apiKey],
        onFallback,
      }),
    };
    return narrator.narrator;
  };

  return {
    async sinks() {
      const sinks: Sink[] = [];
      if (!env.INCIDENT_PILOT_QUIET) sinks.push(createStdoutSink(overrides.write ? { write: overrides.write } : {}));
      const slack = await build('slack', async () => {
        const url = await slackUrl();
        return url ? createSlackSink({ webhookUrl: url, fetch, publicUrl }) : null;
      });
      if (slack) sinks.push(slack);
      const app = await build('slack-app', async () => {
        if (!slackAppEnabled(root)) return null;
        if (await slackBotToken(root)) {
          return createSlackAppSink({
            api: slackApi,
            store: root.store,
            defaultChannel: env.INCIDENT_PILOT_SLACK_CHANNEL,
            channels: root.config.slack.channels,
            pace,
            publicUrl,
            now: root.now,
          });
        }
        if (!botNoticeLogged) {
          root.log.info('Slack app mode is off: the bot-token secret does not hold a bot token (xoxb-…) yet');
          botNoticeLogged = true;
        }
        return null;
      });
      if (app) sinks.push(app);
      sinks.push(...(await pagingSinks()));
      return sinks;
    },
    async narrate(incident, request) {
      const templated = narrate(incident);
      const provider = env.INCIDENT_PILOT_LLM_PROVIDER;
      if (!provider) return templated;
      // The LLM only rewords: a key that cannot be read right now leaves the template (and is read again
      // next time), never holds up the incident and its pages.
      const rewording = await llm(provider).catch((error: unknown) => {
        const why = error instanceof IncidentPilotError ? error.message : 'could not build its client';
        onFallback({ kind: 'failed', reason: why, provider });
        return undefined;
      });
      return rewording ? rewording.rephrase(incident, templated, request) : templated;
    },
  };
}

const deliveries = new WeakMap<Root, Delivery>();

/** One Delivery per root (per cold start). */
export function deliveryOf(root: Root): Delivery {
  let delivery = deliveries.get(root);
  if (!delivery) {
    delivery = createDelivery(root);
    deliveries.set(root, delivery);
  }
  return delivery;
}
