/**
 * The developer scripts as run from a shell: a wrong option or a server that is not there is said in
 * a line naming it, with exit code 1, never as a stack trace.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeError } from '../../scripts/lib/cli.js';
import { freePort } from '../helpers/ports.js';

const ROOT = join(import.meta.dirname, '../..');

function script(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('developer scripts', { timeout: 60_000 }, () => {
  it.each([
    ['scripts/storm.ts', ['--alerts', '10', '--bogus']],
    ['scripts/redrive-dlq.ts', ['--dlq-url', 'http://x/dlq', '--queue-url', 'http://x/q', '--bogus']],
  ])('%s exits 1 naming an unknown option, with its usage', async (file, args) => {
    const { code, stderr } = await script(file, args);

    expect(code).toBe(1);
    expect(stderr).toContain("Unknown option '--bogus'");
    expect(stderr).toContain(`usage: npx tsx ${file}`);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('storm exits 1 saying why the --url server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;

    const { code, stderr } = await script('scripts/storm.ts', ['--alerts', '2', '--groups', '1', '--url', url, '-q']);

    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^storm failed: fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it('redrive-dlq exits 1 saying why the --endpoint cannot be reached', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const queue = `${endpoint}/000000000000/incident-pilot-jobs`;

    const { code, stdout, stderr } = await script('scripts/redrive-dlq.ts', [
      ...['--endpoint', endpoint, '--dlq-url', `${queue}-dlq`, '--queue-url', queue],
    ]);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toMatch(/^redrive-dlq failed: .*: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });
});

describe('describeError', () => {
  it('names each address of a host that resolves to several (localhost: ::1 and 127.0.0.1), whose AggregateError has no message', () => {
    const refused = (address: string) => new Error(`connect ECONNREFUSED ${address}`);
    const cause = Object.assign(new AggregateError([refused('::1:9099'), refused('127.0.0.1:9099')], ''), {
      code: 'ECONNREFUSED',
    });

    expect(describeError(new TypeError('fetch failed', { cause }))).toBe(
      'fetch failed: connect ECONNREFUSED ::1:9099; connect ECONNREFUSED 127.0.0.1:9099',
    );
  });
});
