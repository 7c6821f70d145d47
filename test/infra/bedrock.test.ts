/**
 * The stack with Amazon Bedrock as the LLM provider: the worker may invoke exactly the configured
 * model (or inference profile and the models behind it), reads no LLM key, and cdk-nag stays clean.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../functions/lib/env.js';
import { parseConfig } from '../../infra/config.js';
import { buildTestApp, grantsOf, SYNTH_TIMEOUT_MS } from './synth.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Template = { Resources: Record<string, Resource> };

const FAST = { bundling: false, nag: false, cfnValidation: false } as const;
const HAIKU = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';

function synth(llm: Record<string, unknown>) {
  const built = buildTestApp({ llm }, FAST);
  const template = built.app.synth().getStackByName(built.stack.stackName).template as Template;
  const worker = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('WorkerFunction'),
  )?.[1];
  if (!worker) throw new Error('no worker function');
  const role = (worker.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '';
  const bedrockStatements = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement)
    .filter((s) => [s.Action].flat().some((a) => String(a).startsWith('bedrock:')));
  const variables = (worker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return {
    built,
    grants: grantsOf(template.Resources as never, role).filter((g) => /^(bedrock|secretsmanager):/.test(g)),
    bedrockStatements,
    variables,
  };
}

describe('stack with the bedrock LLM provider', () => {
  describe('a foundation model', () => {
    let result: ReturnType<typeof synth>;
    beforeAll(() => {
      result = synth({ provider: 'bedrock', model: HAIKU, region: 'eu-central-1' });
    }, SYNTH_TIMEOUT_MS);

    it('allows InvokeModel on that model only, and reads no LLM key', () => {
      expect(result.grants).toEqual([
        `bedrock:InvokeModel on arn:AWS::Partition:bedrock:eu-central-1::foundation-model/${HAIKU}`,
        'secretsmanager:GetSecretValue on SecretsOpsgenieApiKey',
        'secretsmanager:GetSecretValue on SecretsPagerDutyRoutingKey',
        'secretsmanager:GetSecretValue on SecretsSlackBotToken',
        'secretsmanager:GetSecretValue on SecretsSlackWebhook',
      ]);
    });

    it('passes the provider, model and region to the worker, which parses them', () => {
      expect(result.variables).toMatchObject({
        INCIDENT_PILOT_LLM_PROVIDER: 'bedrock',
        INCIDENT_PILOT_LLM_MODEL: HAIKU,
        INCIDENT_PILOT_LLM_REGION: 'eu-central-1',
        INCIDENT_PILOT_LLM_MIN_SEVERITY: 'high',
        INCIDENT_PILOT_LLM_MAX_CALLS_PER_HOUR: '60',
      });
      expect(result.variables).not.toHaveProperty('INCIDENT_PILOT_LLM_SECRET_ARN');
      const resolved = Object.fromEntries(
        Object.entries(result.variables).map(([k, v]) => [k, typeof v === 'string' ? v : 'https://ref.example/x']),
      );
      expect(parseEnv(resolved).INCIDENT_PILOT_LLM_PROVIDER).toBe('bedrock');
    });

    it('keeps cdk-nag AwsSolutions clean', () => {
      const report = new AwsSolutionsChecks(result.built.app).validateScope(result.built.app);
      expect(
        report.violations.filter((v) => v.ruleName !== 'AwsSolutions-APIG4' && v.ruleName !== 'AwsSolutions-SMG4'),
      ).toEqual([]);
      expect(report.success).toBe(true);
    });
  });

  describe('a geographic inference profile', () => {
    let result: ReturnType<typeof synth>;
    beforeAll(() => {
      result = synth({
        provider: 'bedrock',
        model: `eu.${SONNET}`,
        profileRegions: ['eu-central-1', 'eu-west-1', 'eu-west-3'],
      });
    }, SYNTH_TIMEOUT_MS);

    it('allows the profile, and the model in each Region it routes to only through that profile', () => {
      const profile = `arn:AWS::Partition:bedrock:AWS::Region:AWS::AccountId:inference-profile/eu.${SONNET}`;
      expect(result.grants).toEqual(
        [
          `bedrock:InvokeModel on ${profile}`,
          ...['eu-central-1', 'eu-west-1', 'eu-west-3'].map(
            (r) => `bedrock:InvokeModel on arn:AWS::Partition:bedrock:${r}::foundation-model/${SONNET}`,
          ),
          'secretsmanager:GetSecretValue on SecretsOpsgenieApiKey',
          'secretsmanager:GetSecretValue on SecretsPagerDutyRoutingKey',
          'secretsmanager:GetSecretValue on SecretsSlackWebhook',
          'secretsmanager:GetSecretValue on SecretsSlackBotToken',
        ].sort(),
      );
      const models = result.bedrockStatements.find((s) => JSON.stringify(s.Resource).includes('foundation-model'));
      expect(JSON.stringify(models?.Condition)).toContain('bedrock:InferenceProfileArn');
      expect(JSON.stringify(models?.Condition)).toContain(`inference-profile/eu.${SONNET}`);
    });

    it('never grants a wildcard resource', () => {
      for (const s of result.bedrockStatements) expect(JSON.stringify(s.Resource)).not.toContain('*');
    });
  });

  it(
    'for a global profile, allows the Region-less model ARN AWS uses for it',
    () => {
      const result = synth({ provider: 'bedrock', model: `global.${SONNET}` });
      expect(result.grants).toContain(`bedrock:InvokeModel on arn:AWS::Partition:bedrock:::foundation-model/${SONNET}`);
      expect(result.grants).toContain(
        `bedrock:InvokeModel on arn:AWS::Partition:bedrock:AWS::Region::foundation-model/${SONNET}`,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  describe('configuration', () => {
    it.each([
      [{ provider: 'bedrock' }, /llm\.model: is required/],
      [{ provider: 'bedrock', model: `us.${SONNET}` }, /llm\.profileRegions: is required with the inference profile/],
      [
        { provider: 'bedrock', model: HAIKU, profileRegions: ['us-east-1'] },
        /llm\.profileRegions: is for inference profiles/,
      ],
      [{ provider: 'bedrock', model: 'anthropic.*' }, /llm\.model/],
      [{ provider: 'bedrock', model: HAIKU, region: 'mars-1' }, /llm\.region: is not an AWS Region/],
      [{ provider: 'bedrock', model: HAIKU, endpoint: 'https://x.example' }, /llm\.endpoint: is not used by bedrock/],
      [{ provider: 'openai', model: 'gpt', region: 'eu-west-1' }, /llm\.region: is for bedrock only/],
      [{ provider: 'openai-compatible', model: 'm' }, /llm\.baseUrl: is required/],
    ])('refuses %j', (llm, message) => {
      expect(() => parseConfig({ llm })).toThrowError(message);
    });

    it('accepts the providers of the original service with a base URL', () => {
      expect(
        parseConfig({ llm: { provider: 'ollama', model: 'llama3.2', baseUrl: 'https://ollama.internal' } }).llm,
      ).toMatchObject({
        provider: 'ollama',
        baseUrl: 'https://ollama.internal',
      });
    });
  });
});
