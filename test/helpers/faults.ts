/**
 * Fault injection for the one thing the emulators cannot do: fail like AWS under load (throttling,
 * 5xx). Use it only for that; every happy path runs against the real emulators.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Makes the next `times` requests of `client` throw `makeError()` before they leave the process.
 * It hooks the client's middleware stack rather than `client.send`, because DynamoDBDocumentClient
 * shares the stack of the client it wraps but not its `send`. The hook sits before the SDK's retry
 * middleware, so the error surfaces at once. Returns a function that removes the hook.
 */
export function failNextRequests(client: DynamoDBClient | SQSClient, makeError: () => Error, times = 1): () => void {
  let left = times;
  const name = `injected-fault-${Math.random().toString(36).slice(2)}`;
  const stack = client.middlewareStack as DynamoDBClient['middlewareStack'];
  stack.add(
    (next) => async (args) => {
      if (left > 0) {
        left--;
        throw makeError();
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return () => {
    stack.remove(name);
  };
}
