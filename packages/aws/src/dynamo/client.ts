/**
 * What every DynamoDB repository shares: one document client, the table names, error mapping and
 * the few access patterns they all use (conditional write, consistent get, paged query, batch get,
 * put and delete).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  type BatchWriteWriteRequest as WriteRequest,
} from '@aws-sdk/lib-dynamodb';
import { TransientError } from '@incident-pilot/core';
import { mapAwsError } from '../errors.js';

export type Item = Record<string, unknown>;

export interface DynamoTables {
  /** The data table (env `INCIDENT_PILOT_TABLE`). */
  tableName: string;
  /** The incidents table (env `INCIDENT_PILOT_INCIDENTS_TABLE`). */
  incidentsTableName: string;
  client?: DynamoDBClient;
  /** Epoch milliseconds; the TTL filter of reads that take no `now` argument. Tests replace it. */
  now?: () => number;
}

const BATCH_WRITE_SIZE = 25;
const BATCH_GET_SIZE = 100;
/** Attempts of a batch call before the keys DynamoDB keeps leaving unprocessed fail it. */
const BATCH_ATTEMPTS = 8;

/** Parallel writes per call: enough to hide latency, few enough not to trip on-demand throttling. */
export const CONCURRENCY = 8;

/** Filter for items whose TTL has not passed (`#exp` → `expiresAt`, `:now` → epoch seconds). */
export const notExpired = 'attribute_not_exists(#exp) OR #exp >= :now';

export type Dynamo = ReturnType<typeof createDynamo>;

export function createDynamo({
  tableName,
  incidentsTableName,
  client = new DynamoDBClient({}),
  now = Date.now,
}: DynamoTables) {
  const doc = DynamoDBDocumentClient.from(client, {
    // Empty strings are valid non-key attribute values; keep them as they are. A label or annotation
    // named `constructor` makes a plain object look like a class instance to the marshaller: maps all.
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false, convertClassInstanceToMap: true },
  });

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw mapAwsError(error, `DynamoDB ${operation}`);
    }
  }

  /**
   * Runs a conditional write: true when it was written, false when its condition failed. A condition
   * that failed on an attempt the SDK retried (after a timeout or a 5xx) may have failed on what the
   * first attempt wrote: `wroteIt`, when given, tells whether the item holds this write, and decides.
   */
  async function conditionalWrite(
    operation: string,
    run: () => Promise<unknown>,
    wroteIt?: () => Promise<boolean>,
  ): Promise<boolean> {
    try {
      await call(operation, run);
      return true;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return wroteIt !== undefined && attemptsOf(error) > 1 ? wroteIt() : false;
    }
  }

  async function getItem(table: string, key: Item): Promise<Item | undefined> {
    const out = await call('GetItem', () =>
      doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  /** Every page of a query, or its first `max` items. */
  async function queryAll(input: QueryCommandInput, max = Number.POSITIVE_INFINITY): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await call('Query', () => doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start })));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start && items.length < max);
    return items.slice(0, max);
  }

  /**
   * Sends `all` in chunks of `size`, sending again what DynamoDB leaves unprocessed (throttled items
   * come back that way rather than as an error), with backoff, a few times before giving up.
   */
  async function inBatches<T>(
    all: T[],
    size: number,
    operation: string,
    send: (batch: T[]) => Promise<T[]>,
  ): Promise<void> {
    for (let i = 0; i < all.length; i += size) {
      let batch = all.slice(i, i + size);
      for (let attempt = 0; batch.length > 0; attempt++) {
        if (attempt === BATCH_ATTEMPTS) throw new TransientError(`DynamoDB ${operation} left items unprocessed`);
        if (attempt > 0) await sleep(Math.min(2000, 25 * 2 ** attempt));
        batch = await send(batch);
      }
    }
  }

  /** Puts and deletes in batches of 25. */
  const batchWrite = (requests: WriteRequest[]) =>
    inBatches(requests, BATCH_WRITE_SIZE, 'BatchWriteItem', async (batch) => {
      const out = await call('BatchWriteItem', () =>
        doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch } })),
      );
      return (out.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    });

  const batchPut = (items: Item[]) => batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
  const batchDelete = (keys: Item[]) => batchWrite(keys.map((Key) => ({ DeleteRequest: { Key } })));

  /** The items with these keys (missing ones left out), 100 keys a call; eventually consistent unless `consistent`. */
  async function batchGet(
    table: string,
    keys: Item[],
    options: { consistent?: boolean; projection?: string; names?: Record<string, string> } = {},
  ): Promise<Item[]> {
    const found: Item[] = [];
    await inBatches(keys, BATCH_GET_SIZE, 'BatchGetItem', async (batch) => {
      const out = await call('BatchGetItem', () =>
        doc.send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: batch,
                ConsistentRead: options.consistent,
                ProjectionExpression: options.projection,
                ExpressionAttributeNames: options.names,
              },
            },
          }),
        ),
      );
      found.push(...(out.Responses?.[table] ?? []));
      return (out.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
    });
    return found;
  }

  return {
    doc,
    tableName,
    incidentsTableName,
    now,
    call,
    conditionalWrite,
    getItem,
    queryAll,
    batchPut,
    batchDelete,
    batchGet,
  };
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** How many attempts the SDK made before this error (1 when it did not retry). */
function attemptsOf(error: unknown): number {
  const attempts = (error as { $metadata?: { attempts?: unknown } }).$metadata?.attempts;
  return typeof attempts === 'number' ? attempts : 1;
}

export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Drops storage-only attributes (keys, flags, TTL) from an item, leaving the domain object. */
export function strip<T = Item>(item: Item, names: string[]): T {
  const out = { ...item };
  for (const name of names) delete out[name];
  return out as T;
}

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
