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

/** Issues a ValidationError lists; the others are only counted, so a 400 body stays small. */
export const MAX_LISTED_ISSUES = 20;
/** Longest path or message of a listed issue (a path may hold a caller's huge key). */
export const MAX_ISSUE_TEXT = 300;

export const clipText = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

export class ValidationError extends IncidentPilotError {
  override name = 'ValidationError';
  /** The first {@link MAX_LISTED_ISSUES} issues, each clipped to {@link MAX_ISSUE_TEXT}. */
  readonly issues: FieldIssue[];
  /** How many issues there were beyond `issues`. */
  readonly moreIssues: number;
  constructor(issues: FieldIssue[], what = 'input') {
    const listed = issues
      .slice(0, MAX_LISTED_ISSUES)
      .map((i) => ({ path: clipText(i.path, MAX_ISSUE_TEXT), message: clipText(i.message, MAX_ISSUE_TEXT) }));
    const more = issues.length - listed.length;
    const text = listed.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
    super(`invalid ${what}: ${text}${more ? `; and ${more} more` : ''}`);
    this.issues = listed;
    this.moreIssues = more;
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

/**
 * Valid input that a dependency refuses as it is (DynamoDB's ValidationException: an item or key over
 * its limits). Retrying the same request cannot succeed, so it is final (422), never a 503. The limits
 * of the schemas are meant to make it unreachable; it is the safety net.
 */
export class UnprocessableError extends IncidentPilotError {
  override name = 'UnprocessableError';
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
