import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, run } from '@incident-pilot/cli';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'packages/cli/bin/incident-pilot.js');
const ALERT = 'examples/replay/alert.json';
const CONTEXT = 'examples/replay/context.json';
const tmp = mkdtempSync(join(tmpdir(), 'incident-pilot-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const cli = (...args: string[]) => exec(process.execPath, [bin, ...args]);

function writeTemp(name: string, value: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const example = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8'));

/** Runs the command in-process with captured output and a fixed clock. */
async function runInProcess(...argv: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    readFile: async (path) => readFileSync(join(root, path), 'utf8'),
    now: () => new Date('2030-01-01T00:00:00Z'),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('incident-pilot correlate (end to end)', () => {
  it('prints the incidents as JSON with findings and narration', async () => {
    const { code, stdout, stderr } = await cli('correlate', '--alert', ALERT, '--context', CONTEXT);

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const { incidents } = JSON.parse(stdout);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      service: 'api-gateway',
      alertname: 'HighErrorRate',
      severity: 'high',
      title: 'HighErrorRate on api-gateway: 5xx rate above 5%',
      team: 'edge',
    });
    expect(incidents[0].findings.map((f: { ruleId: string; severity: string }) => `${f.ruleId} ${f.severity}`)).toEqual(
      ['deploy.recent_correlated high', 'logs.error_spike medium', 'routing.team info'],
    );
    expect(incidents[0].narration).toContain('What changed');
  });

  it('prints the narration as text', async () => {
    const { code, stdout } = await cli('correlate', '--alert', ALERT, '--context', CONTEXT, '--format', 'text');

    expect(code).toBe(0);
    expect(stdout.startsWith('[HIGH] HighErrorRate on api-gateway: 5xx rate above 5%\n')).toBe(true);
    expect(stdout).toContain('top pattern "upstream timeout request <*>" (10 of 10 lines, 100%)');
  });

  it('runs through npx from the repository root', async () => {
    const { code, stdout } = await exec('npx', [
      '--no-install',
      'incident-pilot',
      'correlate',
      '--alert',
      ALERT,
      '--context',
      CONTEXT,
      '--format',
      'text',
    ]);

    expect(code).toBe(0);
    expect(stdout).toContain('Deploy of api-gateway (commit 9f3c2ab by dana) 3 min before the alert started');
  });

  it('exits 1 naming the path of every bad field in both files', async () => {
    const alert = example(ALERT);
    alert.alerts.push(structuredClone(alert.alerts[0]), structuredClone(alert.alerts[0]));
    alert.alerts[2].startsAt = 'yesterday';
    const context = example(CONTEXT);
    context.logs[3].level = 'LOUD';
    delete context.deploys[0].commit;

    const { code, stdout, stderr } = await cli(
      'correlate',
      '--alert',
      writeTemp('bad-alert.json', alert),
      '--context',
      writeTemp('bad-context.json', context),
    );

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('alert file: alerts[2].startsAt: invalid datetime');
    // Named once, not again as "before 2000".
    expect(stderr.match(/alerts\[2\]\.startsAt/g)).toHaveLength(1);
    expect(stderr).toContain('context file: logs[3].level: expected one of TRACE, DEBUG, INFO, WARN, ERROR');
    expect(stderr).toContain('context file: deploys[0].commit: ');
  });

  it('reads a file that starts with a UTF-8 byte order mark, as Windows editors write it', async () => {
    const path = writeTemp('bom-alert.json', `\uFEFF${readFileSync(join(root, ALERT), 'utf8')}`);

    const { code, stdout, stderr } = await cli('correlate', '--alert', path);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).incidents).toHaveLength(1);
  });

  it('exits 1 when a file is missing', async () => {
    const { code, stderr } = await cli('correlate', '--alert', join(tmp, 'nope.json'));

    expect(code).toBe(1);
    expect(stderr).toContain('alert file: cannot read');
    expect(stderr).toContain('no such file');
  });
});

describe('incident-pilot correlate (arguments and input)', () => {
  it.each<{ name: string; argv: string[]; message: string }>([
    { name: 'no command', argv: ['--alert', ALERT], message: 'missing command; expected "correlate"' },
    { name: 'an unknown command', argv: ['explain', '--alert', ALERT], message: 'unknown command "explain"' },
    { name: 'no --alert', argv: ['correlate'], message: '--alert <file> is required' },
    { name: 'an unknown option', argv: ['correlate', '--alert', ALERT, '--fast'], message: "Unknown option '--fast'" },
    {
      name: 'a bad --format',
      argv: ['correlate', '--alert', ALERT, '--format', 'yaml'],
      message: '--format must be json or text',
    },
    {
      name: 'a bad --now',
      argv: ['correlate', '--alert', ALERT, '--now', 'tomorrow'],
      message: '--now must be an RFC 3339 time',
    },
    {
      name: 'an alert file that is not JSON',
      argv: ['correlate', '--alert', 'packages/cli/bin/incident-pilot.js'],
      message: 'alert file: packages/cli/bin/incident-pilot.js is not valid JSON',
    },
    {
      name: 'a context file with an unknown list',
      argv: ['correlate', '--alert', ALERT, '--context', 'test/fixtures/alertmanager/firing-single-alert.json'],
      message: 'context file: alerts: unknown key; expected deploys, logs, traces, incidents',
    },
    {
      name: 'an option given twice',
      argv: ['correlate', '--alert', 'missing.json', '--alert', ALERT],
      message: '--alert is given twice; give it once',
    },
    {
      name: 'an empty --update-min-seconds',
      argv: ['correlate', '--timeline', 'examples/replay/timeline.json', '--update-min-seconds', ''],
      message: '--update-min-seconds must be a number of seconds ≥ 0, not ""',
    },
    {
      name: 'an alert file with no alert',
      argv: ['correlate', '--alert', 'examples/replay/context.json'],
      message: 'alert file: labels: ',
    },
  ])('exits 1 on $name', async ({ argv, message }) => {
    const { code, stdout, stderr } = await runInProcess(...argv);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`incident-pilot: ${message}`);
  });

  it('exits 1 naming bad config fields', async () => {
    const config = writeTemp('config.json', { logs: { minErrors: 0 }, traces: { p99ThresholdMs: 'fast' } });

    const { code, stderr } = await cli('correlate', '--alert', ALERT, '--config', config);

    expect(code).toBe(1);
    expect(stderr).toContain('config file: logs.minErrors: ');
    expect(stderr).toContain('config file: traces.p99ThresholdMs: ');
  });

  it('exits 1 naming a misspelt config key, instead of quietly applying the default', async () => {
    const config = writeTemp('typo.json', { deploy: { windowMinutess: 45 } });

    const { code, stderr } = await cli('correlate', '--alert', ALERT, '--config', config);

    expect(code).toBe(1);
    expect(stderr).toContain('config file: deploy.windowMinutess: unknown key');
  });

  it('applies an engine config file', async () => {
    const config = writeTemp('strict.json', { logs: { minErrors: 11 } });

    const { code, stdout } = await cli('correlate', '--alert', ALERT, '--context', CONTEXT, '--config', config);

    expect(code).toBe(0);
    const rulesFired = JSON.parse(stdout).incidents[0].findings.map((f: { ruleId: string }) => f.ruleId);
    expect(rulesFired).not.toContain('logs.error_spike');
  });

  it('prints usage for --help', async () => {
    const { code, stdout } = await runInProcess('--help');

    expect(code).toBe(0);
    expect(stdout).toContain('Usage: incident-pilot correlate --alert <file>');
  });

  it.each<{ name: string; argv: string[]; startsAt: string | undefined }>([
    { name: 'at --now', argv: ['--now', '2026-11-25T03:59:00Z'], startsAt: undefined },
    { name: "at the alert's startsAt without --now", argv: [], startsAt: '2026-11-25T03:59:00Z' },
  ])('places timestamp-less log lines $name', async ({ argv, startsAt }) => {
    const alert = writeTemp(`bare-${argv.length}.json`, {
      labels: { alertname: 'HighErrorRate', service: 'api-gateway' },
      ...(startsAt ? { startsAt } : {}),
    });
    const logs = Array.from({ length: 5 }, (_, i) => ({
      service: 'api-gateway',
      level: 'error',
      message: `upstream timeout request ${i}`,
    }));
    const context = writeTemp(`untimed-${argv.length}.json`, { logs });

    const { code, stdout } = await cli('correlate', '--alert', alert, '--context', context, ...argv);

    expect(code).toBe(0);
    const [finding] = JSON.parse(stdout).incidents[0].findings;
    expect(finding.ruleId).toBe('logs.error_spike');
    expect(finding.evidence[0].at).toBe('2026-11-25T03:59:00Z');
  });

  it('takes --now as the moment of correlation: error lines after the start count only up to it', async () => {
    const alert = writeTemp('late-lines-alert.json', {
      labels: { alertname: 'HighErrorRate', service: 'api-gateway' },
      startsAt: '2026-11-25T04:00:00Z',
    });
    const logs = Array.from({ length: 6 }, (_, i) => ({
      service: 'api-gateway',
      level: 'error',
      message: `upstream timeout request ${i}`,
      timestamp: `2026-11-25T04:00:0${i}.500Z`,
    }));
    const context = writeTemp('late-lines-context.json', { logs });
    const rulesOf = (out: Outcome) =>
      JSON.parse(out.stdout).incidents[0].findings.map((f: { ruleId: string }) => f.ruleId);

    const atStart = await cli('correlate', '--alert', alert, '--context', context);
    const later = await cli('correlate', '--alert', alert, '--context', context, '--now', '2026-11-25T04:01:00Z');

    expect(rulesOf(atStart)).not.toContain('logs.error_spike');
    expect(rulesOf(later)).toContain('logs.error_spike');
  });
});

describe('incident-pilot correlate --timeline', () => {
  const TIMELINE = 'examples/replay/timeline.json';

  it('prints every notification the incident would have received, updates paced and merged', async () => {
    const { code, stdout } = await runInProcess('correlate', '--timeline', TIMELINE, '--update-min-seconds', '60');

    expect(code).toBe(0);
    const { notifications } = JSON.parse(stdout);
    expect(notifications.map((n: { type: string; at: string }) => `${n.type}@${n.at}`)).toEqual([
      'opened@2026-11-25T04:00:05.000Z',
      'updated@2026-11-25T04:01:30.000Z',
      // The error lines arrived at 04:02:00, within 60 s of the first update: sent when the limit ran out.
      'updated@2026-11-25T04:02:30.000Z',
      'resolved@2026-11-25T04:20:00.000Z',
    ]);
    expect(notifications[1].changes.map((c: { ruleId?: string }) => c.ruleId)).toContain('deploy.recent_correlated');
    expect(notifications[2].changes[0].summary).toContain('payment gateway timeout after <*> ms');
  });

  it('merges changes that come within the limit into one update', async () => {
    const { stdout } = await runInProcess('correlate', '--timeline', TIMELINE, '--update-min-seconds', '600');

    const { notifications } = JSON.parse(stdout);
    const updates = notifications.filter((n: { type: string }) => n.type === 'updated');
    expect(updates).toHaveLength(1);
    expect(updates[0].at).toBe('2026-11-25T04:10:05.000Z');
    expect(updates[0].changes.map((c: { ruleId?: string }) => c.ruleId)).toEqual(
      expect.arrayContaining(['deploy.recent_correlated', 'logs.error_spike']),
    );
  });

  it('prints the reports as text, each under a header naming the time and the event', async () => {
    const { code, stdout } = await runInProcess('correlate', '--timeline', TIMELINE, '--format', 'text');

    expect(code).toBe(0);
    expect(stdout).toContain('──── 2026-11-25T04:00:05.000Z · OPENED · inc-');
    expect(stdout).toMatch(/──── 2026-11-25T04:05:05\.000Z · UPDATED 1 · inc-[0-9a-f]+ ────\n\[UPDATE\]/);
    expect(stdout).toContain('What changed since the last update');
  });

  it('announces alerts that join the group and a partial resolution, as the worker does', async () => {
    const alert = (instance: string, fingerprint: string, extra: Record<string, string> = {}) => ({
      labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'warning', instance },
      startsAt: '2026-11-25T04:00:00Z',
      fingerprint,
      ...extra,
    });
    const a = alert('a', '1a2b3c4d5e6f7a8b');
    const b = alert('b', '2a2b3c4d5e6f7a8b');
    const file = writeTemp('joining-timeline.json', [
      { at: '2026-11-25T04:00:05Z', alerts: [a] },
      { at: '2026-11-25T04:02:00Z', alerts: [a, b] },
      { at: '2026-11-25T04:04:00Z', alerts: [alert('a', a.fingerprint, { endsAt: '2026-11-25T04:03:30Z' }), b] },
    ]);

    const { code, stdout } = await cli('correlate', '--timeline', file, '--update-min-seconds', '0');

    expect(code).toBe(0);
    const { notifications } = JSON.parse(stdout);
    const changes = notifications.flatMap((n: { changes?: { summary: string }[] }) =>
      (n.changes ?? []).map((c) => c.summary),
    );
    expect(changes).toEqual(['1 new firing alert (2 of 2 firing)', 'Partially resolved: 1 of 2 alerts resolved']);
  });

  it('names every bad event field, and refuses --timeline with --alert', async () => {
    const bad = writeTemp('bad-timeline.json', [{ at: 'yesterday' }, { at: '2026-11-25T04:00:00Z', logs: [{}] }]);

    const invalid = await cli('correlate', '--timeline', bad);
    const both = await cli('correlate', '--timeline', bad, '--alert', ALERT);

    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('timeline file: [0].at: expected an RFC 3339 time');
    expect(invalid.stderr).toContain('timeline file: [1].logs[0].service');
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--timeline replaces --alert and --context');
  });

  it('names an event list the timeline does not replay, instead of ignoring it', async () => {
    const incident = {
      id: 'inc-1',
      service: 'checkout',
      alertname: 'X',
      status: 'open',
      openedAt: '2026-11-25T03:00:00Z',
    };
    const path = writeTemp('incidents-timeline.json', [{ at: '2026-11-25T04:00:00Z', incidents: [incident] }]);

    const { code, stdout, stderr } = await cli('correlate', '--timeline', path);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('timeline file: [0].incidents: unknown key; expected at, alerts, deploys, logs, traces');
  });

  it('refuses an option the mode would silently ignore', async () => {
    const nowWithTimeline = await runInProcess('correlate', '--timeline', TIMELINE, '--now', '2026-11-25T04:10:00Z');
    const pacingWithAlert = await runInProcess('correlate', '--alert', ALERT, '--update-min-seconds', '60');

    expect(nowWithTimeline.code).toBe(1);
    expect(nowWithTimeline.stderr).toContain('--now');
    expect(pacingWithAlert.code).toBe(1);
    expect(pacingWithAlert.stderr).toContain('--update-min-seconds');
  });
});
