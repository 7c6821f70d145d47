import { createDynamoStore, type TableNames } from '@incident-pilot/aws';
import {
  acknowledgeIncident,
  ConflictError,
  type Incident,
  muteIncident,
  NotFoundError,
  resolveIncident,
  unmuteIncident,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { freshTables, uniqueId, useEmulators } from '../helpers/emulators.js';
import { baseIncident } from '../sinks/incidents.js';

const emulators = useEmulators();
const storeFor = (names: TableNames = emulators()) => createDynamoStore({ ...names, client: emulators().dynamoClient });
const AT = '2026-11-25T04:10:00.000Z';
const ALICE = { id: 'U0ALICE', name: 'alice' };

async function stored(overrides: Partial<Incident> = {}) {
  const store = storeFor();
  const incident = baseIncident({ id: uniqueId('inc'), ...overrides });
  await store.createIncident(incident);
  return { store, incident };
}

describe('incident patches (DynamoDB)', () => {
  it('sets attributes next to the worker’s, bumps the version, and a null removes one', async () => {
    const { store, incident } = await stored();
    const ref = { channel: 'C0DEFAULT', ts: '1764496800.000100' };

    const patched = await store.patchIncident(incident.id, { slack: ref, mute: { until: AT, by: ALICE } });
    const unmuted = await store.patchIncident(incident.id, { mute: null }, patched.version);

    expect(patched).toMatchObject({ slack: ref, mute: { until: AT, by: ALICE }, version: incident.version + 1 });
    expect(unmuted.version).toBe(incident.version + 2);
    expect(unmuted.mute).toBeUndefined();
    expect(await store.getIncident(incident.id)).toEqual({ ...incident, slack: ref, version: incident.version + 2 });
  });

  it('keeps a patch through the worker’s next version-checked put, which must re-read first', async () => {
    const { store, incident } = await stored();
    await store.patchIncident(incident.id, { slack: { channel: 'C1', ts: '1.1' } });

    // A worker holding the old version loses the race and re-reads, carrying the patch along.
    await expect(
      store.updateIncident({ ...incident, version: incident.version + 1 }, incident.version),
    ).rejects.toThrow(ConflictError);
    const current = (await store.getIncident(incident.id)) as Incident;
    await store.updateIncident({ ...current, alertCount: 9, version: current.version + 1 }, current.version);

    expect(await store.getIncident(incident.id)).toMatchObject({ alertCount: 9, slack: { channel: 'C1', ts: '1.1' } });
  });

  it('refuses a stale version (ConflictError) and an unknown incident (NotFoundError) without writing', async () => {
    const { store, incident } = await stored();

    await expect(store.patchIncident(incident.id, { acknowledgedAt: AT }, incident.version + 5)).rejects.toThrow(
      ConflictError,
    );
    await expect(store.patchIncident('inc-missing', { acknowledgedAt: AT })).rejects.toThrow(NotFoundError);
    expect(await store.getIncident('inc-missing')).toBeNull();
    expect((await store.getIncident(incident.id))?.acknowledgedAt).toBeUndefined();
  });
});

describe('actions from Slack (DynamoDB)', () => {
  it('acknowledge: the first one counts, with a timeline entry; a resolved incident is not acknowledged', async () => {
    const { store, incident } = await stored();

    const first = await acknowledgeIncident(store, incident.id, ALICE, AT);
    const second = await acknowledgeIncident(store, incident.id, { id: 'U0BOB', name: 'bob' }, AT);
    const { incident: closed } = await stored({ status: 'resolved' });

    expect(first.changed).toBe(true);
    expect(second).toMatchObject({ changed: false, incident: { acknowledgedBy: ALICE, acknowledgedAt: AT } });
    expect(first.incident.timeline?.at(-1)).toEqual({
      at: AT,
      type: 'acknowledged',
      summary: 'acknowledged by alice',
      by: 'alice',
    });
    expect((await acknowledgeIncident(store, closed.id, ALICE, AT)).changed).toBe(false);
  });

  it('mute and unmute: stored on the incident, with timeline entries; unmuting an unmuted incident changes nothing', async () => {
    const { store, incident } = await stored();
    const until = '2026-11-25T05:10:00.000Z';

    const muted = await muteIncident(store, incident.id, ALICE, until, AT);
    const unmuted = await unmuteIncident(store, incident.id, ALICE, AT);
    const again = await unmuteIncident(store, incident.id, ALICE, AT);

    expect(muted.incident.mute).toEqual({ until, by: ALICE });
    expect(unmuted.changed).toBe(true);
    expect((await store.getIncident(incident.id))?.mute).toBeUndefined();
    expect(again.changed).toBe(false);
    expect(unmuted.incident.timeline?.map((e) => e.type)).toEqual(['muted', 'unmuted']);
  });

  it('resolve from Slack records who and the note, and is idempotent', async () => {
    const { store, incident } = await stored();
    const deps = { store, narrate: () => 'narrated' };

    const first = await resolveIncident(deps, incident.id, AT, { by: ALICE, note: 'rolled back' });
    const second = await resolveIncident(deps, incident.id, AT, { by: { id: 'U0BOB', name: 'bob' } });

    expect(first.incident).toMatchObject({
      status: 'resolved',
      resolution: 'manual',
      resolvedBy: ALICE,
      resolutionNote: 'rolled back',
    });
    expect(second.changed).toBe(false);
    expect((await store.getIncident(incident.id))?.resolvedBy).toEqual(ALICE);
  });
});

describe('rule feedback (DynamoDB)', () => {
  it('counts firings once per incident and one changeable vote per user, per rule', async () => {
    const store = storeFor(await freshTables(emulators()));
    await store.recordFired('inc-1', ['deploy.recent_correlated', 'logs.error_spike'], '2026-11-25T04:00:00.000Z');
    await store.recordFired('inc-1', ['deploy.recent_correlated'], '2026-11-25T04:00:00.000Z'); // a retry
    await store.recordFired(
      'inc-2',
      ['deploy.recent_correlated', 'deploy.recent_correlated'],
      '2026-11-25T06:00:00.000Z',
    );
    const vote = (incidentId: string, userId: string, v: 'up' | 'down') =>
      store.vote({ incidentId, ruleId: 'deploy.recent_correlated', userId, vote: v, at: AT });
    await vote('inc-1', 'U1', 'up');
    await vote('inc-1', 'U1', 'down'); // changed
    await vote('inc-1', 'U2', 'up');
    await vote('inc-2', 'U1', 'up'); // another incident: another vote
    await vote('inc-2', 'U1', 'up'); // the same again

    const scores = await store.ruleScores(['deploy.recent_correlated', 'logs.error_spike', 'traces.tail_latency']);

    expect(scores).toEqual([
      { ruleId: 'deploy.recent_correlated', fired: 2, up: 2, down: 1, lastFiredAt: '2026-11-25T06:00:00.000Z' },
      { ruleId: 'logs.error_spike', fired: 1, up: 0, down: 0, lastFiredAt: '2026-11-25T04:00:00.000Z' },
      { ruleId: 'traces.tail_latency', fired: 0, up: 0, down: 0, lastFiredAt: null },
    ]);
  });

  it('keeps the later click of a user when two votes are stored in the other order', async () => {
    const store = storeFor(await freshTables(emulators()));
    const vote = (v: 'up' | 'down', at: string) =>
      store.vote({ incidentId: 'inc-1', ruleId: 'logs.error_spike', userId: 'U1', vote: v, at });

    // 👍 then 👎 a moment later, handled by two functions: the 👍 is written last.
    await vote('down', '2026-11-25T04:00:01.200Z');
    await vote('up', '2026-11-25T04:00:01.100Z');

    expect((await store.ruleScores(['logs.error_spike']))[0]).toMatchObject({ up: 0, down: 1 });
  });
});
