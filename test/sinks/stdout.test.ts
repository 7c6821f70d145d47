import { narrate, narrateResolution, narrateUpdate } from '@incident-pilot/core';
import { createStdoutSink } from '@incident-pilot/sinks';
import { describe, expect, it, vi } from 'vitest';
import { baseIncident, COMMIT } from './incidents.js';

function capture() {
  const writes: string[] = [];
  return { writes, write: (text: string) => writes.push(text) };
}

describe('stdout sink', () => {
  it('writes a separator line and the templated narration of an opened incident, in one write', async () => {
    const out = capture();
    const incident = baseIncident();
    await createStdoutSink({ write: out.write }).deliver({ type: 'opened', incident });

    expect(out.writes).toHaveLength(1);
    const [separator, ...rest] = (out.writes[0] ?? '').split('\n');
    expect(separator).toMatch(/^──── incident-pilot · OPENED · inc-20261125-checkout-0001 ─+$/);
    expect(rest.join('\n')).toBe(`${narrate(incident)}\n`);
    expect(out.writes[0]).toContain(COMMIT);
  });

  it('writes the resolution message for a resolved incident', async () => {
    const out = capture();
    const incident = baseIncident({ status: 'resolved', resolvedAt: '2026-11-25T05:00:00Z', resolution: 'manual' });
    await createStdoutSink({ write: out.write }).deliver({ type: 'resolved', incident });

    expect(out.writes).toHaveLength(1);
    expect(out.writes[0]).toMatch(/^──── incident-pilot · RESOLVED · /);
    expect(out.writes[0]).toContain(narrateResolution(incident));
  });

  it('writes what changed, then the current report, for an update', async () => {
    const out = capture();
    const incident = baseIncident();
    const changes = [{ kind: 'alerts_firing' as const, summary: '1 new firing alert (3 of 3 firing)' }];
    await createStdoutSink({ write: out.write }).deliver({ type: 'updated', incident, revision: 1, changes });

    expect(out.writes[0]).toMatch(/^──── incident-pilot · UPDATED · /);
    expect(out.writes[0]).toContain('What changed since the last update\n- 1 new firing alert (3 of 3 firing)');
    expect(out.writes[0]).toContain(narrateUpdate(incident, changes, 1));
  });

  it('uses an injected renderer and name', async () => {
    const out = capture();
    const sink = createStdoutSink({ write: out.write, render: (e) => `custom ${e.type}`, name: 'console' });
    await sink.deliver({ type: 'opened', incident: baseIncident() });
    expect(sink.name).toBe('console');
    expect(out.writes[0]?.endsWith('\ncustom opened\n')).toBe(true);
  });

  it('neutralises terminal escape sequences coming from untrusted text', async () => {
    const out = capture();
    const incident = baseIncident({ title: 'evil \u001b]0;pwned\u0007 \u001b[2J title' });
    await createStdoutSink({ write: out.write }).deliver({ type: 'opened', incident });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting control characters are gone.
    expect(out.writes[0]).not.toMatch(/[\u001b\u0007]/);
    expect(out.writes[0]).toContain('evil \uFFFD]0;pwned\uFFFD \uFFFD[2J title');
  });

  it('defaults to process.stdout', async () => {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const sink = createStdoutSink();
      await sink.deliver({ type: 'opened', incident: baseIncident() });
      expect(sink.name).toBe('stdout');
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0]?.[0])).toContain('HighErrorRate on checkout');
    } finally {
      spy.mockRestore();
    }
  });
});
