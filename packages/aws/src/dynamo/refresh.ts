import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RefreshRepository } from '@incident-pilot/core';
import { keys } from '../tables.js';
import type { Dynamo } from './client.js';

/** Wake-up markers per group, and the open groups of each service. */
export function createRefreshRepository(db: Dynamo): RefreshRepository {
  const { doc, tableName, call, conditionalWrite, getItem, queryAll } = db;
  return {
    claimWake(groupId, atMs, nowMs, horizonMs) {
      // The claim's own id: a retried request that finds its first attempt's claim still wins it, or
      // the caller would queue no job while the marker absorbs every later trigger until `atMs`.
      const claimId = randomUUID();
      return conditionalWrite(
        'UpdateItem',
        () =>
          doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: keys.wake(groupId),
              UpdateExpression: 'SET #w = :at, #c = :claim',
              ConditionExpression: 'attribute_not_exists(#w) OR #w < :now OR #w > :horizon',
              ExpressionAttributeNames: { '#w': 'wakeAt', '#c': 'wakeClaim' },
              ExpressionAttributeValues: { ':at': atMs, ':now': nowMs, ':horizon': horizonMs, ':claim': claimId },
            }),
          ),
        async () => (await getItem(tableName, keys.wake(groupId)))?.wakeClaim === claimId,
      );
    },

    async releaseWake(groupId, atMs) {
      await conditionalWrite('UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.wake(groupId),
            UpdateExpression: 'REMOVE #w',
            ConditionExpression: '#w = :at',
            ExpressionAttributeNames: { '#w': 'wakeAt' },
            ExpressionAttributeValues: { ':at': atMs },
          }),
        ),
      );
    },

    async lastRefresh(groupId) {
      const item = await getItem(tableName, keys.wake(groupId));
      return typeof item?.refreshedAt === 'number' ? item.refreshedAt : null;
    },

    async markRefreshed(groupId, atMs) {
      await call('UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.wake(groupId),
            UpdateExpression: 'SET #r = :at',
            ExpressionAttributeNames: { '#r': 'refreshedAt' },
            ExpressionAttributeValues: { ':at': atMs },
          }),
        ),
      );
    },

    async linkService(service, groupId, incidentId) {
      await call('PutItem', () =>
        doc.send(
          new PutCommand({ TableName: tableName, Item: { pk: keys.serviceGroups(service), sk: groupId, incidentId } }),
        ),
      );
    },

    async unlinkService(service, groupId, incidentId) {
      // A late job of the group's resolved incident must not unlink the next one, linked meanwhile.
      await conditionalWrite('DeleteItem', () =>
        doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { pk: keys.serviceGroups(service), sk: groupId },
            ConditionExpression: 'attribute_not_exists(#i) OR #i = :i',
            ExpressionAttributeNames: { '#i': 'incidentId' },
            ExpressionAttributeValues: { ':i': incidentId },
          }),
        ),
      );
    },

    async groupsOfService(service) {
      const items = await queryAll({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.serviceGroups(service) },
        ProjectionExpression: 'sk',
        // The worker links a group before it reads the service's context: a context ingest that reads
        // after that link must see it, or neither side sees the other's write and the refresh is lost.
        ConsistentRead: true,
      });
      return items.map((item) => String(item.sk));
    },
  };
}
