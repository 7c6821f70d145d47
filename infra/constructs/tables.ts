import { RemovalPolicy as Removal, type RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
// The table design lives with the DynamoDB adapter (the local emulator builds its tables from it too);
// importing the constants keeps the deployed key schema and the code's key names from drifting apart.
import { DATA_TABLE, INCIDENTS_TABLE, projectedAttributes } from '../../packages/aws/src/tables.js';

/** A table plus the names of its indexes, so grants can name each index ARN instead of `index/*`. */
export interface PipelineTable {
  readonly table: Table;
  readonly indexNames: readonly string[];
}

export interface PipelineTablesProps {
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The two tables: on demand (the load is bursty and small), point-in-time recovery, encrypted with
 * the AWS-managed DynamoDB key, and protected from deletion whenever they are retained.
 */
export class PipelineTables extends Construct {
  /** Alerts, context (TTL), group state, notification markers, counters. */
  readonly data: PipelineTable;
  /** One item per incident, listed newest first through three GSIs. */
  readonly incidents: PipelineTable;

  constructor(scope: Construct, id: string, props: PipelineTablesProps) {
    super(scope, id);
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
      deletionProtection: props.removalPolicy === Removal.RETAIN,
    };

    const data = new Table(this, 'Data', {
      ...common,
      partitionKey: { name: DATA_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: DATA_TABLE.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: DATA_TABLE.ttlAttribute,
    });
    this.data = { table: data, indexNames: [] };

    const incidents = new Table(this, 'Incidents', {
      ...common,
      partitionKey: { name: INCIDENTS_TABLE.partitionKey, type: AttributeType.STRING },
    });
    const { byOpenedAt, openByOpenedAt, byService } = INCIDENTS_TABLE;
    const indexes = [byOpenedAt, openByOpenedAt, byService];
    for (const index of indexes) {
      incidents.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        // A small projection: most incident writes leave the indexes alone (see packages/aws/src/tables.ts).
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: projectedAttributes(index),
      });
    }
    this.incidents = { table: incidents, indexNames: indexes.map((i) => i.indexName) };
  }
}
