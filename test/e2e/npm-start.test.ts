/**
 * `npm start` as a developer runs it, in a child process: where it listens, how it stops on SIGTERM and
 * SIGINT, and what it says when its port or data directory is taken.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';

const ROOT = join(import.meta.dirname, '../..');
const START_TIMEOUT_MS = 60_000;

/** Listening IPv4 TCP sockets of this machine: `host:port`, from /proc/net/tcp. */
function listening(): string[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[3] === '0A')
    .map((cols) => {
      const [hex = '', port = ''] = (cols[1] ?? '').split(':');
      const ip = [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
      return `${ip}:${Number.parseInt(port, 16)}`;
    });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

function run(command: string[], env: Record<string, string>): Started {
  const [cmd = 'npm', ...args] = command;
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, INCIDENT_PILOT_QUIET: '1', INCIDENT_PILOT_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout?.on('data', (d) => {
    text += d;
  });
  child.stderr?.on('data', (d) => {
    text += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exited };
}

async function ready(started: Started): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!started.output().includes('Ready.')) {
    if (started.child.exitCode !== null) throw new Error(`exited early:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`not ready in time:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'incident-pilot-start-'));
  dirs.push(dir);
  return dir;
}

/** The pids of a process's children (the node that `npm start` runs). */
function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// Each test starts one or two Node processes that load the whole stack: slow on a busy machine.
describe('npm start', { timeout: 120_000 }, () => {
  it('listens on INCIDENT_PILOT_HOST only, API and both emulators, and SIGTERM stops everything', async () => {
    // 127.0.0.2 is loopback too, but not the default: every socket must follow the setting.
    const host = '127.0.0.2';
    const [api, dynamo, sqs] = [await freePort(host), await freePort(host), await freePort(host)];
    const dir = dataDir();
    const started = run(['npm', 'start'], {
      PORT: String(api),
      INCIDENT_PILOT_HOST: host,
      INCIDENT_PILOT_DYNAMODB_PORT: String(dynamo),
      INCIDENT_PILOT_SQS_PORT: String(sqs),
      INCIDENT_PILOT_DATA_DIR: dir,
    });
    await ready(started);
    const node = childrenOf(started.child.pid ?? 0);
    const ours = (sockets: string[]) =>
      sockets.filter((s) => [api, dynamo, sqs].includes(Number(s.split(':')[1]))).sort();

    expect(ours(listening())).toEqual([`127.0.0.2:${api}`, `127.0.0.2:${dynamo}`, `127.0.0.2:${sqs}`].sort());
    expect(started.output()).toContain('incidents  0 stored');
    expect(existsSync(join(dir, 'emulators.pid'))).toBe(true);
    const health = await fetch(`http://127.0.0.2:${api}/healthz`);
    expect(health.status).toBe(200);

    started.child.kill('SIGTERM');
    const exit = await started.exited;

    expect(exit).toEqual({ code: 0, signal: null });
    expect(node.length).toBeGreaterThan(0);
    expect(node.filter(alive)).toEqual([]);
    expect(ours(listening())).toEqual([]);
    expect(existsSync(join(dir, 'emulators.pid'))).toBe(false);
  });

  it('stops on SIGINT (Ctrl-C) with exit code 0, says how many incidents it keeps, and restarts on the same data', async () => {
    const dir = dataDir();
    const env = { PORT: String(await freePort()), INCIDENT_PILOT_DATA_DIR: dir };
    const first = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], env);
    await ready(first);
    const res = await fetch(`http://127.0.0.1:${env.PORT}/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ labels: { alertname: 'DiskFull', service: 'db' } }),
    });
    expect(res.status).toBe(202);
    // The worker opens the incident within a poll or two.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const list = (await (await fetch(`http://127.0.0.1:${env.PORT}/api/incidents`)).json()) as {
        incidents: unknown[];
      };
      if (list.incidents.length === 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    first.child.kill('SIGINT');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const second = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], env);
    await ready(second);

    expect(first.output()).toContain('stopped');
    expect(second.output()).toContain('incidents  1 stored');
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('keeps serving when a client hangs up in the middle of sending its body', async () => {
    const env = { PORT: String(await freePort()), INCIDENT_PILOT_DATA_DIR: dataDir() };
    const started = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], env);
    await ready(started);

    // Alertmanager cancels a send at its flush deadline; any client may drop a connection half way.
    const socket = connect(Number(env.PORT), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"la',
    );
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const health = await fetch(`http://127.0.0.1:${env.PORT}/healthz`).catch((error: Error) => error);

    expect(started.child.exitCode, started.output()).toBeNull();
    expect(health).toMatchObject({ status: 200 });
    started.child.kill('SIGTERM');
    expect((await started.exited).code).toBe(0);
  });

  it('takes a variable set to nothing (PORT= in a .env file) as unset: its default applies', async () => {
    // 127.0.0.3 is loopback but no one's default, so the default port 9099 is free there (or named if not).
    const started = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], {
      PORT: '',
      INCIDENT_PILOT_HOST: '127.0.0.3',
      INCIDENT_PILOT_DYNAMODB_PORT: '',
      INCIDENT_PILOT_HEARTBEAT_CHECK_SECONDS: '',
      INCIDENT_PILOT_DATA_DIR: dataDir(),
    });
    const up = await ready(started).then(
      () => true,
      () => false,
    );

    expect(started.output()).toMatch(
      /API {8}http:\/\/127\.0\.0\.3:9099 |HTTP API: port 9099 on 127\.0\.0\.3 is already in use/,
    );
    if (up) {
      started.child.kill('SIGTERM');
      expect((await started.exited).code).toBe(0);
    }
  });

  it('warns that auth is off when the token is blank, as the functions then take it to be unset', async () => {
    const port = await freePort();
    const started = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], {
      PORT: String(port),
      INCIDENT_PILOT_TOKEN: ' ',
      INCIDENT_PILOT_DATA_DIR: dataDir(),
    });
    await ready(started);

    const open = await fetch(`http://127.0.0.1:${port}/api/incidents`);

    expect(open.status).toBe(200);
    expect(started.output()).toContain('AUTH IS OFF');
    started.child.kill('SIGTERM');
    expect((await started.exited).code).toBe(0);
  });

  it('says in one line that the port is taken, and leaves the data directory unlocked', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const dir = dataDir();
    try {
      const started = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], {
        PORT: String(port),
        INCIDENT_PILOT_DATA_DIR: dir,
      });
      const exit = await started.exited;
      const lines = started.output().trim().split('\n');

      expect(exit.code).toBe(1);
      expect(lines).toEqual([
        `incident-pilot: HTTP API: port ${port} on 127.0.0.1 is already in use: stop what holds it, or set PORT`,
      ]);
      expect(existsSync(join(dir, 'emulators.pid'))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('says in one line that the data directory is in use by another npm start', async () => {
    const dir = dataDir();
    const first = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], {
      PORT: String(await freePort()),
      INCIDENT_PILOT_DATA_DIR: dir,
    });
    await ready(first);

    const second = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], {
      PORT: String(await freePort()),
      INCIDENT_PILOT_DATA_DIR: dir,
    });
    const exit = await second.exited;

    expect(exit.code).toBe(1);
    expect(second.output().trim().split('\n')).toEqual([
      `incident-pilot: data directory ${dir} is in use by process ${first.child.pid}: stop it, or set INCIDENT_PILOT_DATA_DIR to another directory`,
    ]);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  });

  it('says in one line that the data directory cannot be opened, and leaves it unlocked', async () => {
    const dir = dataDir();
    // A LevelDB directory whose CURRENT file names a manifest that is not there (a half-copied .data/).
    writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-000009\n');
    const started = run(['node', '--import', 'tsx', 'packages/local/src/main.ts'], {
      PORT: String(await freePort()),
      INCIDENT_PILOT_DATA_DIR: dir,
    });
    const exit = await started.exited;

    expect(exit.code).toBe(1);
    expect(started.output().trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^incident-pilot: data directory ${dir} cannot be opened \\(.*MANIFEST-000009.*\\): move it aside to start afresh, or set INCIDENT_PILOT_DATA_DIR to another directory$`,
        ),
      ),
    ]);
    expect(existsSync(join(dir, 'emulators.pid'))).toBe(false);
  });
});
