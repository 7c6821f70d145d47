import { type ILogGroup, QueryDefinition, QueryString } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface LogQueriesProps {
  readonly stage: string;
  /** Each function's log group, by function name. */
  readonly logGroups: Record<string, ILogGroup>;
}

/**
 * Saved Logs Insights queries, one per first look of the README's "When an alarm fires", listed in the
 * console under `incident-pilot/<stage>/`, each on the log groups whose lines it reads.
 */
export class LogQueries extends Construct {
  constructor(scope: Construct, id: string, { stage, logGroups }: LogQueriesProps) {
    super(scope, id);
    const worker = logGroups.worker ? [logGroups.worker] : [];
    const query = (name: string, groups: ILogGroup[], filter: string, stats?: string) =>
      new QueryDefinition(this, name, {
        queryDefinitionName: `incident-pilot/${stage}/${name}`,
        logGroups: groups,
        queryString: new QueryString({
          fields: ['@timestamp', 'message', 'error'],
          filterStatements: [filter],
          ...(stats ? { statsStatements: [stats] } : { sort: '@timestamp desc', limit: 50 }),
        }),
      });

    query('failed-jobs', worker, 'message = "job failed; it will be retried"', 'count() by error');
    query('failed-notifications', worker, 'message = "notification failed"', 'count() by sink, error');
    query('deferred-jobs', worker, 'message = "job deferred"', 'count() by error');
    query(
      'refused-requests',
      Object.values(logGroups),
      'message = "request" and status >= 400',
      'count() by route, error',
    );
    query('errors', Object.values(logGroups), 'level = "ERROR"');
  }
}
