/**
 * cdk-nag 3 runs as a CDK policy-validation plugin (not an Aspect emitting Annotations, as v2 did):
 * findings surface as validation violations and fail synthesis. So this test (1) synthesizes the app
 * exactly as `cdk synth` does, with AwsSolutionsChecks and CDK's built-in CloudFormation validation
 * registered, and (2) runs the pack directly to list findings, proving that every acknowledgment in
 * infra/stack.ts is still needed and that nothing else fires.
 */
import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, SYNTH_TIMEOUT_MS } from './synth.js';

type Finding = { rule: string; severity: string; path: string };

const findings = (report: PolicyValidationPluginReport): Finding[] =>
  report.violations
    .flatMap((v) =>
      v.violatingResources.map((r) => ({
        rule: v.ruleName,
        severity: v.severity ?? 'error',
        path: (r.constructPath ?? '').replace(/^IncidentPilot-prod\//, ''),
      })),
    )
    .sort((a, b) => `${a.rule}${a.path}`.localeCompare(`${b.rule}${b.path}`));

let built: ReturnType<typeof buildTestApp>;
let synthError: unknown;

beforeAll(() => {
  // Bundling does not change what nag checks; the plugins are registered as in infra/app.ts.
  built = buildTestApp({}, { bundling: false });
  try {
    built.app.synth();
  } catch (error) {
    synthError = error;
  }
}, SYNTH_TIMEOUT_MS);

describe('cdk-nag AwsSolutions', () => {
  it('leaves no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(built.app, { verbose: true }).validateScope(built.app);
    const open = findings(report);
    if (open.length > 0) console.error(open.map((f) => `${f.severity} ${f.rule} at ${f.path}`).join('\n'));
    expect(open).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('passes synthesis with nag and the built-in CloudFormation validation registered', () => {
    expect(synthError).toBeUndefined();
  });

  it('acknowledges exactly these findings, each on its own resource', () => {
    const pack = new AwsSolutionsChecks(built.app);
    // Re-run the rules with acknowledgments ignored: what remains is what infra/stack.ts accepts.
    Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
    const all = findings(pack.validateScope(built.app));
    const routes = all.filter((f) => f.rule === 'AwsSolutions-APIG4').map((f) => f.path);
    // The route table's ten routes and $default.
    expect(routes).toHaveLength(11);
    for (const path of routes) expect(path).toMatch(/^Api\/HttpApi\//);
    expect(all.filter((f) => f.rule !== 'AwsSolutions-APIG4')).toEqual([
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/LlmApiKey/Resource' },
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/OpsgenieApiKey/Resource' },
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/PagerDutyRoutingKey/Resource' },
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/SlackBotToken/Resource' },
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/SlackSigningSecret/Resource' },
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/SlackWebhook/Resource' },
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/Token/Resource' },
      { rule: 'AwsSolutions-SMG4', severity: 'error', path: 'Secrets/WebhookSecret/Resource' },
    ]);
  });

  it('leaves nothing open with the heartbeat check deployed: only its scheduler role grant on `<function>:*` is accepted', () => {
    const withHeartbeat = buildTestApp({ heartbeatMinutes: 5 }, { bundling: false, nag: false, cfnValidation: false });
    expect(findings(new AwsSolutionsChecks(withHeartbeat.app).validateScope(withHeartbeat.app))).toEqual([]);
    const pack = new AwsSolutionsChecks(withHeartbeat.app);
    Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
    const iam5 = findings(pack.validateScope(withHeartbeat.app)).filter((f) => f.rule.startsWith('AwsSolutions-IAM5'));
    expect(iam5.map((f) => f.path)).toEqual([expect.stringMatching(/^HeartbeatScheduleRole\//)]);
  });

  it('accepts only the X-Ray statement on `*` when tracing is on', () => {
    const traced = buildTestApp({ tracing: true }, { bundling: false, nag: false, cfnValidation: false });
    expect(findings(new AwsSolutionsChecks(traced.app).validateScope(traced.app))).toEqual([]);
    const template = traced.app.synth().getStackByName(traced.stack.stackName).template as {
      Resources: Record<string, { Type: string; Properties: { PolicyDocument?: { Statement: Statement[] } } }>;
    };
    type Statement = { Action: string | string[]; Resource: unknown };
    const onStar = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument?.Statement ?? [])
      .filter((s) => s.Resource === '*');
    expect(onStar).toHaveLength(5);
    for (const s of onStar) expect(s.Action).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });
});
