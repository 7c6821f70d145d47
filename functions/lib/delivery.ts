/**
 * The worker's half of the composition root: the sinks and the narrator. Kept apart so that only the
 * worker's bundle carries Slack, stdout and LLM code.
 */
import type { Incident, Sink } from '@incident-pilot/core';
import { createLlmNarrator, createSlackSink, createStdoutSink, type LlmNarrator } from '@incident-pilot/sinks';
import type { Root } from './composition.js';

export interface Delivery {
  sinks(): Promise<Sink[]>;
  /** The templated narration, rephrased by the LLM when one is configured. */
  narrate(incident: Incident): Promise<string>;
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

export function createDelivery(root: Root): Delivery {
  const { env, overrides } = root;
  const fetch = overrides.fetch ?? globalThis.fetch;
  let narrator: LlmNarrator | undefined;
  let slackNoticeLogged = false;

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

  const llm = async () => {
    narrator ??= createLlmNarrator({
      provider: env.INCIDENT_PILOT_LLM_PROVIDER as 'openai' | 'anthropic',
      endpoint: env.INCIDENT_PILOT_LLM_ENDPOINT,
      model: env.INCIDENT_PILOT_LLM_MODEL,
      apiKey: env.INCIDENT_PILOT_LLM_SECRET_ARN
        ? await root.secret(env.INCIDENT_PILOT_LLM_SECRET_ARN)
        : env.INCIDENT_PILOT_LLM_API_KEY,
      fetch,
    });
    return narrator;
  };

  return {
    async sinks() {
      const sinks: Sink[] = [];
      if (!env.INCIDENT_PILOT_QUIET) sinks.push(createStdoutSink(overrides.write ? { write: overrides.write } : {}));
      const url = await slackUrl();
      if (url) sinks.push(createSlackSink({ webhookUrl: url, fetch }));
      return sinks;
    },
    async narrate(incident) {
      const templated = await root.narrate(incident);
      if (!env.INCIDENT_PILOT_LLM_PROVIDER) return templated;
      return (await llm()).rephrase(incident, templated);
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
