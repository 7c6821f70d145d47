import { ConflictError, NotFoundError } from '../errors.js';
import type { IncidentRepository } from '../ports.js';
import type { Actor, Incident } from '../schemas/incident.js';
import { withTimeline } from './changes.js';

/**
 * Resolves an incident by hand (the API's resolve endpoint). Idempotent: resolving a resolved
 * incident returns it unchanged. The caller queues a job so the sinks hear about it. `by` and `note`
 * record who resolved it (a Slack user) and why.
 */
export async function resolveIncident(
  deps: { store: IncidentRepository; narrate: (incident: Incident) => Promise<string> | string },
  id: string,
  at: string,
  { by, note }: { by?: Actor; note?: string } = {},
): Promise<{ incident: Incident; changed: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await deps.store.getIncident(id);
    if (!current) throw new NotFoundError(`no incident ${id}`);
    if (current.status === 'resolved') return { incident: current, changed: false };
    const incident: Incident = {
      ...current,
      status: 'resolved',
      resolvedAt: at,
      resolution: 'manual',
      ...(by ? { resolvedBy: by } : {}),
      ...(note ? { resolutionNote: note } : {}),
      pendingChanges: [],
      timeline: withTimeline(current, {
        at,
        type: 'resolved',
        summary: `Resolved by hand${by ? ` by ${by.name}` : ''}${note ? `: ${note}` : ''}`,
        ...(by ? { by: by.name } : {}),
      }),
      version: current.version + 1,
    };
    incident.narration = await deps.narrate(incident);
    try {
      await deps.store.updateIncident(incident, current.version);
      return { incident, changed: true };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError(`incident ${id} kept changing; try again`);
}
