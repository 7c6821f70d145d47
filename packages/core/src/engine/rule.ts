import type { EngineConfig } from '../config.js';
import type { AlertGroup, AlertInstance } from '../schemas/alertmanager.js';
import type { ContextWindow } from '../schemas/context.js';
import type { Finding, OpenIncidentRef } from '../schemas/incident.js';

/** Everything a rule may read. Rules are pure: no I/O, no clock, no randomness. */
export interface RuleContext {
  /** The alert group being correlated. */
  group: AlertGroup;
  /** The group's first firing alert (earliest `startsAt`): the reference alert. */
  alert: AlertInstance;
  service: string;
  alertname: string;
  /** Reference time in ms: the reference alert's `startsAt`, never the wall clock. */
  now: number;
  /**
   * The moment of correlation in ms (≥ `now` in practice): windows that run past the alert's start end
   * here. For a replay it is the CLI's `--now`, so a replay stays deterministic.
   */
  correlatedAt: number;
  context: ContextWindow;
  /** Open incidents other than the one this group already has. */
  openIncidents: OpenIncidentRef[];
  config: EngineConfig;
}

/**
 * A correlation rule. `evaluate` returns the findings it supports (often zero or one); each must
 * carry at least one piece of evidence. The engine contains a rule that throws or breaks that
 * contract, so a rule can never crash the pipeline.
 */
export interface Rule {
  /** Dotted id, e.g. `deploy.recent_correlated`; the rule's file is named after it. */
  id: string;
  description: string;
  evaluate(ctx: RuleContext): Finding[];
}

/** Declares a rule; a thin identity that keeps every rule file the same shape. */
export function defineRule(rule: Rule): Rule {
  return rule;
}
