/**
 * Builds the app the way `npx cdk synth` does (cdk.json's context: feature flags and configuration
 * defaults), environment-agnostic, with per-test overrides. Synthesis is the slow part of these
 * tests, so each file builds once in `beforeAll`.
 */
import { type CreateAppOptions, createApp, readCdkJsonContext } from '../../infra/create-app.js';

/** Ample for a loaded 2-core machine; vitest's default hook timeout is shorter. */
export const SYNTH_TIMEOUT_MS = 180_000;

export function buildTestApp(overrides: Record<string, unknown> = {}, options: Omit<CreateAppOptions, 'context'> = {}) {
  return createApp({ env: {}, ...options, context: { ...readCdkJsonContext(), ...overrides } });
}

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

/** `TablesDataF751E041` → `TablesData`: logical ids without the hash, for readable expectations. */
export const friendly = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

/**
 * Renders an IAM resource (`{Ref}`, `{Fn::GetAtt}`, `{Fn::Join}`) as text: `TablesIncidents/index/byOpenedAt`.
 * Anything else (a literal ARN, a wildcard) is returned verbatim so a test can see it.
 */
export function describeResource(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return friendly(v.Ref);
  if (Array.isArray(v['Fn::GetAtt'])) return friendly(String(v['Fn::GetAtt'][0]));
  if (Array.isArray(v['Fn::Join'])) return (v['Fn::Join'][1] as unknown[]).map(describeResource).join('');
  return JSON.stringify(value);
}

/** `action on resource` for every Allow statement of the policies attached to `roleLogicalId`. */
export function grantsOf(resources: Record<string, Resource>, roleLogicalId: string): string[] {
  const grants: string[] = [];
  for (const policy of Object.values(resources)) {
    if (policy.Type !== 'AWS::IAM::Policy') continue;
    const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    if (!roles.includes(roleLogicalId)) continue;
    const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    for (const s of statements) {
      if (s.Effect !== 'Allow') continue;
      for (const action of [s.Action].flat() as string[]) {
        for (const resource of [s.Resource].flat()) grants.push(`${action} on ${describeResource(resource)}`);
      }
    }
  }
  return grants.sort();
}
