import { TransientError, UnprocessableError } from '@incident-pilot/core';

// Error names (DynamoDB, SQS, the SDK itself) that mean "the service is busy or briefly unreachable".
const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestThrottled',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KmsThrottled',
  'OverLimit',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

// Node socket errors: the endpoint is down, restarting or the connection was cut.
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

interface AwsLikeError {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** True when an AWS SDK error is throttling, a 5xx, a timeout or a network failure. */
export function isTransientAwsError(error: unknown): boolean {
  // Walk the cause chain: the SDK wraps socket errors.
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const err = e as AwsLikeError;
    if (typeof err.name === 'string' && TRANSIENT_NAMES.has(err.name)) return true;
    if (typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)) return true;
    const status = err.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status >= 500) return true;
    if (err.$fault === 'server') return true;
    e = err.cause;
  }
  return false;
}

// Error names that mean "this request, as it is, can never succeed": an item or key over DynamoDB's
// limits, a value it cannot store. Retrying does not help, so they must never become a 503.
const PERMANENT_NAMES = new Set(['ValidationException', 'SerializationException']);

/**
 * The adapters' one error boundary: transient AWS failures become the core's TransientError (the
 * handlers answer 503, the worker retries the job), refusals of the request as it is become an
 * UnprocessableError (422); anything else is rethrown unchanged.
 */
export function mapAwsError(error: unknown, operation: string): unknown {
  if (error instanceof TransientError || error instanceof UnprocessableError) return error;
  const name = error instanceof Error ? error.name : 'unknown error';
  let mapped: Error;
  if (isTransientAwsError(error)) mapped = new TransientError(`${operation} failed transiently (${name})`);
  else if (PERMANENT_NAMES.has(name)) mapped = new UnprocessableError(`${operation} refused the request (${name})`);
  else return error;
  mapped.cause = error;
  return mapped;
}
