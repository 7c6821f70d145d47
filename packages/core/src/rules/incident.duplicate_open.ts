import { defineRule } from '../engine/rule.js';
import type { Evidence, OpenIncidentRef } from '../schemas/incident.js';
import { plural } from './util.js';

interface Match {
  incident: OpenIncidentRef;
  /** The shared fingerprint, when matched by fingerprint rather than by service + alertname. */
  fingerprint?: string;
}

/**
 * Another open incident that this alert duplicates: same alert fingerprint (any of the group's
 * alerts against the incident's `fingerprint`/`fingerprints`), or same service + alertname. The
 * group's own incident (same groupKey) is not a duplicate. Severity LOW — it says who is already on
 * it, not how bad it is; confidence high for a fingerprint match, medium for service + alertname.
 * Fingerprint matches rank first, then the newest incident.
 */
export const incidentDuplicateOpen = defineRule({
  id: 'incident.duplicate_open',
  description: 'An open incident already covers the same alert or the same service and alertname',
  evaluate(ctx) {
    const ours = new Set(ctx.group.alerts.map((a) => a.fingerprint.toLowerCase()));
    const matches: Match[] = [];
    for (const incident of ctx.openIncidents) {
      if (incident.status !== 'open' || incident.groupKey === ctx.group.groupKey) continue;
      const theirs = [incident.fingerprint, ...incident.fingerprints].flatMap((f) => (f ? [f.toLowerCase()] : []));
      const fingerprint = theirs.find((f) => ours.has(f));
      if (fingerprint) matches.push({ incident, fingerprint });
      else if (incident.service === ctx.service && incident.alertname === ctx.alertname) matches.push({ incident });
    }
    matches.sort(
      (a, b) =>
        Number(Boolean(b.fingerprint)) - Number(Boolean(a.fingerprint)) ||
        Date.parse(b.incident.openedAt) - Date.parse(a.incident.openedAt) ||
        a.incident.id.localeCompare(b.incident.id),
    );
    const primary = matches[0];
    if (!primary) return [];

    const evidence: Evidence[] = matches.map(({ incident, fingerprint }) => ({
      kind: 'incident',
      ref: incident.id,
      detail: fingerprint
        ? `incident ${incident.id} (${incident.alertname} on ${incident.service}), open since ${incident.openedAt}, already holds alert ${fingerprint}`
        : `incident ${incident.id}, open since ${incident.openedAt}, is about the same service and alertname (${incident.alertname} on ${incident.service})`,
      at: incident.openedAt,
    }));
    const { id } = primary.incident;
    const how = primary.fingerprint
      ? `already holds alert ${primary.fingerprint}`
      : `has the same service and alertname`;
    const others = matches.length - 1;
    const more = others > 0 ? `; ${plural(others, 'more open incident')} ${others === 1 ? 'matches' : 'match'}` : '';
    return [
      {
        ruleId: 'incident.duplicate_open',
        severity: 'low',
        confidence: primary.fingerprint ? 'high' : 'medium',
        summary: `Probably a duplicate: open incident ${id} ${how}${more}`,
        suggestion: `Join the responders of incident ${id} before starting a parallel investigation: curl -s "\${INCIDENT_PILOT_URL:-http://localhost:9099}/api/incidents/${encodeURIComponent(id)}"`,
        evidence,
      },
    ];
  },
});
