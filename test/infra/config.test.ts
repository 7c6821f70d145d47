import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTEXT_KEYS, ConfigError, parseConfig } from '../../infra/config.js';
import { createApp, readCdkJsonContext } from '../../infra/create-app.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

describe('stack configuration (CDK context)', () => {
  it('has every key with its default in cdk.json, and the defaults parse', () => {
    const fromCdkJson = Object.fromEntries(CONTEXT_KEYS.map((k) => [k, cdkJson.context[k]]));
    expect(Object.entries(fromCdkJson).filter(([, v]) => v === undefined)).toEqual([]);
    expect(parseConfig(fromCdkJson)).toEqual(parseConfig({}));
    expect(parseConfig({})).toMatchObject({
      stage: 'prod',
      logRetentionDays: 30,
      alarmEmail: '',
      workerMaxConcurrency: 5,
      workerMemoryMb: 512,
      removalPolicy: 'retain',
      resolvePolicy: 'all',
      contextTtlHours: 48,
      engineConfig: {},
      llm: { provider: '', model: '', endpoint: '' },
    });
    expect(cdkJson.app).toBe('npx tsx infra/app.ts');
  });

  it('accepts command-line strings (-c key=value) for numbers, booleans and JSON objects', () => {
    const config = parseConfig({
      workerMaxConcurrency: '20',
      logRetentionDays: '90',
      tracing: 'true',
      engineConfig: '{"logs":{"minErrors":10}}',
      llm: '{"provider":"openai","model":"gpt-x"}',
    });
    expect(config).toMatchObject({
      workerMaxConcurrency: 20,
      logRetentionDays: 90,
      tracing: true,
      engineConfig: { logs: { minErrors: 10 } },
      llm: { provider: 'openai', model: 'gpt-x', endpoint: '' },
    });
  });

  it('names every bad key in one error', () => {
    expect(() =>
      parseConfig({
        stage: 'Prod!',
        logRetentionDays: 31,
        removalPolicy: 'keep',
        workerMaxConcurrency: 1,
        workerMemoryMb: 64,
        alarmEmail: 'not-an-email',
        llm: { provider: 'other' },
      }),
    ).toThrowError(
      /stage: .*\n.*logRetentionDays: must be one of .*\n.*alarmEmail: .*\n.*workerMaxConcurrency: .*\n.*workerMemoryMb: .*\n.*removalPolicy: .*\n.*llm\.provider/s,
    );
  });

  it('checks engineConfig against the engine schema, including misspelt keys', () => {
    expect(() => parseConfig({ engineConfig: { deploy: { windowMinutes: -5 } } })).toThrowError(
      /engineConfig\.deploy\.windowMinutes: /,
    );
    expect(() => parseConfig({ engineConfig: { deploy: { windowMinute: 45 } } })).toThrowError(
      /engineConfig\.deploy\.windowMinute: unknown key/,
    );
    // Free-form maps keep their keys: service names are not typos.
    expect(parseConfig({ engineConfig: { routing: { serviceTeams: { checkout: 'payments' } } } }).engineConfig).toEqual(
      {
        routing: { serviceTeams: { checkout: 'payments' } },
      },
    );
  });

  it('refuses a misspelt key (-c alarmEmial=…), which would otherwise deploy with the default', () => {
    expect(() => parseConfig({ alarmEmial: 'oncall@example.com', heartbeatMinute: 10 })).toThrowError(
      /\n {2}alarmEmial: unknown key.*\n {2}heartbeatMinute: unknown key/s,
    );
    // A nested value is set as a whole (-c llm='{…}'), not by its path.
    expect(() => parseConfig({ 'llm.provider': 'bedrock' })).toThrowError(/llm\.provider: unknown key/);
    // What `cdk deploy -c heartbeatMinute=10` hands the app, next to cdk.json's context and CDK's own keys.
    const context = {
      ...readCdkJsonContext(),
      'aws:cdk:enable-path-metadata': true,
      'acknowledged-issue-numbers': [34892],
      heartbeatMinute: '10',
    };
    expect(() => createApp({ context, nag: false })).toThrowError(ConfigError);
    expect(() => createApp({ context, nag: false })).toThrowError(/heartbeatMinute: unknown key/);
  });

  it('names each unknown key inside llm and paging with its path, as inside engineConfig', () => {
    expect(() =>
      parseConfig({ llm: { provider: 'openai', modle: 'gpt-4o' }, paging: { webhookURL: '' } }),
    ).toThrowError(/\n {2}llm\.modle: unknown key.*\n {2}paging\.webhookURL: unknown key/s);
  });

  it('requires a model with an LLM provider', () => {
    expect(() => parseConfig({ llm: { provider: 'anthropic' } })).toThrowError(
      /llm\.model: is required with a provider/,
    );
  });

  it('takes the paging URLs and switches, refusing a non-https one', () => {
    expect(parseConfig({}).paging).toEqual({
      pagerdutyUrl: 'https://events.pagerduty.com/v2/enqueue',
      pagerdutyChangeEvents: false,
      opsgenieUrl: 'https://api.opsgenie.com',
      webhookUrl: '',
    });
    expect(
      parseConfig({ paging: '{"opsgenieUrl":"https://api.eu.opsgenie.com","pagerdutyChangeEvents":true}' }).paging,
    ).toMatchObject({ opsgenieUrl: 'https://api.eu.opsgenie.com', pagerdutyChangeEvents: true });
    expect(() => parseConfig({ paging: { webhookUrl: 'http://hooks.internal/ip' } })).toThrowError(
      /paging\.webhookUrl: must be an https URL/,
    );
    expect(() => parseConfig({ paging: '{"pagerdutyUrl":"http://events.internal"}' })).toThrowError(
      /paging\.pagerdutyUrl: must be an https URL/,
    );
  });

  it("names a JSON value that does not parse (a quoting slip in -c key='{…}') as such", () => {
    for (const key of ['llm', 'paging', 'engineConfig']) {
      expect(() => parseConfig({ [key]: '{provider:openai}' }), key).toThrowError(
        new RegExp(`\\n  ${key}: is not valid JSON \\(.+\\)`),
      );
    }
  });

  it("requires ollama's base URL: its default, localhost, answers nothing in Lambda", () => {
    expect(() => parseConfig({ llm: { provider: 'ollama', model: 'llama3.2' } })).toThrowError(
      /llm\.baseUrl: is required with ollama/,
    );
    expect(
      parseConfig({ llm: { provider: 'ollama', model: 'llama3.2', endpoint: 'https://ollama.internal/api/chat' } }).llm,
    ).toMatchObject({ provider: 'ollama', endpoint: 'https://ollama.internal/api/chat' });
  });

  it('refuses a non-https LLM endpoint', () => {
    expect(() =>
      parseConfig({ llm: { provider: 'openai', model: 'm', endpoint: 'http://llm.internal' } }),
    ).toThrowError(/llm\.endpoint: must be an https URL/);
  });

  it('refuses Slack channel routes without the default channel, which Slack app mode needs to be on', () => {
    const engineConfig = { slack: { channels: { byService: { checkout: 'C0CHECKOUT' } } } };
    expect(() => parseConfig({ engineConfig })).toThrowError(
      /slackChannel: is required with engineConfig\.slack\.channels/,
    );
    expect(parseConfig({ engineConfig, slackChannel: 'C0INCIDENTS' }).slackChannel).toBe('C0INCIDENTS');
  });

  it('takes a Slack channel id and an https public URL, nothing else', () => {
    expect(parseConfig({ slackChannel: 'C0123ABCD', publicUrl: 'https://pilot.example.com' })).toMatchObject({
      slackChannel: 'C0123ABCD',
      publicUrl: 'https://pilot.example.com',
    });
    expect(() => parseConfig({ slackChannel: '#incidents' })).toThrowError(/slackChannel: must be a Slack channel id/);
    expect(() => parseConfig({ publicUrl: 'http://pilot.example.com' })).toThrowError(
      /publicUrl: must be an https URL/,
    );
  });
});
