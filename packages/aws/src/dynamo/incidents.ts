import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConflictError,
  type GroupState,
  type Incident,
  type IncidentPatch,
  type IncidentRepository,
  NotFoundError,
  type Page,
  ValidationError,
} from '@incident-pilot/core';
import { INCIDENTS_TABLE, keys } from '../tables.js';
import { type Dynamo, type Item, strip } from './client.js';

const MAX_CURSOR_LENGTH = 1024;
const { byOpenedAt, openByOpenedAt } = INCIDENTS_TABLE;

/** Incidents (one item each in the incidents table) and the per-group state that points at them. */
export function createIncidentRepository(db: Dynamo): IncidentRepository {
  const { doc, tableName, incidentsTableName, call, conditionalWrite, getItem, queryAll } = db;

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
      if (!(await putVersioned(tableName, { ...state, ...keys.groupState(state.groupId) }, expectedVersion, 'pk'))) {
        throw new ConflictError(`group ${state.groupId} state is not at version ${expectedVersion ?? '(new)'}`);
      }
    },
  };
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
