/**
 * Deploys posted to /context/deploys, forwarded to PagerDuty as Change Events when
 * INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS is on. Best effort, at ingest: a failure is logged (never the
 * key or the URL) and the context is stored and acknowledged all the same.
 */
import type { Deploy } from '@incident-pilot/core';
import { isUsableKey, MAX_CHANGE_EVENTS, sendPagerDutyChangeEvents } from '@incident-pilot/sinks';
import type { Root } from './composition.js';

export async function forwardDeploys(root: Root, deploys: Deploy[]): Promise<void> {
  const { env, log } = root;
  if (!env.INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS || deploys.length === 0) return;
  try {
    const routingKey = env.INCIDENT_PILOT_PAGERDUTY_SECRET_ARN
      ? await root.secret(env.INCIDENT_PILOT_PAGERDUTY_SECRET_ARN)
      : env.INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY;
    if (!isUsableKey(routingKey)) {
      log.info('deploys not forwarded to PagerDuty: its secret does not hold a routing key yet');
      return;
    }
    const sent = await sendPagerDutyChangeEvents(deploys, {
      routingKey,
      url: env.INCIDENT_PILOT_PAGERDUTY_URL,
      ...(root.overrides.fetch ? { fetch: root.overrides.fetch } : {}),
    });
    log.info('deploys forwarded to PagerDuty as change events', {
      sent,
      notForwarded: Math.max(0, deploys.length - MAX_CHANGE_EVENTS),
    });
  } catch (error) {
    log.warn('could not forward deploys to PagerDuty as change events; the context is stored', {
      error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
    });
  }
}
