import { type ILogGroup, QueryDefinition, QueryString } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface LogQueriesProps {
  readonly stage: string;
  /** The log groups of the functions behind the API: theirs are the `request` lines. */
  readonly http: ILogGroup[];
  readonly worker: ILogGroup;
  /** The heartbeat check's, when it is deployed. */
  readonly heartbeat?: ILogGroup;
}

/**
 * What a failed invocation leaves in a function's log group, besides the handler's own `level: ERROR`
 * lines: the Node.js runtime's text lines, which have no `level` field (an error thrown out of the handler
 * or at module load, a promise rejected unawaited), and Lambda's own for a timeout and for a process killed
 * (out of memory). A `<function>-errors` alarm counts exactly these invocations; the handlers log none of them.
 */
export const FAILED_INVOCATION =
  /Invoke Error|Uncaught Exception|Unhandled Promise Rejection|Task timed out|Runtime exited/;

/**
 * Saved Logs Insights queries, one per first look of the README's "When an alarm fires", listed in the
 * console under `incident-pilot/<stage>/`, each on the log groups whose lines it reads.
 */
export class LogQueries extends Construct {
  constructor(scope: Construct, id: string, { stage, http, worker, heartbeat }: LogQueriesProps) {
    super(scope, id);
    const query = (name: string, logGroups: ILogGroup[], filter: string, stats?: string) =>
      new QueryDefinition(this, name, {
        queryDefinitionName: `incident-pilot/${stage}/${name}`,
        logGroups,
        queryString: new QueryString({
          filterStatements: [filter],
          // A list shows the whole line: a runtime's has no `message` or `error`, all of it is `@message`.
          ...(stats
            ? { statsStatements: [stats] }
            : { fields: ['@timestamp', '@message'], sort: '@timestamp desc', limit: 50 }),
        }),
      });

    query('failed-jobs', [worker], 'message = "job failed; it will be retried"', 'count() by error');
    query('failed-notifications', [worker], 'message = "notification failed"', 'count() by sink, error');
    query('deferred-jobs', [worker], 'message = "job deferred"', 'count() by error');
    query('refused-requests', http, 'message = "request" and status >= 400', 'count() by route, error');
    query(
      'errors',
      [...http, worker, ...(heartbeat ? [heartbeat] : [])],
      `level = "ERROR" or @message like ${FAILED_INVOCATION}`,
    );
  }
}
