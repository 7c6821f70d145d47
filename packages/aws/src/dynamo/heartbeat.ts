import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { HeartbeatRepository, HeartbeatState } from '@incident-pilot/core';
import { keys } from '../tables.js';
import type { Dynamo } from './client.js';

/** The heartbeat item (`HEARTBEAT` / `LAST`): the last heartbeat and the check's state. */
export function createHeartbeatRepository(db: Dynamo): HeartbeatRepository {
  const { doc, tableName, call, conditionalWrite, getItem } = db;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    async recordHeartbeat(at: string): Promise<void> {
      // Concurrent deliveries (an HA pair) may arrive out of order: keep the latest.
      await conditionalWrite('UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.heartbeat,
            UpdateExpression: 'SET lastAt = :at',
            ConditionExpression: 'attribute_not_exists(lastAt) OR lastAt < :at',
            ExpressionAttributeValues: { ':at': at },
          }),
        ),
      );
    },

    async getHeartbeat(): Promise<HeartbeatState> {
      const item = await getItem(tableName, keys.heartbeat);
      return { lastAt: text(item?.lastAt), armedAt: text(item?.armedAt), missingSince: text(item?.missingSince) };
    },

    async updateHeartbeat(patch): Promise<void> {
      const set = Object.entries(patch).filter(([, v]) => v !== undefined && v !== null);
      const remove = Object.entries(patch).filter(([, v]) => v === null);
      if (set.length + remove.length === 0) return;
      const clauses = [
        ...(set.length ? [`SET ${set.map(([k]) => `${k} = :${k}`).join(', ')}`] : []),
        ...(remove.length ? [`REMOVE ${remove.map(([k]) => k).join(', ')}`] : []),
      ];
      await call('UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.heartbeat,
            UpdateExpression: clauses.join(' '),
            ...(set.length ? { ExpressionAttributeValues: Object.fromEntries(set.map(([k, v]) => [`:${k}`, v])) } : {}),
          }),
        ),
      );
    },
  };
}
