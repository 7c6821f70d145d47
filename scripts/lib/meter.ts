/**
 * Request and capacity metering for the cost benchmark: an HTTP proxy in front of dynalite that bills
 * every request the way DynamoDB on-demand does, and a counter of every SQS request made in this
 * process.
 *
 * DynamoDB billing, as AWS documents it:
 * - a write costs one WRU per started KB of the larger of the item before and after it, also when its
 *   condition fails (then the size of the item as it is); a BatchWriteItem bills each item so;
 * - each global secondary index the write reaches costs one more write per started KB of the projected
 *   item (a change of the index key is a delete plus a put; no write when nothing projected changed);
 * - reads cost one RRU per started 4 KB (half when eventually consistent): per item for GetItem and
 *   BatchGetItem (a missing item still costs the minimum), per page of all items read for a Query,
 *   filtered or not — dynalite works these out itself when asked for `ReturnConsumedCapacity`, all but
 *   the minimum of a query that finds nothing.
 * The proxy learns the before and after images of each write by reading the item directly from dynalite
 * (not billed).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AttributeValue, CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

type WireItem = Record<string, AttributeValue>;
// biome-ignore lint/suspicious/noExplicitAny: DynamoDB JSON requests, read field by field
type WireRequest = any;

/** An item's size as DynamoDB counts it: attribute names plus values (numbers ~1 byte per 2 digits). */
function itemSize(item: WireItem | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((n, [name, value]) => n + Buffer.byteLength(name) + valueSize(value), 0);
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+|e.*$/gi, '').length / 2) + 1;
  // On the wire a binary value is base64; DynamoDB counts its bytes.
  if (value.B !== undefined) return Buffer.byteLength(value.B as unknown as string, 'base64');
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + 1 + valueSize(v), 0);
  if (value.M !== undefined) return 3 + itemSize(value.M) + Object.keys(value.M).length;
  if (value.SS !== undefined) return value.SS.reduce((n, v) => n + Buffer.byteLength(v), 0);
  if (value.NS !== undefined) return value.NS.reduce((n, v) => n + Math.ceil(v.length / 2) + 1, 0);
  return 0;
}
const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

export interface OperationCount {
  requests: number;
  wru: number;
  /** Of `wru`, the index writes. */
  indexWru: number;
  rru: number;
  /** Conditional writes whose condition failed (billed all the same). */
  conditionFailed: number;
}

interface TableShape {
  keyNames: string[];
  indexes: { name: string; keyNames: string[]; project: (item: WireItem) => WireItem }[];
}

function shapeOf(table: CreateTableCommandInput): TableShape {
  const keyNames = (table.KeySchema ?? []).map((k) => k.AttributeName as string);
  return {
    keyNames,
    indexes: (table.GlobalSecondaryIndexes ?? []).map((index) => {
      const indexKeys = (index.KeySchema ?? []).map((k) => k.AttributeName as string);
      const projection = index.Projection ?? {};
      const kept = new Set([
        ...keyNames,
        ...indexKeys,
        ...(projection.ProjectionType === 'INCLUDE' ? (projection.NonKeyAttributes ?? []) : []),
      ]);
      return {
        name: index.IndexName as string,
        keyNames: indexKeys,
        project: (item: WireItem) =>
          projection.ProjectionType === 'ALL'
            ? item
            : Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name))),
      };
    }),
  };
}

/** A short name for what an item is, from its key: `alert`, `incident`, `marker`… */
export type ItemKind = (table: string, key: WireItem) => string;

export interface DynamoMeter {
  endpoint: string;
  /** Where the proxy forwards (dynalite's endpoint); settable once the emulator is up. */
  target: string;
  /** Counts by `<Operation> <item kind>`. */
  counts: Map<string, OperationCount>;
  reset(): void;
  /** Epoch ms of the last request seen (to tell when the pipeline has gone quiet). */
  lastRequestAt: number;
  close(): Promise<void>;
}

export async function startDynamoMeter(tables: CreateTableCommandInput[], kindOf: ItemKind): Promise<DynamoMeter> {
  const shapes = new Map(tables.map((t) => [t.TableName as string, shapeOf(t)]));
  const meter: DynamoMeter = {
    endpoint: '',
    target: '',
    counts: new Map(),
    lastRequestAt: 0,
    reset: () => meter.counts.clear(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const count = (name: string, add: Partial<OperationCount>) => {
    const c = meter.counts.get(name) ?? { requests: 0, wru: 0, indexWru: 0, rru: 0, conditionFailed: 0 };
    for (const [k, v] of Object.entries(add) as [keyof OperationCount, number][]) c[k] += v;
    meter.counts.set(name, c);
  };

  /** Sends one request to dynalite; returns status, headers and body. */
  const forward = (operation: string, body: string, headers: IncomingMessage['headers'] = {}) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const url = new URL(meter.target);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          headers: {
            ...headers,
            host: url.host,
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': `DynamoDB_20120810.${operation}`,
            authorization:
              headers.authorization ??
              'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
            'x-amz-date': headers['x-amz-date'] ?? '20260101T000000Z',
            'content-length': String(Buffer.byteLength(body)),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const current = async (table: string, key: WireItem): Promise<WireItem | undefined> => {
    const out = await forward('GetItem', JSON.stringify({ TableName: table, Key: key, ConsistentRead: true }));
    return JSON.parse(out.body.toString()).Item;
  };

  const keyOf = (table: string, item: WireItem): WireItem => {
    const shape = shapes.get(table);
    return Object.fromEntries((shape?.keyNames ?? []).map((k) => [k, item[k] as AttributeValue]));
  };

  /** Index write units for one item going from `before` to `after`. */
  const indexUnits = (table: string, before: WireItem | undefined, after: WireItem | undefined): number => {
    let units = 0;
    for (const index of shapes.get(table)?.indexes ?? []) {
      const inIndex = (item: WireItem | undefined) => item && index.keyNames.every((k) => item[k] !== undefined);
      const old = inIndex(before) ? index.project(before as WireItem) : undefined;
      const next = inIndex(after) ? index.project(after as WireItem) : undefined;
      if (!old && !next) continue;
      const sameKey = old && next && index.keyNames.every((k) => JSON.stringify(old[k]) === JSON.stringify(next[k]));
      if (old && next && sameKey) {
        if (JSON.stringify(old) !== JSON.stringify(next)) units += writeUnits(Math.max(itemSize(old), itemSize(next)));
      } else {
        if (old) units += writeUnits(itemSize(old));
        if (next) units += writeUnits(itemSize(next));
      }
    }
    return units;
  };

  async function meterWrite(
    operation: string,
    request: WireRequest,
    forwardIt: () => Promise<{ status: number; body: Buffer }>,
  ) {
    const table = request.TableName as string;
    const key = operation === 'PutItem' ? keyOf(table, request.Item) : (request.Key as WireItem);
    const before = await current(table, key);
    const out = await forwardIt();
    const failed = out.status !== 200 && out.body.toString().includes('ConditionalCheckFailed');
    const name = `${operation} ${kindOf(table, key)}`;
    if (failed) {
      count(name, { requests: 1, wru: writeUnits(itemSize(before)), conditionFailed: 1 });
    } else if (out.status === 200) {
      const after = await current(table, key);
      const index = indexUnits(table, before, after);
      count(name, {
        requests: 1,
        wru: writeUnits(Math.max(itemSize(before), itemSize(after))) + index,
        indexWru: index,
      });
    }
    return out;
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      meter.lastRequestAt = Date.now();
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let body = Buffer.concat(chunks).toString();
      try {
        const request: WireRequest = JSON.parse(body || '{}');
        const send = () => forward(operation, body, req.headers);
        let out: { status: number; headers?: IncomingMessage['headers']; body: Buffer };
        if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem') {
          out = await meterWrite(operation, request, send);
        } else if (operation === 'BatchWriteItem') {
          // Each item is billed as the PutItem or DeleteItem it is: the larger of the item before and after.
          const writes = (Object.entries(request.RequestItems ?? {}) as [string, WireRequest[]][]).flatMap(
            ([table, requests]) => requests.map((w) => ({ table, put: w.PutRequest?.Item as WireItem | undefined, w })),
          );
          const befores = await Promise.all(
            writes.map(({ table, put, w }) => current(table, put ? keyOf(table, put) : w.DeleteRequest.Key)),
          );
          out = await send();
          writes.forEach(({ table, put, w }, i) => {
            const index = indexUnits(table, befores[i], put);
            count(`BatchWriteItem ${kindOf(table, put ? keyOf(table, put) : w.DeleteRequest.Key)}`, {
              wru: writeUnits(Math.max(itemSize(befores[i]), itemSize(put))) + index,
              indexWru: index,
            });
          });
          count('BatchWriteItem', { requests: 1 });
        } else if (['GetItem', 'BatchGetItem', 'Query', 'Scan'].includes(operation)) {
          // dynalite bills reads itself when asked.
          body = JSON.stringify({ ...request, ReturnConsumedCapacity: 'TOTAL' });
          out = await forward(operation, body, req.headers);
          const result = JSON.parse(out.body.toString());
          const consumed = [result.ConsumedCapacity ?? []].flat() as { CapacityUnits?: number }[];
          const table = request.TableName ?? Object.keys(request.RequestItems ?? {})[0] ?? '';
          const key = request.Key ?? request.RequestItems?.[table]?.Keys?.[0] ?? {};
          const kind =
            operation === 'Query' || operation === 'Scan'
              ? `${kindOf(table, request.ExpressionAttributeValues?.[':pk'] ? { pk: request.ExpressionAttributeValues[':pk'] } : {})}${request.IndexName ? ` via ${request.IndexName}` : ''}`
              : kindOf(table, key);
          // A query or scan that finds nothing still costs the minimum read; dynalite bills it 0. (A missing
          // item of a GetItem or BatchGetItem it already bills at the minimum.)
          const minimum = request.ConsistentRead ? 1 : 0.5;
          const units = consumed.reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
          count(`${operation} ${kind}`, {
            requests: 1,
            rru: operation === 'Query' || operation === 'Scan' ? Math.max(units, minimum) : units,
          });
        } else {
          out = await send();
        }
        res.writeHead(out.status, out.headers);
        res.end(out.body);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure', message: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  meter.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return meter;
}

export interface SqsMeter {
  /** Requests by operation; `ReceiveMessage` only when it returned messages. */
  counts: Map<string, number>;
  /** Receives that returned nothing (the event source mapping's idle polling). */
  emptyReceives: number;
  /** Worker busy time: from each non-empty receive to the poller's next receive, ms. */
  workerMs: number[];
  reset(): void;
  stop(): void;
}

/** Counts every SQS request this process makes (the functions' and the local event source mapping's). */
export function meterSqs(ignore: string[] = []): SqsMeter {
  const original = SQSClient.prototype.send;
  const busySince = new WeakMap<object, number>();
  const meter: SqsMeter = {
    counts: new Map(),
    emptyReceives: 0,
    workerMs: [],
    reset() {
      meter.counts.clear();
      meter.emptyReceives = 0;
      meter.workerMs = [];
    },
    stop() {
      SQSClient.prototype.send = original;
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: wraps the SDK's overloaded send
  SQSClient.prototype.send = async function (this: SQSClient, command: any, ...rest: any[]) {
    const operation = String(command.constructor.name).replace(/Command$/, '');
    const started = busySince.get(this);
    if (operation === 'ReceiveMessage' && started !== undefined) {
      meter.workerMs.push(Date.now() - started);
      busySince.delete(this);
    }
    // biome-ignore lint/suspicious/noExplicitAny: as above
    const out: any = await (original as any).call(this, command, ...rest);
    if (ignore.includes(operation)) return out;
    if (operation === 'ReceiveMessage') {
      if (!out?.Messages?.length) {
        meter.emptyReceives += 1;
        return out;
      }
      busySince.set(this, Date.now());
    }
    meter.counts.set(operation, (meter.counts.get(operation) ?? 0) + 1);
    return out;
  } as typeof original;
  return meter;
}
