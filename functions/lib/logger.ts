import type { Logger } from '@incident-pilot/core';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** One JSON line per entry (CloudWatch Logs Insights reads the fields). */
export function createLogger(level: LogLevel, write = (line: string) => process.stderr.write(`${line}\n`)): Logger {
  const min = LEVELS.indexOf(level);
  const emit = (at: LogLevel) => (message: string, data?: Record<string, unknown>) => {
    if (LEVELS.indexOf(at) >= min)
      write(JSON.stringify({ level: at, time: new Date().toISOString(), message, ...data }));
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
