/**
 * The alert storm of `scripts/storm.ts` at a quick scale, through the same code: the delivery plan
 * is what Alertmanager would send, and the invariants are the script's own (no alert lost, one
 * incident and one "opened" notification per group, duplicates recognised as such).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, runStorm, type StormReport } from '../../packages/local/src/storm.js';
import { planStorm } from '../../packages/local/src/storm-plan.js';
import { type StormTarget, startStormTarget } from '../../packages/local/src/storm-target.js';

const ALERTS = 300;
const GROUPS = 10;
/** Fixed `now` for the plan-only tests, so two plans with the same seed are byte-identical. */
const EPOCH = '2026-11-25T04:00:00Z';

interface Alert {
  fingerprint: string;
  startsAt: string;
}

describe('alert storm (quick scale)', () => {
  describe('the delivery plan', () => {
    const plan = planStorm({ alerts: ALERTS, groups: GROUPS, seed: 7, runId: 'test01', now: Date.parse(EPOCH) });
    const bodies = plan.rounds.flat().map((d) => ({ ...d, hook: JSON.parse(d.body) }));

    it('spreads the alerts over the groups, each group under its own groupKey', () => {
      expect(plan.perGroup.reduce((a, b) => a + b, 0)).toBe(ALERTS);
      expect(new Set(plan.groupKeys).size).toBe(GROUPS);
      const distinct = new Set(
        bodies.flatMap((d) => d.hook.alerts.map((a: Alert) => `${a.fingerprint}@${a.startsAt}`)),
      );
      expect(distinct.size).toBe(ALERTS);
    });

    it('notifies each group as it grows, every notification listing the whole group so far', () => {
      for (const [g, key] of plan.groupKeys.entries()) {
        const growth = bodies.filter((d) => d.group === g && d.kind === 'growth');
        const sizes = growth.map((d) => d.hook.alerts.length);
        expect(growth.every((d) => d.hook.groupKey === key)).toBe(true);
        expect(sizes.length).toBeGreaterThanOrEqual(3);
        expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
        expect(sizes.at(-1)).toBe(plan.perGroup[g]);
        // Each later notification repeats the earlier alerts, field for field.
        for (const [i, d] of growth.entries()) {
          if (i > 0) expect(d.hook.alerts.slice(0, sizes[i - 1])).toEqual(growth[i - 1]?.hook.alerts);
        }
      }
    });

    it('adds byte-identical HA duplicates, re-sends and one repeat per group', () => {
      const kinds = new Set(bodies.map((d) => d.kind));
      expect(kinds).toEqual(new Set(['growth', 'ha-duplicate', 'retry', 'repeat']));
      const growthBodies = new Set(bodies.filter((d) => d.kind === 'growth').map((d) => d.body));
      for (const d of bodies.filter((b) => b.kind !== 'growth')) expect(growthBodies).toContain(d.body);
      expect(bodies.filter((d) => d.kind === 'repeat')).toHaveLength(GROUPS);
    });

    it('is the same storm for the same seed', () => {
      const again = planStorm({ alerts: ALERTS, groups: GROUPS, seed: 7, runId: 'test01', now: Date.parse(EPOCH) });
      expect(again.rounds).toEqual(plan.rounds);
    });
  });

  describe('against the local stack', () => {
    let target: StormTarget;
    let report: StormReport;
    const plan = planStorm({ alerts: ALERTS, groups: GROUPS, seed: 11 });

    beforeAll(async () => {
      target = await startStormTarget();
      report = await runStorm({
        alerts: ALERTS,
        groups: GROUPS,
        plan,
        concurrency: 10,
        url: target.url,
        token: target.token,
        settleTimeoutMs: 60_000,
        queueDepth: target.queueDepth,
        dlqDepth: target.dlqDepth,
        openedNotifications: target.openedNotifications,
      });
    }, 150_000);
    afterAll(async () => {
      await target?.stop();
    });

    it('holds every invariant of the storm script', () => {
      expect(report.failures).toEqual([]);
      expect(checkInvariants(report)).toEqual([]);
    });

    it('stores each alert once and recognises every repeat as a duplicate', () => {
      expect(report).toMatchObject({ accepted: ALERTS, rejected: 0, failed: 0, settled: true });
      expect(report.duplicates).toBe(report.alertEntries - ALERTS);
      expect(report.duplicates).toBeGreaterThan(ALERTS);
      expect(report.stats).toMatchObject({ alertsReceived: ALERTS, duplicatesDropped: report.duplicates });
    });

    it('opens exactly one incident per group, holding all of its alerts, announced once', () => {
      expect(report.incidents).toBe(GROUPS);
      expect(report.alertsOnIncidents).toBe(ALERTS);
      expect(report.groupMismatches).toEqual([]);
      expect(report.openedNotifications).toBe(GROUPS);
      expect(report.notifiedTwice).toBe(0);
      expect(report.stats.incidentsOpened).toBe(GROUPS);
      expect(report.dlqDepth).toBe(0);
    });

    it('answers the same storm delivered again with duplicates only: no new alert, incident or notification', async () => {
      const slackBefore = target.slackMessages;
      const again = await runStorm({
        alerts: ALERTS,
        groups: GROUPS,
        plan,
        concurrency: 10,
        url: target.url,
        token: target.token,
        settleTimeoutMs: 30_000,
        queueDepth: target.queueDepth,
        openedNotifications: target.openedNotifications,
      });
      expect(again).toMatchObject({ accepted: 0, duplicates: again.alertEntries, rejected: 0, failed: 0 });
      expect(again).toMatchObject({ incidents: GROUPS, alertsOnIncidents: ALERTS, openedNotifications: GROUPS });
      expect(again.stats).toMatchObject({ alertsReceived: 0, incidentsOpened: 0, notificationsSent: 0 });
      expect(target.slackMessages).toBe(slackBefore);
    });
  });
});
