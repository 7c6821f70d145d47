import type { EngineConfig } from '../config.js';
import { routeTeam } from '../rules/util.js';
import { type AlertGroup, type AlertInstance, groupAlertname, groupService } from '../schemas/alertmanager.js';
import type { ContextWindow } from '../schemas/context.js';
import {
  type Finding,
  findingSchema,
  maxSeverity,
  type OpenIncidentRef,
  type Severity,
  severityRank,
} from '../schemas/incident.js';
import { formatPath } from '../validation.js';
import type { Rule, RuleContext } from './rule.js';

export interface CorrelationInput {
  group: AlertGroup;
  context: ContextWindow;
  openIncidents: OpenIncidentRef[];
  config: EngineConfig;
  rules: readonly Rule[];
  /** The moment of correlation (ms); defaults to the reference alert's start. */
  at?: number;
}

export interface Correlation {
  service: string;
  alertname: string;
  severity: Severity;
  title: string;
  /** The owning team, decided as `routing.team` explains it. */
  team: string;
  findings: Finding[];
}

/** The reference alert: the earliest firing one, else the earliest of all. */
export function referenceAlert(group: AlertGroup): AlertInstance {
  const byStart = [...group.alerts].sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
  const first = byStart.find((a) => a.status === 'firing') ?? byStart[0];
  if (!first) throw new Error('an alert group has at least one alert');
  return first;
}

/** Maps the conventional `severity` label to ours; unknown values are ignored. */
const LABEL_SEVERITY: Record<string, Severity> = {
  critical: 'critical',
  page: 'critical',
  error: 'high',
  high: 'high',
  warning: 'medium',
  warn: 'medium',
  medium: 'medium',
  low: 'low',
  info: 'info',
  none: 'info',
};

export function labelSeverity(labels: Record<string, string>): Severity | undefined {
  const value = labels.severity?.toLowerCase();
  return value ? LABEL_SEVERITY[value] : undefined;
}

/** Stable order: most severe first, then rule id, then summary. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    a.ruleId.localeCompare(b.ruleId) ||
    a.summary.localeCompare(b.summary)
  );
}

function brokenRule(rule: Rule, problem: string, ctx: RuleContext): Finding {
  return {
    ruleId: rule.id,
    severity: 'low',
    confidence: 'low',
    summary: `Rule ${rule.id} failed and was skipped: ${problem}`,
    suggestion: `Report this to the incident-pilot maintainers; replay with: npx incident-pilot correlate --alert <alert.json> --context <context.json>`,
    evidence: [{ kind: 'rule', ref: rule.id, detail: problem.slice(0, 500), at: ctx.alert.startsAt }],
  };
}

function runRule(rule: Rule, ctx: RuleContext): Finding[] {
  let produced: unknown;
  try {
    produced = rule.evaluate(ctx);
  } catch (error) {
    return [
      brokenRule(rule, `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, ctx),
    ];
  }
  if (!Array.isArray(produced)) return [brokenRule(rule, 'returned something other than a list of findings', ctx)];
  const findings: Finding[] = [];
  for (const [index, item] of produced.entries()) {
    const parsed = findingSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = formatPath([index, ...(issue?.path ?? [])]);
      return [brokenRule(rule, `broke the finding contract at ${where}: ${issue?.message}`, ctx)];
    }
    if (parsed.data.ruleId !== rule.id) {
      return [brokenRule(rule, `returned a finding with ruleId "${parsed.data.ruleId}"`, ctx)];
    }
    findings.push(parsed.data);
  }
  return findings;
}

/**
 * Runs every rule against one alert group and returns the findings in a stable order. The reference
 * time is the group's first alert's `startsAt`, so replaying the same input gives the same answer.
 * Never throws because of a rule.
 */
export function correlate(input: CorrelationInput): Correlation {
  const alert = referenceAlert(input.group);
  const service = groupService(input.group);
  const alertname = groupAlertname(input.group);
  const ctx: RuleContext = {
    group: input.group,
    alert,
    service,
    alertname,
    now: Date.parse(alert.startsAt),
    correlatedAt: input.at ?? Date.parse(alert.startsAt),
    context: input.context,
    openIncidents: input.openIncidents,
    config: input.config,
  };
  const findings = input.rules.flatMap((rule) => runRule(rule, ctx)).sort(compareFindings);
  const fromLabels = labelSeverity(input.group.commonLabels) ?? labelSeverity(alert.labels);
  // The alert's own severity label is the team's judgement; a finding can only raise it.
  const severity = maxSeverity(fromLabels ?? 'low', ...findings.map((f) => f.severity));
  const summary = alert.annotations.summary ?? input.group.commonAnnotations.summary;
  const full = summary ? `${alertname} on ${service}: ${summary}` : `${alertname} on ${service}`;
  // Cut before a lone high surrogate: half an emoji would show as "�".
  const title = full.length > 300 ? `${full.slice(0, 299).replace(/[\ud800-\udbff]$/, '')}…` : full;
  const team = routeTeam(input.group, alert, service, input.config).team;
  return { service, alertname, severity, title, team, findings };
}
