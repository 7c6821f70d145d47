import { heldByMute, inheritedMute, isMuted } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { baseIncident } from '../sinks/incidents.js';

const NOW = Date.parse('2026-11-25T04:00:00.000Z');
const mute = (until: string) => ({ until, by: { id: 'U1', name: 'alice' } });

describe('mutes', () => {
  it('is muted strictly before `until`', () => {
    expect(isMuted(baseIncident(), NOW)).toBe(false);
    expect(isMuted(baseIncident({ mute: mute('2026-11-25T04:00:00.001Z') }), NOW)).toBe(true);
    expect(isMuted(baseIncident({ mute: mute('2026-11-25T04:00:00.000Z') }), NOW)).toBe(false);
  });

  it('holds an open incident’s notifications, never a resolved one’s', () => {
    const muted = { mute: mute('2026-11-25T05:00:00.000Z') };
    expect(heldByMute(baseIncident(muted), NOW)).toBe(true);
    expect(heldByMute(baseIncident({ ...muted, status: 'resolved' }), NOW)).toBe(false);
    expect(heldByMute(baseIncident(muted), Date.parse('2026-11-25T05:00:00.000Z'))).toBe(false);
  });

  it('passes a running mute to the group’s next incident, and an expired one not', () => {
    const running = mute('2026-11-25T05:00:00.000Z');
    expect(inheritedMute(baseIncident({ mute: running }), NOW)).toEqual({ mute: running });
    expect(inheritedMute(baseIncident({ mute: mute('2026-11-25T03:00:00.000Z') }), NOW)).toEqual({});
    expect(inheritedMute(null, NOW)).toEqual({});
  });
});
