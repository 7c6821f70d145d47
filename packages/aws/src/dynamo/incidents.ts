import { gunzipSync, gzipSync } from 'node:zlib';
import { PutCommand, QueryCommand, type QueryCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConflictError,
  FULL_VIEW_FIELDS,
  type GroupState,
  type Incident,
  type IncidentPatch,
  type IncidentQuery,
  type IncidentRepository,
  type IncidentSummary,
  NotFoundError,
  type OpenIncidentRef,
  type Page,
  ValidationError,
} from '@incident-pilot/core';
import { INCIDENTS_TABLE, keys } from '../tables.js';
import { type Dynamo, type Item, strip } from './client.js';

const MAX_CURSOR_LENGTH = 1024;
/** Index pages read for one filtered list page before answering with fewer items and a cursor. */
const MAX_FILTERED_PAGES = 10;
const { byOpenedAt, openByOpenedAt, byService } = INCIDENTS_TABLE;

/** Incidents (one item each in the incidents table) and the per-group state that points at them. */
export function createIncidentRepository(db: Dynamo): IncidentRepository {
  const { doc, tableName, incidentsTableName, call, conditionalWrite, getItem, queryAll, batchGet } = db;

  /** A version-checked put (null: the item must not exist yet); false when the check failed. */
  const putVersioned = (table: string, item: Item, expectedVersion: number | null, key: string) =>
    conditionalWrite('PutItem', () =>
      doc.send(
        new PutCommand({
          TableName: table,
          Item: item,
          ...(expectedVersion === null
            ? { ConditionExpression: `attribute_not_exists(${key})` }
            : {
                ConditionExpression: '#v = :expected',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      ),
    );

  async function getIncidents(ids: string[]): Promise<Incident[]> {
    const items = await batchGet(
      incidentsTableName,
      [...new Set(ids)].map((id) => ({ id })),
    );
    const found = new Map(items.map((item) => [String(item.id), fromIncidentItem(item)]));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  return {
    async getIncident(id: string): Promise<Incident | null> {
      const item = await getItem(incidentsTableName, { id });
      return item ? fromIncidentItem(item) : null;
    },

    async createIncident(incident: Incident): Promise<boolean> {
      return putVersioned(incidentsTableName, toIncidentItem(incident), null, 'id');
    },

    async updateIncident(incident: Incident, expectedVersion: number): Promise<void> {
      // A full put: dropping `openPk` on resolve takes the incident out of the open index.
      if (!(await putVersioned(incidentsTableName, toIncidentItem(incident), expectedVersion, 'id'))) {
        throw new ConflictError(`incident ${incident.id} is not at version ${expectedVersion}`);
      }
    },

    async patchIncident(id: string, patch: IncidentPatch, expectedVersion?: number): Promise<Incident> {
      const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
      const names: Record<string, string> = { '#id': 'id', '#v': 'version' };
      const values: Record<string, unknown> = { ':one': 1 };
      const set = ['#v = #v + :one'];
      const remove: string[] = [];
      for (const [i, [name, value]] of entries.entries()) {
        names[`#a${i}`] = name;
        if (value === null) remove.push(`#a${i}`);
        else {
          values[`:a${i}`] = value;
          set.push(`#a${i} = :a${i}`);
        }
      }
      let condition = 'attribute_exists(#id)';
      if (expectedVersion !== undefined) {
        condition += ' AND #v = :expected';
        values[':expected'] = expectedVersion;
      }
      let written: Item | undefined;
      const ok = await conditionalWrite('UpdateItem', async () => {
        const out = await doc.send(
          new UpdateCommand({
            TableName: incidentsTableName,
            Key: { id },
            UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        written = out.Attributes;
      });
      if (ok && written) return fromIncidentItem(written);
      if (expectedVersion === undefined || !(await getItem(incidentsTableName, { id }))) {
        throw new NotFoundError(`no incident ${id}`);
      }
      throw new ConflictError(`incident ${id} is not at version ${expectedVersion}`);
    },

    async listIncidents({
      limit,
      cursor,
      status,
      service,
      view = 'compact',
      maxBytes = Number.POSITIVE_INFINITY,
    }: IncidentQuery): Promise<Page<IncidentSummary>> {
      if (!Number.isInteger(limit) || limit < 1) {
        throw new ValidationError([{ path: 'limit', message: 'expected a positive integer' }], 'query');
      }
      const { input, partition } = listQuery(incidentsTableName, status, service);
      let start: Item | undefined = cursor === undefined ? undefined : { ...decodeCursor(cursor), ...partition };
      // One extra item tells whether another page exists, so the last page never carries a cursor. A
      // status filter may drop items after DynamoDB's Limit: read on until the page is full.
      const items: Item[] = [];
      let lastKey: Item | undefined;
      for (let pages = 0; pages < MAX_FILTERED_PAGES && items.length <= limit; pages++) {
        const out = await call('Query', () =>
          doc.send(new QueryCommand({ ...input, Limit: limit + 1, ExclusiveStartKey: start })),
        );
        items.push(...(out.Items ?? []));
        lastKey = out.LastEvaluatedKey;
        if (!lastKey) break;
        start = lastKey;
      }
      const kept = items.slice(0, limit);
      // The indexes hold a few attributes: the page is read by id.
      const incidents = await getIncidents(kept.map((i) => String(i.id)));
      const page: IncidentSummary[] = view === 'compact' ? incidents.map(toSummary) : incidents;
      // Large incidents: fewer of them, and the cursor goes on after the last one answered.
      const fit = countWithin(page, maxBytes);
      const lastFit = page[fit - 1];
      if (fit < page.length && lastFit) return { items: page.slice(0, fit), cursor: encodeCursor(lastFit) };
      const last = kept.at(-1) as { id: string; openedAt: string } | undefined;
      if (items.length > limit && last) return { items: page, cursor: encodeCursor(last) };
      // DynamoDB stopped early (1 MB page, or the filter left too little): go on from where it stopped.
      if (lastKey && typeof lastKey.id === 'string' && typeof lastKey.openedAt === 'string') {
        return { items: page, cursor: encodeCursor({ id: lastKey.id, openedAt: lastKey.openedAt }) };
      }
      return { items: page };
    },

    getIncidents,

    async listOpenIncidents(): Promise<OpenIncidentRef[]> {
      const items = await queryAll({
        TableName: incidentsTableName,
        IndexName: openByOpenedAt.indexName,
        KeyConditionExpression: '#op = :op',
        ExpressionAttributeNames: { '#op': openByOpenedAt.partitionKey },
        ExpressionAttributeValues: { ':op': openByOpenedAt.partitionValue },
        ScanIndexForward: false,
      });
      return items.map((item) => ({
        id: String(item.id),
        service: String(item.service),
        alertname: String(item.alertname),
        fingerprints: Array.isArray(item.fingerprints) ? item.fingerprints.map(String) : [],
        groupKey: String(item.groupKey),
        status: 'open',
        openedAt: String(item.openedAt),
      }));
    },

    async getGroupState(groupId: string): Promise<GroupState | null> {
      const item = await getItem(tableName, keys.groupState(groupId));
      return item ? strip<GroupState>(item, ['pk', 'sk']) : null;
    },

    async putGroupState(state: GroupState, expectedVersion: number | null): Promise<void> {
      if (!(await putVersioned(tableName, { ...state, ...keys.groupState(state.groupId) }, expectedVersion, 'pk'))) {
        throw new ConflictError(`group ${state.groupId} state is not at version ${expectedVersion ?? '(new)'}`);
      }
    },
  };
}

/** Attributes that live only in the table: the index keys and the open incident's fingerprints. */
const STORAGE_ONLY = [byOpenedAt.partitionKey, openByOpenedAt.partitionKey, 'fingerprints'];

/**
 * The bulky fields that no patch sets, stored together as gzip-compressed JSON in the binary attribute
 * {@link PACKED}: every fold rewrites the whole item and pays a write unit per started KB, and these
 * compress to about a fifth. What an operator reads in the console (DESIGN.md, "Console inspection")
 * and what `patchIncident` sets stay plain top-level attributes; the type rules out a patched field.
 * This and {@link fromIncidentItem} are the one place that knows the format.
 */
const PACKED_FIELDS = [
  'alerts',
  'narration',
  'commonLabels',
  'pendingChanges',
  'lastUpdate',
  'announced',
] as const satisfies readonly Exclude<keyof Incident, keyof IncidentPatch>[];
const PACKED = 'packed';

function toIncidentItem(incident: Incident): Item {
  const packed = Object.fromEntries(PACKED_FIELDS.map((name) => [name, incident[name]]));
  return {
    ...strip({ ...incident }, [...PACKED_FIELDS]),
    [PACKED]: gzipSync(JSON.stringify(packed)),
    [byOpenedAt.partitionKey]: byOpenedAt.partitionValue,
    ...(incident.status === 'open'
      ? {
          [openByOpenedAt.partitionKey]: openByOpenedAt.partitionValue,
          // For the duplicate rule, which reads open incidents from their index.
          fingerprints: incident.alerts.map((a) => a.fingerprint),
        }
      : {}),
  };
}

/** Also reads an item written before packing, whose fields are all plain attributes. */
function fromIncidentItem(item: Item): Incident {
  const { [PACKED]: packed, ...plain } = item;
  const unpacked = packed instanceof Uint8Array ? JSON.parse(gunzipSync(packed).toString('utf8')) : {};
  return strip<Incident>({ ...plain, ...unpacked }, STORAGE_ONLY);
}

function toSummary(incident: Incident): IncidentSummary {
  return strip<IncidentSummary>({ ...incident }, [...FULL_VIEW_FIELDS]);
}

/**
 * The index that answers a list: by service when one is named (status filtered on the projected
 * attribute), the sparse open index for open incidents, and the every-incident index otherwise
 * (resolved ones filtered: they are nearly all incidents, so the filter drops few items).
 */
function listQuery(
  table: string,
  status: IncidentQuery['status'],
  service: string | undefined,
): { input: QueryCommandInput; partition: Item } {
  const [index, value, filtered]: [{ indexName: string; partitionKey: string }, string, boolean] =
    service !== undefined
      ? [byService, service, status !== undefined]
      : status === 'open'
        ? [openByOpenedAt, openByOpenedAt.partitionValue, false]
        : [byOpenedAt, byOpenedAt.partitionValue, status !== undefined];
  const names: Record<string, string> = { '#pk': index.partitionKey };
  const values: Record<string, unknown> = { ':pk': value };
  if (filtered) {
    names['#st'] = 'status';
    values[':st'] = status;
  }
  return {
    input: {
      TableName: table,
      IndexName: index.indexName,
      KeyConditionExpression: '#pk = :pk',
      ...(filtered ? { FilterExpression: '#st = :st' } : {}),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
    },
    partition: { [index.partitionKey]: value },
  };
}

/** How many of `items`, from the first, fit `maxBytes` as JSON together (one at least). */
function countWithin(items: readonly unknown[], maxBytes: number): number {
  let bytes = 0;
  for (const [i, item] of items.entries()) {
    bytes += Buffer.byteLength(JSON.stringify(item));
    if (bytes > maxBytes) return Math.max(i, 1);
  }
  return items.length;
}

function encodeCursor(incident: { id: string; openedAt: string }): string {
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
