/** Builders for rule tests: one alert group at a fixed reference time, plus its context. */
import {
  type AlertGroup,
  type Deploy,
  defaultEngineConfig,
  type EngineConfig,
  type EngineConfigInput,
  engineConfigSchema,
  type Finding,
  findingSchema,
  type LogLevel,
  type LogLine,
  type OpenIncidentRef,
  type Rule,
  type RuleContext,
  rules,
  type Trace,
} from '@incident-pilot/core';

/** The reference alert's `startsAt`: every window is measured from here. */
export const STARTS_AT = '2026-11-25T04:00:00.000Z';
export const NOW = Date.parse(STARTS_AT);
export const SECOND = 1000;
export const MINUTE = 60_000;

/** An ISO time `offsetMs` from the alert's start (negative: before it). */
export const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

export function ruleById(id: string): Rule {
  const rule = rules.find((r) => r.id === id);
  if (!rule) throw new Error(`no rule ${id} in the registry`);
  return rule;
}

export interface ContextOptions {
  service?: string;
  alertname?: string;
  groupKey?: string;
  commonLabels?: Record<string, string>;
  alertLabels?: Record<string, string>;
  fingerprints?: string[];
  deploys?: Deploy[];
  logs?: LogLine[];
  traces?: Trace[];
  openIncidents?: OpenIncidentRef[];
  /** Offset (ms) of the moment of correlation from the alert's start; 0 by default. */
  correlatedAfter?: number;
  config?: EngineConfigInput;
}

export function ruleContext(options: ContextOptions = {}): RuleContext {
  const service = options.service ?? 'api-gateway';
  const alertname = options.alertname ?? 'HighErrorRate';
  const labels = options.alertLabels ?? { alertname, service };
  const alerts = (options.fingerprints ?? ['0123456789abcdef']).map((fingerprint) => ({
    fingerprint,
    status: 'firing' as const,
    startsAt: STARTS_AT,
    endsAt: null,
    labels,
    annotations: {},
    generatorURL: '',
    service,
    alertname,
  }));
  const [alert] = alerts;
  if (!alert) throw new Error('a group has at least one alert');
  const group: AlertGroup = {
    groupKey: options.groupKey ?? `{}:{alertname="${alertname}", service="${service}"}`,
    status: 'firing',
    receiver: 'incident-pilot',
    externalURL: '',
    truncatedAlerts: 0,
    groupLabels: { alertname, service },
    commonLabels: options.commonLabels ?? { alertname, service },
    commonAnnotations: {},
    alerts,
  };
  const config: EngineConfig = options.config ? engineConfigSchema.parse(options.config) : defaultEngineConfig;
  return {
    group,
    alert,
    service,
    alertname,
    now: NOW,
    correlatedAt: NOW + (options.correlatedAfter ?? 0),
    context: { deploys: options.deploys ?? [], logs: options.logs ?? [], traces: options.traces ?? [] },
    openIncidents: options.openIncidents ?? [],
    config,
  };
}

/** Runs a rule and checks every finding against the contract the engine enforces. */
export function evaluate(rule: Rule, ctx: RuleContext): Finding[] {
  return rule.evaluate(ctx).map((f) => findingSchema.parse(f));
}

export const deploy = (offsetMs: number, commit = 'abc1234', service = 'api-gateway', author = 'dana'): Deploy => ({
  service,
  commit,
  author,
  when: at(offsetMs),
});

export const logLine = (
  offsetMs: number,
  message: string,
  level: LogLevel = 'ERROR',
  service = 'api-gateway',
): LogLine => ({ service, level, message, timestamp: at(offsetMs) });

export const trace = (offsetMs: number, durationMs: number, traceId: string, service = 'api-gateway'): Trace => ({
  traceId,
  service,
  durationMs,
  timestamp: at(offsetMs),
});
