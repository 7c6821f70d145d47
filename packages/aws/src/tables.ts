/**
 * The DynamoDB table design, as data. The CDK stack (infra/) and the local emulator both build their
 * tables from these constants, so the two can never drift apart.
 *
 * Data table (`INCIDENT_PILOT_TABLE`), one partition per entity group:
 *
 * | item                | pk                      | sk                                         | notes                          |
 * | ------------------- | ----------------------- | ------------------------------------------ | ------------------------------ |
 * | alert record        | `G#<groupId>`           | `A#<fingerprint>#<startsAt>#<status>`      | written once (`listed`), TTL   |
 * | pending entry       | `G#<groupId>`           | `P#<receivedAt>#<uuid>`                    | `records` (alert sks) not yet folded; deleted by the fold |
 * | group state         | `G#<groupId>`           | `STATE`                                    | `version`                      |
 * | context item        | `C#<kind>#<service>`    | `<ISO timestamp>#<unique suffix>`          | kind: deploys, logs (ERROR and above), traces; TTL |
 * | log line below ERROR | `C#logs-below-error#<service>` | `<ISO timestamp>#<unique suffix>`   | kept, read by no rule; TTL     |
 * | overflow alert      | `G#<groupId>`           | `M#<incidentId>#<fingerprint>`             | `status`, `countedIn`; no TTL: kept as the incident |
 * | wake-up             | `G#<groupId>`           | `WAKE`                                     | `wakeAt` (ms): pending job, `wakeClaim` |
 * | open group of a service | `S#<service>`       | `<groupId>`                                | `incidentId`; for context-triggered refresh |
 * | notification marker | `N#<incidentId>`        | `<event>[.<revision>]#<sink>`              | `state`: claimed / sent        |
 * | counters            | `STATS`                 | `COUNTERS`                                 | one number per stat, `ADD`     |
 * | rule firing         | `R#<ruleId>`            | `F#<incidentId>`                           | `at`: when the incident opened |
 * | rule vote           | `R#<ruleId>`            | `V#<incidentId>#<userId>`                  | `vote`: up / down (replaceable) |
 * | heartbeat           | `HEARTBEAT`             | `LAST`                                     | `lastAt`, `armedAt`, `missingSince` |
 *
 * Incidents table (`INCIDENT_PILOT_INCIDENTS_TABLE`): one item per incident, keyed by `id`, with the
 * fields an operator reads in the console (status, severity, service, title, times, counts, `findings` as
 * a list of maps…) and every field a patch sets as readable top-level attributes; the bulky fields no
 * patch sets (`alerts`, `narration`, `commonLabels`, `pendingChanges`, `lastUpdate`, `announced`) are packed,
 * gzip-compressed, in the binary attribute `packed` (see dynamo/incidents.ts), since every fold rewrites
 * the whole item. Three GSIs list incidents newest first without a scan: `byOpenedAt` (every incident,
 * `listPk` = `"incident"`), the sparse `openByOpenedAt` (`openPk` = `"open"` exists only while the
 * incident is open) and `byService` (partition `service`).
 *
 * Every index projects only {@link INDEX_ATTRIBUTES}, and the open index also the open incident's
 * `fingerprints`: lists read the incidents themselves by id. An index is written only when an attribute
 * it holds changes, so most incident writes (a refresh, a Slack message id) cost no index write at all,
 * however large the incident, and a fold that lists new alerts writes the open index alone.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { ContextKind, IncidentEventType } from '@incident-pilot/core';

/** Key and TTL attribute names of the data table. */
export const DATA_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; DynamoDB's TTL deletes the item some time (up to days) after it. */
  ttlAttribute: 'expiresAt',
} as const;

/** Key names, index names and constant index partition values of the incidents table. */
export const INCIDENTS_TABLE = {
  partitionKey: 'id',
  /** Every incident, newest first: pk `listPk` (always `"incident"`), sk `openedAt`. */
  byOpenedAt: { indexName: 'byOpenedAt', partitionKey: 'listPk', sortKey: 'openedAt', partitionValue: 'incident' },
  /**
   * Open incidents only (sparse): pk `openPk` (`"open"`, removed on resolve), sk `openedAt`. Also holds
   * `fingerprints` (storage-only: the fingerprints of the alerts an open incident lists), which the
   * duplicate rule reads; they change on most folds, so no other index holds them.
   */
  openByOpenedAt: {
    indexName: 'openByOpenedAt',
    partitionKey: 'openPk',
    sortKey: 'openedAt',
    partitionValue: 'open',
    alsoProjects: ['fingerprints'],
  },
  /** Incidents of one service: pk `service`, sk `openedAt`. */
  byService: { indexName: 'byService', partitionKey: 'service', sortKey: 'openedAt' },
} as const;

/** The non-key attributes every incidents index holds: what a status filter and the duplicate rule read. */
const INDEX_ATTRIBUTES = ['status', 'service', 'alertname', 'groupKey'] as const;

/** The non-key attributes `index` projects: {@link INDEX_ATTRIBUTES} and its own extras, but its own keys. */
export const projectedAttributes = (index: {
  partitionKey: string;
  sortKey: string;
  alsoProjects?: readonly string[];
}): string[] =>
  [...INDEX_ATTRIBUTES, ...(index.alsoProjects ?? [])].filter(
    (name) => name !== index.partitionKey && name !== index.sortKey,
  );

/** Builders for the data table's keys; the single place that knows the key formats. */
export const keys = {
  alert: (groupId: string, fingerprint: string, startsAt: string, status: string) => ({
    pk: `G#${groupId}`,
    sk: `A#${fingerprint}#${startsAt}#${status}`,
  }),
  /** A delivery's new records of a group, listed until a job has folded them. */
  pendingEntry: (groupId: string, receivedAt: string, id: string) => ({
    pk: `G#${groupId}`,
    sk: `P#${receivedAt}#${id}`,
  }),
  /** Begins every pending entry's sort key inside a group partition. */
  pendingPrefix: 'P#',
  groupState: (groupId: string) => ({ pk: `G#${groupId}`, sk: 'STATE' }),
  contextPartition: (kind: ContextKind, service: string) => `C#${kind}#${service}`,
  /** Log lines below ERROR, which no rule reads: apart, so a chatty service's never crowd out its errors. */
  belowErrorLogsPartition: (service: string) => `C#logs-below-error#${service}`,
  notificationPartition: (incidentId: string) => `N#${incidentId}`,
  /** Begins every update's marker; the other events' markers sort before it. */
  notificationUpdatesPrefix: 'updated',
  notification: (incidentId: string, event: IncidentEventType, sink: string, revision?: number) => ({
    pk: keys.notificationPartition(incidentId),
    sk: revision === undefined ? `${event}#${sink}` : `${event}.${revision}#${sink}`,
  }),
  /** Overflow alerts of an incident (past the ones it lists), one item each. */
  overflowAlert: (groupId: string, incidentId: string, fingerprint: string) => ({
    pk: `G#${groupId}`,
    sk: `M#${incidentId}#${fingerprint}`,
  }),
  /** The group's pending wake-up (a delayed job). */
  wake: (groupId: string) => ({ pk: `G#${groupId}`, sk: 'WAKE' }),
  /** One item per group with an open incident about the service. */
  serviceGroups: (service: string) => `S#${service}`,
  stats: { pk: 'STATS', sk: 'COUNTERS' },
  rulePartition: (ruleId: string) => `R#${ruleId}`,
  ruleFired: (ruleId: string, incidentId: string) => ({ pk: `R#${ruleId}`, sk: `F#${incidentId}` }),
  /** Begins every firing marker's sort key inside a rule partition. */
  ruleFiredPrefix: 'F#',
  ruleVote: (ruleId: string, incidentId: string, userId: string) => ({
    pk: `R#${ruleId}`,
    sk: `V#${incidentId}#${userId}`,
  }),
  heartbeat: { pk: 'HEARTBEAT', sk: 'LAST' },
} as const;

/** Physical table names, as the stack names them (env `INCIDENT_PILOT_TABLE`, `INCIDENT_PILOT_INCIDENTS_TABLE`). */
export interface TableNames {
  tableName: string;
  incidentsTableName: string;
}

/**
 * CreateTable inputs (on-demand billing) for both tables, used by the local emulator. TTL is not
 * part of CreateTable: the stack enables it on {@link DATA_TABLE.ttlAttribute}; dynalite ignores TTL,
 * which is why the store filters expired items on read.
 */
export function tableDefinitions(names: TableNames): [CreateTableCommandInput, CreateTableCommandInput] {
  const { byOpenedAt, openByOpenedAt, byService } = INCIDENTS_TABLE;
  return [
    {
      TableName: names.tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: DATA_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: DATA_TABLE.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: DATA_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: DATA_TABLE.sortKey, KeyType: 'RANGE' },
      ],
    },
    {
      TableName: names.incidentsTableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: INCIDENTS_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: byOpenedAt.partitionKey, AttributeType: 'S' },
        { AttributeName: openByOpenedAt.partitionKey, AttributeType: 'S' },
        { AttributeName: byService.partitionKey, AttributeType: 'S' },
        // Shared by every index.
        { AttributeName: byOpenedAt.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: INCIDENTS_TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [byOpenedAt, openByOpenedAt, byService].map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: projectedAttributes(index) },
      })),
    },
  ];
}
