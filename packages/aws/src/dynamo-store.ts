import type { HeartbeatRepository, Store } from '@incident-pilot/core';
import { createAlertRepository } from './dynamo/alerts.js';
import { createDynamo, type DynamoTables } from './dynamo/client.js';
import { createContextRepository } from './dynamo/context.js';
import { createHeartbeatRepository } from './dynamo/heartbeat.js';
import { createIncidentRepository } from './dynamo/incidents.js';
import { createNotificationLedger } from './dynamo/notifications.js';
import { createOverflowRepository } from './dynamo/overflow.js';
import { createRefreshRepository } from './dynamo/refresh.js';
import { createRuleFeedback } from './dynamo/rules.js';
import { createStatsRepository } from './dynamo/stats.js';

export interface DynamoStoreOptions extends DynamoTables {
  /** How long alert records are kept, counted from `receivedAt` (env `INCIDENT_PILOT_ALERT_TTL_DAYS`). */
  alertTtlDays?: number;
}

/**
 * The DynamoDB implementation of every repository port (one file per port under `dynamo/`, sharing
 * one client; see tables.ts for the key design).
 *
 * Written for DynamoDB and dynalite alike: conditional writes instead of transactions, and expired
 * items (`expiresAt` in the past) filtered out on read, because TTL deletion lags (and dynalite never
 * deletes). Data-table reads are strongly consistent: the worker reads what ingest has just written.
 * Transient AWS failures surface as the core's TransientError.
 */
export function createDynamoStore({ alertTtlDays, ...tables }: DynamoStoreOptions): Store {
  const db = createDynamo(tables);
  return {
    ...createAlertRepository(db, alertTtlDays),
    ...createContextRepository(db),
    ...createIncidentRepository(db),
    ...createNotificationLedger(db),
    ...createStatsRepository(db),
    ...createOverflowRepository(db),
    ...createRefreshRepository(db),
    ...createRuleFeedback(db),
  };
}

/** The heartbeat item of the data table (not part of {@link Store}: only ingest and the check use it). */
export function createDynamoHeartbeats(tables: DynamoTables): HeartbeatRepository {
  return createHeartbeatRepository(createDynamo(tables));
}
