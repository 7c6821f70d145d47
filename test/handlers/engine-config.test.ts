/**
 * The engine's thresholds from the environment (`INCIDENT_PILOT_ENGINE_CONFIG`, what `npm start` and the
 * functions read): a misspelt key stops the start, named, instead of leaving the default quietly in place.
 */
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../functions/lib/env.js';

const BASE = {
  INCIDENT_PILOT_TABLE: 'data',
  INCIDENT_PILOT_INCIDENTS_TABLE: 'incidents',
  INCIDENT_PILOT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
  AWS_REGION: 'us-east-1',
};
const withConfig = (config: unknown) => parseEnv({ ...BASE, INCIDENT_PILOT_ENGINE_CONFIG: JSON.stringify(config) });

describe('INCIDENT_PILOT_ENGINE_CONFIG', () => {
  it('takes the thresholds it names and the defaults for the rest', () => {
    const { deploy, logs } = withConfig({ deploy: { windowMinutes: 45 } }).INCIDENT_PILOT_ENGINE_CONFIG;

    expect(deploy.windowMinutes).toBe(45);
    expect(deploy.closeMinutes).toBe(15);
    expect(logs.minErrors).toBe(5);
  });

  it('refuses every unknown key, at any depth, naming each with its path', () => {
    const config = { deploy: { windowMinutess: 45 }, log: {}, slack: { channels: { byServices: {} } } };

    for (const path of ['deploy.windowMinutess', 'log', 'slack.channels.byServices']) {
      expect(() => withConfig(config)).toThrowError(`  INCIDENT_PILOT_ENGINE_CONFIG.${path}: unknown key`);
    }
  });

  it('keeps the names of a map free: any service may have a threshold or a team', () => {
    const config = {
      traces: { serviceThresholdsMs: { windowMinutes: 250 } },
      routing: { serviceTeams: { log: 'sre' } },
    };

    expect(withConfig(config).INCIDENT_PILOT_ENGINE_CONFIG.traces.serviceThresholdsMs).toEqual({ windowMinutes: 250 });
  });
});
