import { createHash } from 'node:crypto';
import {
  CONTEXT_KINDS,
  type ContextItem,
  type ContextKind,
  type ContextRepository,
  type ContextWindow,
  type Deploy,
  isErrorLevel,
  type LogLine,
  MAX_CONTEXT_ITEMS,
  type Trace,
  ValidationError,
} from '@incident-pilot/core';
import { keys } from '../tables.js';
import { type Dynamo, epochSeconds, notExpired, strip } from './client.js';

// Sort-key bound just above every `<iso>#<suffix>` of the same millisecond ('$' follows '#').
const AFTER_SUFFIX = '$';

/**
 * Deploys, logs and traces: one partition per kind and service, sorted by time. Log lines below ERROR
 * are kept in a partition of their own that no correlation reads: the rules look at errors only, and a
 * service's INFO lines would otherwise fill the capped read and crowd its errors out.
 */
export function createContextRepository(db: Dynamo): ContextRepository {
  const { tableName, queryAll, batchPut } = db;
  return {
    async putContext(kind: ContextKind, items: ContextItem[], expiresAt: number): Promise<void> {
      // The suffix is a content hash (plus an occurrence number for identical items in one batch), so
      // a client retrying a batch does not double its deploys or its error count.
      const occurrences = new Map<string, number>();
      const rows = items.map((item) => {
        const at = new Date(contextMillis(kind, item)).toISOString();
        const digest = createHash('sha256').update(JSON.stringify(item)).digest('hex').slice(0, 16);
        const seen = occurrences.get(digest) ?? 0;
        occurrences.set(digest, seen + 1);
        const belowError = kind === 'logs' && !isErrorLevel((item as LogLine).level);
        return {
          ...item,
          pk: belowError ? keys.belowErrorLogsPartition(item.service) : keys.contextPartition(kind, item.service),
          sk: `${at}#${digest}${seen ? `.${seen}` : ''}`,
          expiresAt,
        };
      });
      await batchPut(rows);
    },

    async loadContext(service, ranges, nowMs): Promise<ContextWindow> {
      const [deploys = [], logs = [], traces = []] = await Promise.all(
        CONTEXT_KINDS.map(async (kind) => {
          const range = ranges[kind];
          if (!range || !(range.fromMs <= range.toMs)) return [];
          // Stored sort keys start with a normalised ISO timestamp, so lexical order is time order.
          const from = new Date(range.fromMs).toISOString();
          const to = `${new Date(range.toMs).toISOString()}${AFTER_SUFFIX}`;
          const items = await queryAll(
            {
              TableName: tableName,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
              FilterExpression: notExpired,
              ExpressionAttributeNames: { '#exp': 'expiresAt' },
              ExpressionAttributeValues: {
                ':pk': keys.contextPartition(kind, service),
                ':from': from,
                ':to': to,
                ':now': epochSeconds(nowMs),
              },
              ConsistentRead: true,
              // Newest first, so the cap keeps the lines nearest the alert.
              ScanIndexForward: false,
            },
            MAX_CONTEXT_ITEMS,
          );
          return items.reverse().map((item) => strip(item, ['pk', 'sk', 'expiresAt']));
        }),
      );
      return { deploys: deploys as Deploy[], logs: logs as LogLine[], traces: traces as Trace[] };
    },
  };
}

function contextMillis(kind: ContextKind, item: ContextItem): number {
  const field = kind === 'deploys' ? 'when' : 'timestamp';
  const value = (item as Partial<Record<'when' | 'timestamp', unknown>>)[field];
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new ValidationError([{ path: field, message: 'invalid datetime' }], kind);
  return ms;
}
