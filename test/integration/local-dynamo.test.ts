/**
 * Issue "Hardening", item 9: the local DynamoDB (dynalite on LevelDB) stays bounded. Every Query and
 * Scan used to leave its LevelDB iterator open, pinning overwritten versions in memory and on disk;
 * and dynalite has no TTL, so expired items stayed for ever. Runs on a data directory, as `npm start`.
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { INCIDENTS_TABLE, tableDefinitions } from '@incident-pilot/aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDynaliteIterators } from '../../packages/local/src/dynalite-iterators.js';
import { type Emulators, ensureTables, startEmulators } from '../../packages/local/src/emulators.js';
import { requeuePending } from '../../packages/local/src/recovery.js';
import { sweepExpired } from '../../packages/local/src/ttl-sweeper.js';
import { freshTables, uniqueId } from '../helpers/emulators.js';
import { startTestStack, waitFor } from '../helpers/local-stack.js';

const NOW = Date.parse('2026-11-25T04:00:00.000Z');
const seconds = (ms: number) => ({ N: String(Math.floor(ms / 1000)) });

let emulators: Emulators;
const dataDir = mkdtempSync(join(tmpdir(), 'incident-pilot-dynamo-'));
beforeAll(async () => {
  emulators = await startEmulators({ dataDir });
});
afterAll(async () => {
  await emulators?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function putAll(tableName: string, items: Record<string, AttributeValue>[]) {
  for (let i = 0; i < items.length; i += 25) {
    const chunk = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await emulators.dynamoClient.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: chunk } }));
  }
}

async function keysOf(tableName: string): Promise<string[]> {
  const { Items = [] } = await emulators.dynamoClient.send(new ScanCommand({ TableName: tableName }));
  return Items.map((item) => `${item.pk?.S}|${item.sk?.S}`).sort();
}

describe('local DynamoDB emulator', () => {
  it('closes the LevelDB iterator of every Query and Scan, whether it reads to the end or stops early', async () => {
    const { tableName, incidentsTableName } = await freshTables(emulators);
    const pk = uniqueId('G#grp');
    await putAll(
      tableName,
      Array.from({ length: 30 }, (_, i) => ({ pk: { S: pk }, sk: { S: `A#${String(i).padStart(3, '0')}` } })),
    );
    await putAll(
      incidentsTableName,
      Array.from({ length: 5 }, (_, i) => ({
        id: { S: uniqueId('inc') },
        listPk: { S: INCIDENTS_TABLE.byOpenedAt.partitionValue },
        openedAt: { S: new Date(NOW + i).toISOString() },
      })),
    );
    const { dynamoClient: client } = emulators;
    const byPk = {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
    };

    for (let round = 0; round < 20; round++) {
      await client.send(new QueryCommand(byPk));
      await client.send(new QueryCommand({ ...byPk, Limit: 3 }));
      await client.send(
        new QueryCommand({
          TableName: incidentsTableName,
          IndexName: INCIDENTS_TABLE.byOpenedAt.indexName,
          KeyConditionExpression: 'listPk = :pk',
          ExpressionAttributeValues: { ':pk': { S: INCIDENTS_TABLE.byOpenedAt.partitionValue } },
          ScanIndexForward: false,
          Limit: 2,
        }),
      );
      await client.send(new ScanCommand({ TableName: tableName }));
      await client.send(new ScanCommand({ TableName: tableName, Limit: 4 }));
    }

    // A stream closes its iterator as it ends, just after the response can have left.
    await expect.poll(openDynaliteIterators).toBe(0);
  });

  it('rebuilds an incidents table whose indexes project what an earlier version did, keeping its items', async () => {
    const suffix = uniqueId('old');
    const names = { tableName: `data-${suffix}`, incidentsTableName: `incidents-${suffix}` };
    const [, incidents] = tableDefinitions(names);
    // Before: every index held the open incident's fingerprints.
    const earlier = {
      ...incidents,
      GlobalSecondaryIndexes: incidents.GlobalSecondaryIndexes?.map((index) => ({
        ...index,
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: ['status', 'fingerprints'] },
      })),
    };
    await emulators.dynamoClient.send(new CreateTableCommand(earlier));
    await waitUntilTableExists(
      { client: emulators.dynamoClient, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.1 },
      { TableName: names.incidentsTableName },
    );
    const item = {
      id: { S: uniqueId('inc') },
      listPk: { S: INCIDENTS_TABLE.byOpenedAt.partitionValue },
      openPk: { S: INCIDENTS_TABLE.openByOpenedAt.partitionValue },
      openedAt: { S: new Date(NOW).toISOString() },
      fingerprints: { L: [{ S: '3ba65e5f562bd85b' }] },
    };
    await putAll(names.incidentsTableName, [item]);

    await ensureTables(emulators.dynamoClient, names);

    const { Table } = await emulators.dynamoClient.send(
      new DescribeTableCommand({ TableName: names.incidentsTableName }),
    );
    const holding = (Table?.GlobalSecondaryIndexes ?? []).filter((i) =>
      i.Projection?.NonKeyAttributes?.includes('fingerprints'),
    );
    expect(holding.map((i) => i.IndexName)).toEqual([INCIDENTS_TABLE.openByOpenedAt.indexName]);
    const { Items } = await emulators.dynamoClient.send(new ScanCommand({ TableName: names.incidentsTableName }));
    expect(Items).toEqual([item]);
  });

  it('deletes the data-table items whose TTL has passed, as DynamoDB does, and keeps the others', async () => {
    const { tableName } = await freshTables(emulators);
    await putAll(tableName, [
      { pk: { S: 'G#a' }, sk: { S: 'A#expired' }, expiresAt: seconds(NOW - 1000) },
      { pk: { S: 'G#a' }, sk: { S: 'A#live' }, expiresAt: seconds(NOW + 86_400_000) },
      { pk: { S: 'G#a' }, sk: { S: 'STATE' } },
      { pk: { S: 'C#logs#checkout' }, sk: { S: '2026-11-01T00:00:00.000Z#1' }, expiresAt: seconds(NOW - 86_400_000) },
    ]);

    const deleted = await sweepExpired(emulators.dynamoClient, tableName, { now: NOW });

    expect(deleted).toBe(2);
    expect(await keysOf(tableName)).toEqual(['G#a|A#live', 'G#a|STATE']);
  });

  it('keeps an item whose expiry is extended between the scan that finds it and the delete', async () => {
    const { tableName } = await freshTables(emulators);
    const key = { pk: { S: 'G#b' }, sk: { S: 'A#renewed' } };
    await putAll(tableName, [{ ...key, expiresAt: seconds(NOW - 1000) }]);
    const client = emulators.dynamoClient;
    // The emulator cannot interleave a write with the sweep on demand: renew the item as the scan returns.
    let renewed = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'ScanCommand' && !renewed) {
          renewed = true;
          await client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: key,
              UpdateExpression: 'SET expiresAt = :later',
              ExpressionAttributeValues: { ':later': seconds(NOW + 86_400_000) },
            }),
          );
        }
        return result;
      },
      { step: 'initialize', name: 'renew-after-scan' },
    );
    try {
      const deleted = await sweepExpired(client, tableName, { now: NOW });

      expect(renewed).toBe(true);
      expect(deleted).toBe(0);
      expect(await keysOf(tableName)).toEqual(['G#b|A#renewed']);
    } finally {
      client.middlewareStack.remove('renew-after-scan');
    }
  });

  it('takes over a pid file naming this process that this process did not write (a container restarted with the same pid)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incident-pilot-pid-'));
    writeFileSync(join(dir, 'emulators.pid'), String(process.pid));
    try {
      const started = await startEmulators({ dataDir: dir });
      await started.stop();

      expect(existsSync(join(dir, 'emulators.pid'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a data directory this process already holds', async () => {
    await expect(startEmulators({ dataDir })).rejects.toThrow(
      `data directory ${dataDir} is in use by process ${process.pid}`,
    );

    expect(existsSync(join(dataDir, 'emulators.pid'))).toBe(true);
  });

  it('refuses a data directory this process already holds, named by another path (relative, or through a symlink)', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'incident-pilot-link-')), 'data');
    symlinkSync(dataDir, link);
    try {
      for (const other of [relative(process.cwd(), dataDir), link]) {
        await expect(startEmulators({ dataDir: other })).rejects.toThrow(`is in use by process ${process.pid}`);
      }

      expect(existsSync(join(dataDir, 'emulators.pid'))).toBe(true);
    } finally {
      rmSync(dirname(link), { recursive: true, force: true });
    }
  });

  it('re-queues at start a group whose wake-up is still to come, releasing it, and not one whose time has passed', async () => {
    const tables = await freshTables(emulators);
    await putAll(tables.tableName, [
      { pk: { S: 'G#due' }, sk: { S: 'WAKE' }, wakeAt: { N: String(NOW + 8_000) } },
      // A wake-up whose job ran long ago (the worker never clears it), of an incident resolved long ago.
      { pk: { S: 'G#old' }, sk: { S: 'WAKE' }, wakeAt: { N: String(NOW - 30 * 86_400_000) } },
    ]);
    const queued: string[] = [];
    const queue = { enqueue: async ({ groupId }: { groupId: string }) => void queued.push(groupId) };

    const requeued = await requeuePending({
      client: emulators.dynamoClient,
      ...tables,
      queue,
      now: new Date(NOW).toISOString(),
    });

    expect(requeued).toBe(1);
    expect(queued).toEqual(['due']);
    const { Items = [] } = await emulators.dynamoClient.send(new ScanCommand({ TableName: tables.tableName }));
    const wakeOf = (pk: string) => Items.find((item) => item.pk?.S === pk)?.wakeAt?.N;
    expect(wakeOf('G#due')).toBeUndefined();
    expect(wakeOf('G#old')).toBe(String(NOW - 30 * 86_400_000));
  });
});

describe('local stack', () => {
  it('sweeps expired items on its own schedule', async () => {
    const stack = await startTestStack({ ttlSweepIntervalMs: 200 });
    try {
      const { dynamoClient, tableName } = stack.emulators;
      const key = { pk: { S: uniqueId('G#grp') }, sk: { S: 'A#old' } };
      await dynamoClient.send(
        new BatchWriteItemCommand({
          RequestItems: { [tableName]: [{ PutRequest: { Item: { ...key, expiresAt: seconds(Date.now() - 1000) } } }] },
        }),
      );

      await waitFor(async () => {
        const { Count } = await dynamoClient.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': key.pk },
            Select: 'COUNT',
          }),
        );
        return Count === 0;
      });
    } finally {
      await stack.destroy();
    }
  });
});
