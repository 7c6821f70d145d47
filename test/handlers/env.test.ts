/** The functions' environment (what `npm start` and the Lambdas parse): a variable set to nothing is unset. */
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../functions/lib/env.js';

const BASE = {
  INCIDENT_PILOT_TABLE: 'data',
  INCIDENT_PILOT_INCIDENTS_TABLE: 'incidents',
  INCIDENT_PILOT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
  AWS_REGION: 'us-east-1',
};

describe('parseEnv', () => {
  it('gives a variable set to nothing (an empty line of a .env file) its default, not 0', () => {
    const env = parseEnv({
      ...BASE,
      INCIDENT_PILOT_UPDATE_MIN_SECONDS: '',
      INCIDENT_PILOT_REFRESH_SECONDS: ' ',
      INCIDENT_PILOT_RETRY_BASE_SECONDS: '',
      INCIDENT_PILOT_RESOLVE_POLICY: '',
    });

    expect(env.INCIDENT_PILOT_UPDATE_MIN_SECONDS).toBe(300);
    expect(env.INCIDENT_PILOT_REFRESH_SECONDS).toBe(60);
    expect(env.INCIDENT_PILOT_RETRY_BASE_SECONDS).toBe(5);
    expect(env.INCIDENT_PILOT_RESOLVE_POLICY).toBe('all');
  });

  it('still takes an explicit 0, and still names a required variable set to nothing', () => {
    expect(parseEnv({ ...BASE, INCIDENT_PILOT_UPDATE_MIN_SECONDS: '0' }).INCIDENT_PILOT_UPDATE_MIN_SECONDS).toBe(0);
    expect(() => parseEnv({ ...BASE, INCIDENT_PILOT_TABLE: '' })).toThrowError(/ {2}INCIDENT_PILOT_TABLE: /);
  });
});
