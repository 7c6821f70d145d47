/**
 * `incident-pilot correlate`: replay the rule engine on an alert file and a context file, with no
 * store, queue or network — the same `correlate` + `narrate` the worker runs.
 */
import { parseArgs } from 'node:util';
import {
  type AlertGroup,
  type ContextWindow,
  type Correlation,
  correlate,
  type Deploy,
  defaultEngineConfig,
  deploySchema,
  type EngineConfig,
  engineConfigSchema,
  type FieldIssue,
  logInputSchema,
  type NarrationInput,
  narrate,
  narrateResolution,
  narrateUpdate,
  type OpenIncidentRef,
  openIncidentRefSchema,
  parseAlertPayload,
  referenceAlert,
  routeTeam,
  rules,
  timestamp,
  toFieldIssues,
  traceInputSchema,
  ValidationError,
} from '@incident-pilot/core';
import type * as z from 'zod/mini';
import { replayTimeline, type TimelineEvent } from './timeline.js';

/** What the command touches outside itself; tests pass fakes, `main.ts` the real process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads a UTF-8 file; relative paths are relative to the working directory. */
  readFile(path: string): Promise<string>;
  /** The wall clock: only for bare alerts without `startsAt` when `--now` is not given. */
  now(): Date;
}

export const USAGE = `Usage: incident-pilot correlate --alert <file> [--context <file>] [options]
       incident-pilot correlate --timeline <file> [--config <file>] [--update-min-seconds N] [--format text]

Replays the rule engine on files and prints the findings, without any store or network. With
--timeline, replays an ordered list of alert and context events and prints every notification the
incident would have received (opened, each update with what changed, resolved).

Options:
  --alert <file>    Alertmanager webhook body (version 4), a bare alert, or an array of bare alerts
  --context <file>  {"deploys": [...], "logs": [...], "traces": [...], "incidents": [...]}
                    in the POST /context/* shapes; incidents are open ones {id, service, alertname,
                    fingerprint?, status, openedAt}. Log and trace lines without a timestamp are
                    taken to be at --now, else at the alert's startsAt. Default: no context.
  --config <file>   engine config JSON (thresholds); every key optional, defaults otherwise
  --now <ISO>       the moment of correlation: windows that run past the alert's start end here,
                    and bare alerts without startsAt are received then (default: the alert's
                    startsAt for the windows, the clock for bare alerts)
  --timeline <file> [{"at": <ISO>, "alerts": <POST /alerts body>}, {"at": <ISO>, "deploys"|"logs"|
                    "traces": [...]}, ...]: replayed in time order
  --update-min-seconds <N>  with --timeline: at most one update per incident per N s (default 300)
  --format <fmt>    json (default) or text
  -h, --help        show this help

Exit codes: 0 done, 1 bad arguments or invalid input (each bad field named with its path).`;

/** A problem with what the user gave us: printed as is, exit code 1. */
class InputError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

// Each list of the context file and the schema of its items: the POST /context/* shapes.
const CONTEXT_LISTS = {
  deploys: deploySchema,
  logs: logInputSchema,
  traces: traceInputSchema,
  incidents: openIncidentRefSchema,
} as const;

interface ContextFile {
  deploys: Deploy[];
  logs: z.output<typeof logInputSchema>[];
  traces: z.output<typeof traceInputSchema>[];
  incidents: OpenIncidentRef[];
}

const EMPTY_CONTEXT: ContextFile = { deploys: [], logs: [], traces: [], incidents: [] };

/** Validates a context file item by item, so every bad field is reported with its full path. */
function parseContextFile(value: unknown): ContextFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(issueLines('context file', [{ path: '', message: 'expected an object' }]));
  }
  const input = value as Record<string, unknown>;
  const issues: FieldIssue[] = Object.keys(input)
    .filter((key) => !Object.hasOwn(CONTEXT_LISTS, key))
    .map((key) => ({ path: key, message: `unknown key; expected ${Object.keys(CONTEXT_LISTS).join(', ')}` }));
  const parseList = <S extends z.ZodMiniType>(key: keyof typeof CONTEXT_LISTS, schema: S): z.output<S>[] => {
    const list = input[key];
    if (list === undefined) return [];
    if (!Array.isArray(list)) {
      issues.push({ path: key, message: 'expected an array' });
      return [];
    }
    return list.flatMap((item, index) => {
      const result = schema.safeParse(item);
      if (result.success) return [result.data];
      issues.push(...toFieldIssues(result.error, [key, index]));
      return [];
    });
  };
  const file: ContextFile = {
    deploys: parseList('deploys', CONTEXT_LISTS.deploys),
    logs: parseList('logs', CONTEXT_LISTS.logs),
    traces: parseList('traces', CONTEXT_LISTS.traces),
    incidents: parseList('incidents', CONTEXT_LISTS.incidents),
  };
  if (issues.length > 0) throw new InputError(issueLines('context file', issues));
  return file;
}

function issueLines(what: string, issues: readonly FieldIssue[]): string[] {
  return issues.map((i) => `${what}: ${i.path || '(root)'}: ${i.message}`);
}

async function readJson(io: CliIo, what: string, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await io.readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(error));
    throw new InputError([`${what}: cannot read ${path}: ${reason}`]);
  }
  try {
    // A byte order mark (Windows editors, PowerShell) is not JSON, but says nothing about the content.
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    throw new InputError([`${what}: ${path} is not valid JSON: ${(error as Error).message}`]);
  }
}

function parseConfig(value: unknown): EngineConfig {
  const result = engineConfigSchema.safeParse(value);
  if (!result.success) throw new InputError(issueLines('config file', toFieldIssues(result.error)));
  return result.data;
}

/** The context window of one group: timestamp-less lines are placed at `defaultAt`. */
function contextFor(file: ContextFile, defaultAt: string): ContextWindow {
  return {
    deploys: file.deploys,
    logs: file.logs.map((l) => ({ ...l, timestamp: l.timestamp ?? defaultAt })),
    traces: file.traces.map((t) => ({ ...t, timestamp: t.timestamp ?? defaultAt })),
  };
}

function narrationInput(group: AlertGroup, correlation: Correlation, config: EngineConfig): NarrationInput {
  const reference = referenceAlert(group);
  const resolved = group.alerts.filter((a) => a.status === 'resolved');
  const ends = resolved.flatMap((a) => (a.endsAt ? [a.endsAt] : [])).sort((a, b) => Date.parse(a) - Date.parse(b));
  return {
    title: correlation.title,
    severity: correlation.severity,
    status: group.status === 'resolved' ? 'resolved' : 'open',
    service: correlation.service,
    alertname: correlation.alertname,
    team: routeTeam(group, reference, correlation.service, config).team,
    openedAt: reference.startsAt,
    resolvedAt: group.status === 'resolved' ? (ends.at(-1) ?? null) : null,
    findings: correlation.findings,
    alertCount: group.alerts.length,
    firingCount: group.alerts.length - resolved.length,
    resolvedAlertCount: resolved.length,
    truncatedAlerts: group.truncatedAlerts,
  };
}

/**
 * Runs the command line `argv` (without `node` and the script) and returns the exit code. Never
 * throws: every failure becomes a message on stderr.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await runOrThrow(argv, io);
  } catch (error) {
    if (error instanceof InputError) {
      io.stderr(`${error.lines.map((l) => `incident-pilot: ${l}`).join('\n')}\n`);
    } else {
      io.stderr(`incident-pilot: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return 1;
  }
}

async function runOrThrow(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    throw new InputError([(error as Error).message, 'run "incident-pilot --help" for usage']);
  }
  const { values, positionals, tokens } = parsed;
  const given = tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : []));
  const twice = given.find((name, i) => given.indexOf(name) !== i);
  // parseArgs keeps the last value: a first --context would be dropped without a word.
  if (twice !== undefined) throw new InputError([`--${twice} is given twice; give it once`]);
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (command !== 'correlate' || extra.length > 0) {
    const what = command === undefined ? 'missing command' : `unknown command "${[command, ...extra].join(' ')}"`;
    throw new InputError([`${what}; expected "correlate"`, 'run "incident-pilot --help" for usage']);
  }
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'text') throw new InputError([`--format must be json or text, not "${format}"`]);
  if (values.timeline !== undefined) {
    if (values.alert !== undefined || values.context !== undefined) {
      throw new InputError(['--timeline replaces --alert and --context; give one or the other']);
    }
    if (values.now !== undefined) {
      throw new InputError(['--now does not apply to --timeline: each event is correlated at its own "at"']);
    }
    return runTimeline(values.timeline, values.config, values['update-min-seconds'], format, io);
  }
  if (!values.alert) throw new InputError(['--alert <file> is required', 'run "incident-pilot --help" for usage']);
  if (values['update-min-seconds'] !== undefined) {
    throw new InputError(['--update-min-seconds applies only to --timeline']);
  }
  if (values.now !== undefined && !timestamp.safeParse(values.now).success) {
    throw new InputError([`--now must be an RFC 3339 time such as 2026-11-25T03:59:04Z, not "${values.now}"`]);
  }

  // Read and validate everything first, so one run reports every bad file at once.
  const problems: string[] = [];
  const collect = async <T>(step: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.push(...error.lines);
      return undefined;
    }
  };
  const receivedAt = values.now ?? io.now().toISOString();
  const groups = await collect(async () => {
    const body = await readJson(io, 'alert file', values.alert as string);
    try {
      return parseAlertPayload(body, receivedAt);
    } catch (error) {
      if (error instanceof ValidationError) throw new InputError(issueLines('alert file', error.issues));
      throw error;
    }
  });
  const contextFile = await collect(async () =>
    values.context ? parseContextFile(await readJson(io, 'context file', values.context)) : EMPTY_CONTEXT,
  );
  const config = await collect(async () =>
    values.config ? parseConfig(await readJson(io, 'config file', values.config)) : defaultEngineConfig,
  );
  if (problems.length > 0 || !groups || !contextFile || !config) throw new InputError(problems);

  const incidents = groups.map((group) => {
    const defaultAt = values.now ?? referenceAlert(group).startsAt;
    const correlation = correlate({
      group,
      context: contextFor(contextFile, defaultAt),
      // The replayed group has no incident of its own yet; the rule also skips its own groupKey.
      openIncidents: contextFile.incidents,
      config,
      rules,
      ...(values.now ? { at: Date.parse(values.now) } : {}),
    });
    return { group, correlation, narration: narrate(narrationInput(group, correlation, config)) };
  });

  if (format === 'text') {
    io.stdout(`${incidents.map((i) => i.narration).join('\n\n---\n\n')}\n`);
  } else {
    const out = incidents.map(({ group, correlation, narration }) => ({
      groupKey: group.groupKey,
      service: correlation.service,
      alertname: correlation.alertname,
      severity: correlation.severity,
      title: correlation.title,
      team: routeTeam(group, referenceAlert(group), correlation.service, config).team,
      findings: correlation.findings,
      narration,
    }));
    io.stdout(`${JSON.stringify({ incidents: out }, null, 2)}\n`);
  }
  return 0;
}

const TIMELINE_EVENT_KEYS = ['at', 'alerts', 'deploys', 'logs', 'traces'] as const;

/** Validates a timeline file event by event, naming every bad field with its path. */
function parseTimelineFile(value: unknown): TimelineEvent[] {
  const list = Array.isArray(value) ? value : [];
  const issues: string[] = Array.isArray(value) ? [] : ['timeline file: (root): expected an array of events'];
  const events = list.flatMap((raw, index): TimelineEvent[] => {
    const where = `timeline file: [${index}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      issues.push(`${where}: expected an object`);
      return [];
    }
    const { at, alerts, deploys, logs, traces, ...unknown } = raw as Record<string, unknown>;
    // Open incidents are the replay's own: an "incidents" list here would be ignored.
    for (const key of Object.keys(unknown)) {
      issues.push(`${where}.${key}: unknown key; expected ${TIMELINE_EVENT_KEYS.join(', ')}`);
    }
    if (typeof at !== 'string' || !timestamp.safeParse(at).success) {
      issues.push(`${where}.at: expected an RFC 3339 time`);
      return [];
    }
    if (alerts !== undefined) {
      try {
        parseAlertPayload(alerts, at);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        issues.push(...error.issues.map((i) => `${where}.alerts${i.path ? `.${i.path}` : ''}: ${i.message}`));
      }
    }
    try {
      const context = parseContextFile({ deploys, logs, traces });
      const items = { deploys: context.deploys, logs: context.logs, traces: context.traces };
      return [{ at, ...(alerts === undefined ? {} : { alerts }), ...items } as TimelineEvent];
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      issues.push(...error.lines.map((l) => l.replace(/^context file: /, `${where}.`)));
      return [];
    }
  });
  if (issues.length > 0) throw new InputError(issues);
  return events;
}

async function runTimeline(
  file: string,
  configFile: string | undefined,
  updateMinSeconds: string | undefined,
  format: 'json' | 'text',
  io: CliIo,
): Promise<number> {
  const updateMin = Number(updateMinSeconds ?? 300);
  // Number('') is 0: an empty value must not turn pacing off.
  if (updateMinSeconds?.trim() === '' || !Number.isFinite(updateMin) || updateMin < 0) {
    throw new InputError([`--update-min-seconds must be a number of seconds ≥ 0, not "${updateMinSeconds}"`]);
  }
  const events = parseTimelineFile(await readJson(io, 'timeline file', file));
  const config = configFile ? parseConfig(await readJson(io, 'config file', configFile)) : defaultEngineConfig;
  const sent = replayTimeline(events, config, updateMin * 1000);
  if (format === 'text') {
    const blocks = sent.map(({ at, type, incident, revision, changes }) => {
      const label = `${at} · ${type.toUpperCase()}${revision ? ` ${revision}` : ''} · ${incident.id}`;
      const body =
        type === 'opened'
          ? narrate(incident)
          : type === 'updated'
            ? narrateUpdate(incident, changes ?? [], revision)
            : narrateResolution(incident);
      return `──── ${label} ────\n${body}`;
    });
    io.stdout(`${blocks.join('\n\n')}\n`);
  } else {
    const notifications = sent.map(({ at, type, incident, revision, changes }) => ({
      at,
      type,
      incidentId: incident.id,
      ...(revision ? { revision, changes } : {}),
      severity: incident.severity,
      findings: incident.findings.map((f) => ({ ruleId: f.ruleId, severity: f.severity, summary: f.summary })),
    }));
    io.stdout(`${JSON.stringify({ notifications }, null, 2)}\n`);
  }
  return 0;
}

function parseCommandLine(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    tokens: true,
    options: {
      alert: { type: 'string' },
      context: { type: 'string' },
      config: { type: 'string' },
      now: { type: 'string' },
      timeline: { type: 'string' },
      'update-min-seconds': { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
