import { createDynamoStore } from '@incident-pilot/aws';
import { groupIdOf, type Incident } from '@incident-pilot/core';
import type { Emulators } from '../../packages/local/src/emulators.js';
import { freshTables } from './emulators.js';

/** A store on fresh tables holding `incident` as its group's open incident, as a worker leaves it. */
export async function storeWithIncident(emulators: Emulators, incident: Incident) {
  const store = createDynamoStore({ ...(await freshTables(emulators)), client: emulators.dynamoClient });
  const groupId = groupIdOf(incident.groupKey);
  await store.createIncident(incident);
  await store.putGroupState(
    {
      groupId,
      groupKey: incident.groupKey,
      seq: 1,
      openIncidentId: incident.id,
      lastIncidentId: incident.id,
      version: 1,
    },
    null,
  );
  return { store, groupId };
}
