/**
 * Typed errors raised by the core and the adapters. The edge (handlers, CLI) maps them to status
 * codes or exit codes in one place; anything else is an unknown fault and is never shown verbatim.
 */
export class IncidentPilotError extends Error {
  override name = 'IncidentPilotError';
}

/** One bad field: `path` is rendered like `alerts[2].startsAt`. */
export interface FieldIssue {
  path: string;
  message: string;
}

export class ValidationError extends IncidentPilotError {
  override name = 'ValidationError';
  constructor(
    readonly issues: FieldIssue[],
    what = 'input',
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

export class NotFoundError extends IncidentPilotError {
  override name = 'NotFoundError';
}

/** Bad or missing credentials. */
export class UnauthorizedError extends IncidentPilotError {
  override name = 'UnauthorizedError';
}

export class PayloadTooLargeError extends IncidentPilotError {
  override name = 'PayloadTooLargeError';
}

/** A conditional write lost a race: re-read and try again. */
export class ConflictError extends IncidentPilotError {
  override name = 'ConflictError';
}

/** A dependency (store, queue, sink) failed in a way that may succeed later: answer 503 / retry the job. */
export class TransientError extends IncidentPilotError {
  override name = 'TransientError';
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    /** The outcome is unknown (e.g. a timeout): the other side may have acted on the request. */
    readonly ambiguous = false,
  ) {
    super(message);
  }
}

/**
 * A sink refused an event for a reason retrying will not fix (an invalid event, a bad or revoked key):
 * not transient, so the job fails loudly into the dead-letter queue and its alarm. The message names
 * the sink and the problem, never the key or the URL.
 */
export class PermanentSinkError extends IncidentPilotError {
  override name = 'PermanentSinkError';
  constructor(
    message: string,
    readonly sink: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
