import { defineRule } from '../engine/rule.js';
import { SERVICE_LABELS } from '../schemas/alertmanager.js';
import type { Evidence } from '../schemas/incident.js';
import { routeTeam, shellQuote, type TeamSource } from './util.js';

const SERVICE_LABEL_NAMES = SERVICE_LABELS.join(', ');

/**
 * Who owns the alert: the `team` label (common labels, then the reference alert's), else
 * routing.serviceTeams[service], else "unowned". Always fires, severity INFO, so every incident
 * states its owner and why. An alert without any service label gets the service "unknown": mapping
 * that to a team would route every unlabelled alert there, so the finding asks for a label instead.
 */
export const routingTeam = defineRule({
  id: 'routing.team',
  description: 'The team that owns the alerting service, and why',
  evaluate(ctx) {
    const { team, source } = routeTeam(ctx.group, ctx.alert, ctx.service, ctx.config);
    const labels = { ...ctx.group.commonLabels, ...ctx.alert.labels };
    const unlabelled = source === 'none' && !SERVICE_LABELS.some((name) => labels[name]?.trim());
    const configKey = `routing.serviceTeams.${ctx.service}`;
    const evidenceBySource: Record<TeamSource, Evidence> = {
      commonLabels: {
        kind: 'alert',
        ref: 'commonLabels.team',
        detail: `the alert group's common label team="${team}"`,
      },
      alertLabels: {
        kind: 'alert',
        ref: `${ctx.alert.fingerprint}.labels.team`,
        detail: `alert ${ctx.alert.fingerprint} has the label team="${team}"`,
      },
      config: { kind: 'config', ref: configKey, detail: `engine config maps service ${ctx.service} to team ${team}` },
      none: unlabelled
        ? {
            kind: 'alert',
            ref: `${ctx.alert.fingerprint}.labels`,
            detail: `alert ${ctx.alert.fingerprint} has neither a team label nor a service label (${SERVICE_LABEL_NAMES})`,
          }
        : {
            kind: 'config',
            ref: configKey,
            detail: `no team label on the alert and no routing.serviceTeams entry for ${ctx.service}`,
          },
    };
    const summary = {
      commonLabels: `Owned by team ${team}: the alert group carries the label team="${team}"`,
      alertLabels: `Owned by team ${team}: the alert carries the label team="${team}"`,
      config: `Owned by team ${team}: no team label on the alert; the engine config maps ${ctx.service} to ${team}`,
      none: unlabelled
        ? `No owning team: the alert has neither a team label nor a service label (${SERVICE_LABEL_NAMES})`
        : `No owning team: the alert has no team label and routing.serviceTeams has no entry for ${ctx.service}`,
    }[source];
    const suggestion = unlabelled
      ? `Add a team label to the alerting rule, or a service label (${SERVICE_LABEL_NAMES}) that routing.serviceTeams can map to a team`
      : source === 'none'
        ? `Add a team label to the alerting rule, or map the service in the engine config: {"routing":{"serviceTeams":{${JSON.stringify(ctx.service)}:"<team>"}}}`
        : `Page the on-call of team ${team} if they are not already engaged; to change the owner, edit the alert's team label or routing.serviceTeams[${shellQuote(ctx.service)}]`;
    return [
      {
        ruleId: 'routing.team',
        severity: 'info',
        confidence: source === 'none' ? 'low' : source === 'config' ? 'medium' : 'high',
        summary,
        suggestion,
        evidence: [evidenceBySource[source]],
      },
    ];
  },
});
