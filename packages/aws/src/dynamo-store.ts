import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type AlertRecord,
  type ClaimResult,
  CONTEXT_KINDS,
  ConflictError,
  type ContextItem,
  type ContextKind,
  type ContextWindow,
  type Deploy,
  type GroupState,
  type Incident,
  type LogLine,
  type NotificationKey,
  type Page,
  type RecordedAlert,
  STAT_NAMES,
  type Stats,
  type Store,
  type Trace,
  TransientError,
  ValidationError,
} from '@incident-pilot/core';
import { mapAwsError } from './errors.js';
import { INCIDENTS_TABLE, keys } from './tables.js';

export interface DynamoStoreOptions {
  /** The data table (env `INCIDENT_PILOT_TABLE`). */
  tableName: string;
  /** The incidents table (env `INCIDENT_PILOT_INCIDENTS_TABLE`). */
  incidentsTableName: string;
  client?: DynamoDBClient;
  /** How long alert records are kept, counted from `receivedAt` (env `INCIDENT_PILOT_ALERT_TTL_DAYS`). */
  alertTtlDays?: number;
  /** Epoch milliseconds; the TTL filter of reads that take no `now` argument. Tests replace it. */
  now?: () => number;
}

type Item = Record<string, unknown>;

/** Parallel writes per call: enough to hide latency, few enough not to trip on-demand throttling. */
const CONCURRENCY = 8;
const BATCH_WRITE_SIZE = 25;
const BATCH_WRITE_ATTEMPTS = 8;
const CLAIM_ATTEMPTS = 3;
const MAX_CURSOR_LENGTH = 1024;

const { byOpenedAt, openByOpenedAt } = INCIDENTS_TABLE;

// Sort-key bound just above every `<iso>#<suffix>` of the same millisecond ('$' follows '#').
const AFTER_SUFFIX = '$';

/**
 * The DynamoDB implementation of every repository port (see tables.ts for the key design).
 *
 * Written for DynamoDB and dynalite alike: conditional writes instead of transactions, and expired
 * items (`expiresAt` in the past) filtered out on read, because TTL deletion lags (and dynalite never
 * deletes). Data-table reads are strongly consistent: the worker reads what ingest has just written.
 * Transient AWS failures surface as the core's TransientError.
 */
export function createDynamoStore({
  tableName,
  incidentsTableName,
  client = new DynamoDBClient({}),
  alertTtlDays = 30,
  now = Date.now,
}: DynamoStoreOptions): Store {
  const doc = DynamoDBDocumentClient.from(client, {
    // Empty strings are valid non-key attribute values; keep them as they are.
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw mapAwsError(error, `DynamoDB ${operation}`);
    }
  }

  /** Runs a conditional write: true when it was written, false when its condition failed. */
  async function conditionalWrite(operation: string, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await call(operation, run);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Unexpired alert records among `records`, by `pk|sk`: BatchGetItem, 100 keys a call. */
  async function storedAlerts(records: AlertRecord[], nowSec: number): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const unique = new Map(
      records.map((r) => {
        const key = keys.alert(r.groupId, r.fingerprint, r.startsAt, r.status);
        return [`${key.pk}|${key.sk}`, key];
      }),
    );
    const all = [...unique.values()];
    for (let i = 0; i < all.length; i += 100) {
      let pending: Item[] | undefined = all.slice(i, i + 100);
      for (let attempt = 0; pending?.length; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** Math.min(attempt, 6)));
        const keysToRead: Item[] = pending;
        const out = await call('BatchGetItem', () =>
          doc.send(
            new BatchGetCommand({
              RequestItems: {
                [tableName]: {
                  Keys: keysToRead,
                  ConsistentRead: true,
                  ProjectionExpression: 'pk, sk, queued, #exp',
                  ExpressionAttributeNames: { '#exp': 'expiresAt' },
                },
              },
            }),
          ),
        );
        for (const item of out.Responses?.[tableName] ?? []) {
          if (typeof item.expiresAt !== 'number' || item.expiresAt >= nowSec) found.set(`${item.pk}|${item.sk}`, item);
        }
        pending = out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
      }
    }
    return found;
  }

  async function getItem(table: string, key: Item): Promise<Item | undefined> {
    const out = await call('GetItem', () =>
      doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  async function queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await call('Query', () => doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start })));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Sets one attribute of a stored alert record; a missing (deleted, expired) record is left alone. */
  async function setOnAlert(record: AlertRecord, name: string, value: unknown): Promise<void> {
    await conditionalWrite('UpdateItem', () =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.alert(record.groupId, record.fingerprint, record.startsAt, record.status),
          UpdateExpression: 'SET #name = :value',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#name': name },
          ExpressionAttributeValues: { ':value': value },
        }),
      ),
    );
  }

  async function batchPut(items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += BATCH_WRITE_SIZE) {
      let requests = items.slice(i, i + BATCH_WRITE_SIZE).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === BATCH_WRITE_ATTEMPTS)
          throw new TransientError('DynamoDB BatchWriteItem left items unprocessed');
        if (attempt > 0) await sleep(Math.min(2000, 50 * 2 ** attempt));
        const batch = requests;
        const out = await call('BatchWriteItem', () =>
          doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch } })),
        );
        // Throttled items come back unprocessed rather than as an error.
        requests = (out.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  }

  const alertExpiry = (record: AlertRecord) => {
    const from = Date.parse(record.receivedAt);
    return Math.floor((Number.isNaN(from) ? now() : from) / 1000) + Math.round(alertTtlDays * 86_400);
  };

  const notExpired = 'attribute_not_exists(#exp) OR #exp >= :now';

  return {
    async recordAlerts(records: AlertRecord[]): Promise<RecordedAlert[]> {
      const nowSec = epochSeconds(now());
      // Re-sends and HA duplicates are the common case: one batched read finds them, so only new
      // alerts pay for a (conditional) write.
      const stored = await storedAlerts(records, nowSec);
      return mapLimit(records, CONCURRENCY, async (record) => {
        const key = keys.alert(record.groupId, record.fingerprint, record.startsAt, record.status);
        const known = stored.get(`${key.pk}|${key.sk}`);
        if (known) return { record, created: false, queued: known.queued === true };
        if (
          await conditionalWrite('PutItem', () =>
            doc.send(
              new PutCommand({
                TableName: tableName,
                Item: { ...record, ...key, queued: false, expiresAt: alertExpiry(record) },
                // An expired record that TTL has not deleted yet counts as gone.
                ConditionExpression: 'attribute_not_exists(pk) OR #exp < :now',
                ExpressionAttributeNames: { '#exp': 'expiresAt' },
                ExpressionAttributeValues: { ':now': nowSec },
              }),
            ),
          )
        ) {
          return { record, created: true, queued: false };
        }
        // Another delivery stored it between the read and the write.
        const item = await getItem(tableName, key);
        return { record, created: false, queued: item?.queued === true };
      });
    },

    async markQueued(records: AlertRecord[]): Promise<void> {
      await mapLimit(records, CONCURRENCY, (r) => setOnAlert(r, 'queued', true));
    },

    async pendingAlerts(groupId: string): Promise<AlertRecord[]> {
      const items = await queryAll({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: `attribute_not_exists(#applied) AND (${notExpired})`,
        ExpressionAttributeNames: { '#applied': 'appliedTo', '#exp': 'expiresAt' },
        ExpressionAttributeValues: {
          ':pk': keys.groupState(groupId).pk,
          ':prefix': keys.alertPrefix,
          ':now': epochSeconds(now()),
        },
        ConsistentRead: true,
      });
      return items.map((item) => strip<AlertRecord>(item, ['pk', 'sk', 'queued', 'appliedTo', 'expiresAt']));
    },

    async markApplied(records: AlertRecord[], incidentId: string): Promise<void> {
      await mapLimit(records, CONCURRENCY, (r) => setOnAlert(r, 'appliedTo', incidentId));
    },

    async putContext(kind: ContextKind, items: ContextItem[], expiresAt: number): Promise<void> {
      // The suffix is a content hash (plus an occurrence number for identical items in one batch), so
      // a client retrying a batch does not double its deploys or its error count.
      const occurrences = new Map<string, number>();
      const rows = items.map((item) => {
        const at = new Date(contextMillis(kind, item)).toISOString();
        const digest = createHash('sha256').update(JSON.stringify(item)).digest('hex').slice(0, 16);
        const seen = occurrences.get(digest) ?? 0;
        occurrences.set(digest, seen + 1);
        return {
          ...item,
          pk: keys.contextPartition(kind, item.service),
          sk: `${at}#${digest}${seen ? `.${seen}` : ''}`,
          expiresAt,
        };
      });
      await batchPut(rows);
    },

    async loadContext(service, { fromMs, toMs }, nowMs): Promise<ContextWindow> {
      if (!(fromMs <= toMs)) return { deploys: [], logs: [], traces: [] };
      // Stored sort keys start with a normalised ISO timestamp, so lexical order is time order.
      const from = new Date(fromMs).toISOString();
      const to = `${new Date(toMs).toISOString()}${AFTER_SUFFIX}`;
      const [deploys = [], logs = [], traces = []] = await Promise.all(
        CONTEXT_KINDS.map(async (kind) => {
          const items = await queryAll({
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
          });
          // Query order is sort-key order, i.e. oldest first.
          return items.map((item) => strip(item, ['pk', 'sk', 'expiresAt']));
        }),
      );
      return { deploys: deploys as Deploy[], logs: logs as LogLine[], traces: traces as Trace[] };
    },

    async getIncident(id: string): Promise<Incident | null> {
      const item = await getItem(incidentsTableName, { id });
      return item ? fromIncidentItem(item) : null;
    },

    async createIncident(incident: Incident): Promise<boolean> {
      return conditionalWrite('PutItem', () =>
        doc.send(
          new PutCommand({
            TableName: incidentsTableName,
            Item: toIncidentItem(incident),
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        ),
      );
    },

    async updateIncident(incident: Incident, expectedVersion: number): Promise<void> {
      if (
        !(await conditionalWrite('PutItem', () =>
          doc.send(
            new PutCommand({
              TableName: incidentsTableName,
              // A full put: dropping `openPk` on resolve takes the incident out of the open index.
              Item: toIncidentItem(incident),
              ConditionExpression: '#v = :expected',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            }),
          ),
        ))
      ) {
        throw new ConflictError(`incident ${incident.id} is not at version ${expectedVersion}`);
      }
    },

    async listIncidents({ limit, cursor }: { limit: number; cursor?: string }): Promise<Page<Incident>> {
      if (!Number.isInteger(limit) || limit < 1) {
        throw new ValidationError([{ path: 'limit', message: 'expected a positive integer' }], 'query');
      }
      const start = cursor === undefined ? undefined : decodeCursor(cursor);
      // One extra item tells whether another page exists, so the last page never carries a cursor.
      const out = await call('Query', () =>
        doc.send(
          new QueryCommand({
            TableName: incidentsTableName,
            IndexName: byOpenedAt.indexName,
            KeyConditionExpression: '#lp = :lp',
            ExpressionAttributeNames: { '#lp': byOpenedAt.partitionKey },
            ExpressionAttributeValues: { ':lp': byOpenedAt.partitionValue },
            ScanIndexForward: false,
            Limit: limit + 1,
            ExclusiveStartKey: start && { ...start, [byOpenedAt.partitionKey]: byOpenedAt.partitionValue },
          }),
        ),
      );
      const items = (out.Items ?? []).map(fromIncidentItem);
      const page = items.slice(0, limit);
      const last = page.at(-1);
      // More than `limit` items, or DynamoDB stopped early at its 1 MB page size.
      const more = items.length > limit || (out.LastEvaluatedKey !== undefined && items.length > 0);
      return more && last ? { items: page, cursor: encodeCursor(last) } : { items: page };
    },

    async listOpenIncidents(): Promise<Incident[]> {
      const items = await queryAll({
        TableName: incidentsTableName,
        IndexName: openByOpenedAt.indexName,
        KeyConditionExpression: '#op = :op',
        ExpressionAttributeNames: { '#op': openByOpenedAt.partitionKey },
        ExpressionAttributeValues: { ':op': openByOpenedAt.partitionValue },
        ScanIndexForward: false,
      });
      return items.map(fromIncidentItem);
    },

    async getGroupState(groupId: string): Promise<GroupState | null> {
      const item = await getItem(tableName, keys.groupState(groupId));
      return item ? strip<GroupState>(item, ['pk', 'sk']) : null;
    },

    async putGroupState(state: GroupState, expectedVersion: number | null): Promise<void> {
      if (
        !(await conditionalWrite('PutItem', () =>
          doc.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...state, ...keys.groupState(state.groupId) },
              ...(expectedVersion === null
                ? { ConditionExpression: 'attribute_not_exists(pk)' }
                : {
                    ConditionExpression: '#v = :expected',
                    ExpressionAttributeNames: { '#v': 'version' },
                    ExpressionAttributeValues: { ':expected': expectedVersion },
                  }),
            }),
          ),
        ))
      ) {
        throw new ConflictError(`group ${state.groupId} state is not at version ${expectedVersion ?? '(new)'}`);
      }
    },

    async claimNotification(key: NotificationKey, nowMs: number, leaseMs: number): Promise<ClaimResult> {
      const itemKey = keys.notification(key.incidentId, key.event, key.sink);
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
            Key: keys.notification(key.incidentId, key.event, key.sink),
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

    async releaseNotification(key: NotificationKey): Promise<void> {
      await conditionalWrite('DeleteItem', () =>
        doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: keys.notification(key.incidentId, key.event, key.sink),
            // Never forget a delivery that completed.
            ConditionExpression: '#state = :claimed',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':claimed': 'claimed' },
          }),
        ),
      );
    },

    async addStats(delta: Partial<Stats>): Promise<void> {
      const entries = STAT_NAMES.flatMap((name) => {
        const value = delta[name];
        return value !== undefined && Number.isFinite(value) && value !== 0 ? [[name, value] as const] : [];
      });
      if (entries.length === 0) return;
      // ADD is atomic on the server: parallel workers never lose an increment.
      await call('UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.stats,
            UpdateExpression: `ADD ${entries.map((_, i) => `#n${i} :v${i}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#n${i}`, name])),
            ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
          }),
        ),
      );
    },

    async getStats(): Promise<Stats> {
      const item = await getItem(tableName, keys.stats);
      return Object.fromEntries(
        STAT_NAMES.map((name) => {
          const value = item?.[name];
          return [name, typeof value === 'number' ? value : 0];
        }),
      ) as Stats;
    },
  };
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Drops storage-only attributes (keys, flags, TTL) from an item, leaving the domain object. */
function strip<T = Item>(item: Item, names: string[]): T {
  const out = { ...item };
  for (const name of names) delete out[name];
  return out as T;
}

function contextMillis(kind: ContextKind, item: ContextItem): number {
  const field = kind === 'deploys' ? 'when' : 'timestamp';
  const value = (item as Partial<Record<'when' | 'timestamp', unknown>>)[field];
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new ValidationError([{ path: field, message: 'invalid datetime' }], kind);
  return ms;
}

// The index attributes live only in the table; the rest of the item is the incident as given.
function toIncidentItem(incident: Incident): Item {
  return {
    ...incident,
    [byOpenedAt.partitionKey]: byOpenedAt.partitionValue,
    ...(incident.status === 'open' ? { [openByOpenedAt.partitionKey]: openByOpenedAt.partitionValue } : {}),
  };
}

function fromIncidentItem(item: Item): Incident {
  return strip<Incident>(item, [byOpenedAt.partitionKey, openByOpenedAt.partitionKey]);
}

function encodeCursor(incident: Incident): string {
  return Buffer.from(JSON.stringify({ id: incident.id, openedAt: incident.openedAt })).toString('base64url');
}

/** The index position a cursor names; anything this adapter did not issue is a ValidationError. */
function decodeCursor(cursor: string): { id: string; openedAt: string } {
  const invalid = () => new ValidationError([{ path: 'cursor', message: 'is not a cursor this API issued' }], 'query');
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof value !== 'object' || value === null) throw invalid();
  const { id, openedAt, ...rest } = value as Record<string, unknown>;
  if (typeof id !== 'string' || !id || typeof openedAt !== 'string' || !openedAt || Object.keys(rest).length) {
    throw invalid();
  }
  return { id, openedAt };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
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
