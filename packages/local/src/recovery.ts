import { type AttributeValue, type DynamoDBClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { createDynamoStore, keys } from '@incident-pilot/aws';
import { groupIdOf, type JobQueue } from '@incident-pilot/core';

// Incidents resolved this recently may still owe a sink their resolution.
const RECENTLY_RESOLVED_MS = 7 * 24 * 3_600_000;

async function scanAll(client: DynamoDBClient, input: ScanCommandInput): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * The local queue lives in memory, so jobs queued before a restart are gone after it. At start the
 * local stack re-queues one job for every group that still has alerts not folded into an incident,
 * and for every open or recently resolved incident, which may still owe a sink a notification (the
 * idempotency markers make this a no-op for what was sent): nothing accepted is lost. A group's wake-up
 * marker still to come stood for a delayed job (a rate-limited update, a refresh) that was on that queue: it
 * is released, so the re-queued job schedules that wake-up again instead of taking it for still pending. One
 * whose time has passed (the worker never clears it) blocks no claim and is left alone: its group is re-queued
 * only as an open or recently resolved incident, so a long-resolved one never reaches a sink added since.
 * In AWS the queue is durable and this is not needed. A scan is fine here: it runs once, at start, on a
 * developer's data.
 */
export async function requeuePending(options: {
  client: DynamoDBClient;
  tableName: string;
  incidentsTableName: string;
  queue: JobQueue;
  now: string;
}): Promise<number> {
  const groups = new Set<string>();
  const pending = await scanAll(options.client, {
    TableName: options.tableName,
    FilterExpression: 'begins_with(pk, :g) AND begins_with(sk, :p)',
    ExpressionAttributeValues: { ':g': { S: 'G#' }, ':p': { S: keys.pendingPrefix } },
    ProjectionExpression: 'pk',
  });
  for (const item of pending) if (item.pk?.S) groups.add(item.pk.S.slice('G#'.length));
  const wakes = await scanAll(options.client, {
    TableName: options.tableName,
    FilterExpression: 'begins_with(pk, :g) AND sk = :wake AND wakeAt > :now',
    ExpressionAttributeValues: {
      ':g': { S: 'G#' },
      ':wake': { S: keys.wake('').sk },
      ':now': { N: String(Date.parse(options.now)) },
    },
    ProjectionExpression: 'pk, wakeAt',
  });
  // Released only if it still holds that time: a request since the start may have claimed a new one,
  // with a job on the queue.
  const { client, tableName, incidentsTableName } = options;
  const { releaseWake } = createDynamoStore({ client, tableName, incidentsTableName });
  for (const { pk, wakeAt } of wakes) {
    if (!pk?.S || !wakeAt?.N) continue;
    const groupId = pk.S.slice('G#'.length);
    await releaseWake(groupId, Number(wakeAt.N));
    groups.add(groupId);
  }
  const incidents = await scanAll(options.client, {
    TableName: options.incidentsTableName,
    FilterExpression: '#s = :open OR resolvedAt >= :since',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: {
      ':open': { S: 'open' },
      ':since': { S: new Date(Date.parse(options.now) - RECENTLY_RESOLVED_MS).toISOString() },
    },
    ProjectionExpression: 'groupKey',
  });
  for (const item of incidents) if (item.groupKey?.S) groups.add(groupIdOf(item.groupKey.S));
  for (const groupId of groups) await options.queue.enqueue({ groupId, enqueuedAt: options.now });
  return groups.size;
}
