import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClaimResult, NotificationKey, NotificationLedger } from '@incident-pilot/core';
import { keys } from '../tables.js';
import type { Dynamo } from './client.js';

const CLAIM_ATTEMPTS = 3;

/** Idempotency markers, one item per (incident, event, sink): claimed → sent. */
export function createNotificationLedger(db: Dynamo): NotificationLedger {
  const { doc, tableName, call, conditionalWrite, getItem, queryAll } = db;
  return {
    async sentNotifications(incidentId: string, updateRevision?: number): Promise<NotificationKey[]> {
      // Eventually consistent reads of the incident's small markers, bounded whatever its age: `opened#…`
      // and `resolved#…` sort before every `updated.<revision>#…`, and of those only one revision is read.
      const read = (condition: string, bound: string) =>
        queryAll({
          TableName: tableName,
          KeyConditionExpression: `pk = :pk AND ${condition}`,
          FilterExpression: '#state = :sent',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':pk': keys.notificationPartition(incidentId),
            ':bound': bound,
            ':sent': 'sent',
          },
        });
      const pages = await Promise.all([
        read('sk < :bound', keys.notificationUpdatesPrefix),
        ...(updateRevision === undefined
          ? []
          : [read('begins_with(sk, :bound)', keys.notification(incidentId, 'updated', '', updateRevision).sk)]),
      ]);
      return pages.flat().map((item) => ({
        incidentId,
        event: item.event as NotificationKey['event'],
        sink: String(item.sink),
        ...(typeof item.revision === 'number' ? { revision: item.revision } : {}),
      }));
    },

    async notificationState(key: NotificationKey): Promise<'sent' | 'claimed' | null> {
      const marker = await getItem(tableName, keys.notification(key.incidentId, key.event, key.sink, key.revision));
      return marker ? (marker.state === 'sent' ? 'sent' : 'claimed') : null;
    },

    async claimNotification(key: NotificationKey, nowMs: number, leaseMs: number): Promise<ClaimResult> {
      const itemKey = keys.notification(key.incidentId, key.event, key.sink, key.revision);
      for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
        if (
          await conditionalWrite('PutItem', () =>
            doc.send(
              new PutCommand({
                TableName: tableName,
                Item: { ...key, ...itemKey, state: 'claimed', claimedAt: new Date(nowMs).toISOString() },
                // ISO timestamps of one format compare correctly as strings.
                ConditionExpression: 'attribute_not_exists(pk) OR (#state = :claimed AND #claimedAt < :staleBefore)',
                ExpressionAttributeNames: { '#state': 'state', '#claimedAt': 'claimedAt' },
                ExpressionAttributeValues: {
                  ':claimed': 'claimed',
                  ':staleBefore': new Date(nowMs - leaseMs).toISOString(),
                },
              }),
            ),
          )
        )
          return 'claimed';
        const marker = await getItem(tableName, itemKey);
        // Released between our put and our read: try again.
        if (marker) return marker.state === 'sent' ? 'already_sent' : 'in_flight';
      }
      return 'in_flight';
    },

    async completeNotification(key: NotificationKey, nowMs: number): Promise<void> {
      // Unconditional: whatever happened to the claim, the message went out.
      await call('UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.notification(key.incidentId, key.event, key.sink, key.revision),
            UpdateExpression: 'SET #state = :sent, #sentAt = :now, #i = :i, #e = :e, #s = :s',
            ExpressionAttributeNames: {
              '#state': 'state',
              '#sentAt': 'sentAt',
              '#i': 'incidentId',
              '#e': 'event',
              '#s': 'sink',
            },
            ExpressionAttributeValues: {
              ':sent': 'sent',
              ':now': new Date(nowMs).toISOString(),
              ':i': key.incidentId,
              ':e': key.event,
              ':s': key.sink,
            },
          }),
        ),
      );
    },

    async releaseNotification(key: NotificationKey, claimedAtMs: number): Promise<void> {
      await conditionalWrite('DeleteItem', () =>
        doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: keys.notification(key.incidentId, key.event, key.sink, key.revision),
            // Never forget a delivery that completed, nor drop a claim another worker took over.
            ConditionExpression: '#state = :claimed AND #claimedAt = :claimedAt',
            ExpressionAttributeNames: { '#state': 'state', '#claimedAt': 'claimedAt' },
            ExpressionAttributeValues: { ':claimed': 'claimed', ':claimedAt': new Date(claimedAtMs).toISOString() },
          }),
        ),
      );
    },
  };
}
