/**
 * The HTTP routes and the function behind each: one table read by the CDK stack (API Gateway
 * routes), by the local stack (its dispatcher) and by the OpenAPI document, so they can never disagree.
 * Anything else reaches the query function as API Gateway's `$default` route (404 or 405).
 */
export type FunctionName = 'alerts' | 'context' | 'query' | 'interactions';

export interface Route {
  method: 'GET' | 'POST';
  /** API Gateway path syntax: `{name}` is a path parameter. */
  path: string;
  fn: FunctionName;
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/alerts', fn: 'alerts' },
  { method: 'POST', path: '/context/{kind}', fn: 'context' },
  { method: 'GET', path: '/api/incidents', fn: 'query' },
  { method: 'GET', path: '/api/incidents/{id}', fn: 'query' },
  { method: 'POST', path: '/api/incidents/{id}/resolve', fn: 'query' },
  { method: 'GET', path: '/api/stats', fn: 'query' },
  { method: 'GET', path: '/api/rules', fn: 'query' },
  { method: 'GET', path: '/openapi.json', fn: 'query' },
  { method: 'GET', path: '/healthz', fn: 'query' },
  // Signed by Slack (checked in the function), not the bearer token.
  { method: 'POST', path: '/slack/interactions', fn: 'interactions' },
];

/** The function that answers requests no route matches (API Gateway's `$default` route). */
export const DEFAULT_ROUTE_FN: FunctionName = 'query';
