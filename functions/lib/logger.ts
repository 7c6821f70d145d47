import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '@incident-pilot/core';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Powertools Logger behind the core's Logger port: one JSON line per entry (level, message, timestamp,
 * service), which CloudWatch Logs Insights reads field by field. Info lines go to stdout, warnings and
 * errors to stderr.
 */
export function createLogger(level: LogLevel, serviceName = 'incident-pilot'): Logger {
  const logger = new PowertoolsLogger({ serviceName, logLevel: level.toUpperCase() as 'INFO' });
  return {
    info: (message, data) => logger.info(message, { ...data }),
    warn: (message, data) => logger.warn(message, { ...data }),
    error: (message, data) => logger.error(message, { ...data }),
  };
}

/**
 * A logger adding `keys` (request id, correlation id, group…) to every line. Merged per call rather
 * than with Powertools' `appendKeys`: the local stack runs many invocations at once in one process,
 * and Powertools' temporary keys are shared outside Lambda.
 */
export function withKeys(log: Logger, keys: Record<string, unknown>): Logger {
  return {
    info: (message, data) => log.info(message, { ...keys, ...data }),
    warn: (message, data) => log.warn(message, { ...keys, ...data }),
    error: (message, data) => log.error(message, { ...keys, ...data }),
  };
}
