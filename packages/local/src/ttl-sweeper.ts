import { type AttributeValue, DeleteItemCommand, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DATA_TABLE } from '@incident-pilot/aws';

/** How often the local stack deletes expired items (DynamoDB's own TTL takes up to a few days). */
export const TTL_SWEEP_INTERVAL_MS = 10 * 60_000;

const NAMES = { '#pk': DATA_TABLE.partitionKey, '#sk': DATA_TABLE.sortKey, '#exp': DATA_TABLE.ttlAttribute };

/**
 * DynamoDB's TTL, which dynalite lacks: deletes the data-table items whose `expiresAt` (epoch seconds)
 * is before `now`. Reads already skip them; this keeps the local data directory bounded by the
 * retention (alert records, context) instead of growing for as long as it is used.
 * An item rewritten with a later expiry between the scan and the delete is kept. Stops early once
 * `signal` is aborted; returns how many items it deleted.
 */
export async function sweepExpired(
  client: DynamoDBClient,
  tableName: string,
  { now = Date.now(), signal }: { now?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const values = { ':now': { N: String(Math.floor(now / 1000)) } };
  let deleted = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#exp < :now',
        ProjectionExpression: '#pk, #sk',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: start,
      }),
    );
    for (const key of page.Items ?? []) {
      if (signal?.aborted) return deleted;
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: key,
            ConditionExpression: '#exp < :now',
            ExpressionAttributeNames: { '#exp': NAMES['#exp'] },
            ExpressionAttributeValues: values,
          }),
        );
        deleted++;
      } catch (error) {
        if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start && !signal?.aborted);
  return deleted;
}
