import { eventTime } from './time.js';
import * as z from './zod.js';

/** Longest service name: it is part of a DynamoDB partition key (at most 2 KB). */
export const MAX_SERVICE_LENGTH = 256;

const nonEmpty = (what: string, max = MAX_SERVICE_LENGTH) =>
  z
    .string()
    .check(
      z.trim(),
      z.minLength(1, `${what} must not be empty`),
      z.maxLength(max, `${what} is longer than ${max} characters`),
    );

/** A deploy, as deploy tools post it to `POST /context/deploys`. */
export const deploySchema = z.lazy(() =>
  z.object({
    service: nonEmpty('service'),
    commit: nonEmpty('commit'),
    author: z.optional(z.string().check(z.maxLength(256, 'author is longer than 256 characters'))),
    when: eventTime,
    /** Free text from the deploy tool, e.g. the commit message. */
    message: z.optional(z.string().check(z.maxLength(2000))),
  }),
);
export type Deploy = z.infer<typeof deploySchema>;

/** Log levels, lowest to highest. Anything at ERROR or above counts as an error line. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'FATAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const LEVEL_ALIASES: Record<string, LogLevel> = { WARNING: 'WARN', ERR: 'ERROR', CRIT: 'CRITICAL', PANIC: 'FATAL' };

export const logLevel = z.lazy(() =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((s: string) => {
        const level = s.trim().toUpperCase();
        return LEVEL_ALIASES[level] ?? level;
      }),
    ),
    z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` }),
  ),
);

export function isErrorLevel(level: LogLevel): boolean {
  // ERROR and above in LOG_LEVELS, spelled out: this runs once per log line, and comparing is cheaper
  // than looking the level up.
  return level === 'ERROR' || level === 'CRITICAL' || level === 'FATAL';
}

/** A log line, as posted to `POST /context/logs`. A missing timestamp means "now". */
export const logInputSchema = z.lazy(() =>
  z.object({
    service: nonEmpty('service'),
    level: logLevel,
    message: z.string().check(z.maxLength(8000, 'message is longer than 8000 characters')),
    timestamp: z.optional(eventTime),
  }),
);

/** A trace summary, as posted to `POST /context/traces`. A missing timestamp means "now". */
export const traceInputSchema = z.lazy(() =>
  z.object({
    traceId: nonEmpty('traceId'),
    service: nonEmpty('service'),
    // Microsecond precision at most, and under a week: what DynamoDB numbers and real traces both allow.
    durationMs: z.pipe(
      z.number().check(z.nonnegative(), z.maximum(604_800_000, 'durationMs is more than a week')),
      z.transform((ms: number) => Math.round(ms * 1000) / 1000),
    ),
    timestamp: z.optional(eventTime),
  }),
);

export type LogLineInput = z.input<typeof logInputSchema>;
export type LogLine = z.output<typeof logInputSchema> & { timestamp: string };
export type Trace = z.output<typeof traceInputSchema> & { timestamp: string };

/** The context kinds accepted by `POST /context/{kind}`. */
export const CONTEXT_KINDS = ['deploys', 'logs', 'traces'] as const;
export type ContextKind = (typeof CONTEXT_KINDS)[number];

export const contextSchemas = {
  deploys: deploySchema,
  logs: logInputSchema,
  traces: traceInputSchema,
} as const;

/** Everything the rules may look at besides the alert itself. */
export interface ContextWindow {
  deploys: Deploy[];
  logs: LogLine[];
  traces: Trace[];
}
