import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { JobQueue } from '@incident-pilot/core';

/**
 * The local queue lives in memory, so jobs queued before a restart are gone after it. At start the
 * local stack re-queues one job for every group that still has alerts not folded into an incident:
 * nothing accepted is lost. (In AWS the queue is durable and this is not needed.) A scan is fine
 * here: it runs once, at start, on a developer's data.
 */
export async function requeuePending(options: {
  client: DynamoDBClient;
  tableName: string;
  queue: JobQueue;
  now: string;
}): Promise<number> {
  const groups = new Set<string>();
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await options.client.send(
      new ScanCommand({
        TableName: options.tableName,
        FilterExpression: 'begins_with(pk, :g) AND begins_with(sk, :a) AND attribute_not_exists(appliedTo)',
        ExpressionAttributeValues: { ':g': { S: 'G#' }, ':a': { S: 'A#' } },
        ProjectionExpression: 'groupId',
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const groupId = item.groupId?.S;
      if (groupId) groups.add(groupId);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  for (const groupId of groups) await options.queue.enqueue({ groupId, enqueuedAt: options.now });
  return groups.size;
}
