/**
 * A real Prometheus Alertmanager (the Debian package `prometheus-alertmanager`, 0.25) for end-to-end
 * tests, plus a tiny HTTP proxy that injects faults between Alertmanager and the local stack.
 *
 * ```ts
 * const am = await startAlertmanager({ webhookUrl: `${stack.url}/alerts`, token });
 * await am.postAlerts([{ labels: { alertname: 'HighErrorRate', service: 'checkout' } }]);
 * // … Alertmanager posts the group to the stack after group_wait …
 * await am.stop();
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** Where the Debian package installs the binary; `ALERTMANAGER_BIN` overrides it. */
export const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN || '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerOptions {
  /** The webhook receiver's `url`. */
  webhookUrl: string;
  /** Bearer token sent as `http_config.authorization` (type Bearer). */
  token?: string;
  /** How the token is configured: inline `credentials` (default) or a `credentials_file`. */
  tokenVia?: 'credentials' | 'credentials_file';
  /** `http_config.basic_auth`; `viaFile` writes the password to a file and uses `password_file`. */
  basicAuth?: { username: string; password: string; viaFile?: boolean };
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  resolveTimeout?: string;
}

/** An alert as Alertmanager's API v2 (`POST /api/v2/alerts`) takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface Alertmanager {
  /** `http://127.0.0.1:<port>`: the API and UI. */
  url: string;
  /** The configuration file it runs with. */
  config: string;
  /** Sends alerts to Alertmanager, as Prometheus does; throws unless Alertmanager answers 2xx. */
  postAlerts(alerts: PostableAlert[]): Promise<void>;
  /** Everything Alertmanager wrote to stdout/stderr so far (debug level), for failure reports. */
  logs(): string;
  /** Kills the process, waits for it to exit and deletes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const MAX_LOG_CHARS = 2 * 1024 * 1024;
const READY_TIMEOUT_MS = 15_000;

/** YAML is a superset of JSON: a JSON string is a safely quoted YAML scalar. */
const q = (value: string) => JSON.stringify(value);

/** The Alertmanager configuration: everything routed to one webhook receiver, grouped by alertname + service. */
export function alertmanagerConfig(options: AlertmanagerOptions, dir: string): string {
  const http: string[] = [];
  if (options.token !== undefined) {
    http.push('          authorization:', '            type: Bearer');
    if (options.tokenVia === 'credentials_file') {
      const file = join(dir, 'token');
      writeFileSync(file, options.token, { mode: 0o600 });
      http.push(`            credentials_file: ${q(file)}`);
    } else {
      http.push(`            credentials: ${q(options.token)}`);
    }
  }
  if (options.basicAuth) {
    const { username, password, viaFile } = options.basicAuth;
    http.push('          basic_auth:', `            username: ${q(username)}`);
    if (viaFile) {
      const file = join(dir, 'password');
      writeFileSync(file, password, { mode: 0o600 });
      http.push(`            password_file: ${q(file)}`);
    } else {
      http.push(`            password: ${q(password)}`);
    }
  }
  return [
    'global:',
    `  resolve_timeout: ${options.resolveTimeout ?? '5m'}`,
    'route:',
    '  receiver: incident-pilot',
    "  group_by: ['alertname', 'service']",
    `  group_wait: ${options.groupWait ?? '1s'}`,
    `  group_interval: ${options.groupInterval ?? '2s'}`,
    `  repeat_interval: ${options.repeatInterval ?? '10s'}`,
    'receivers:',
    '  - name: incident-pilot',
    '    webhook_configs:',
    `      - url: ${q(options.webhookUrl)}`,
    '        send_resolved: true',
    ...(http.length ? ['        http_config:', ...http] : []),
    '',
  ].join('\n');
}

/**
 * Starts Alertmanager on a free port of 127.0.0.1 with clustering disabled and a fresh storage dir,
 * and resolves once `GET /-/ready` answers 200. Throws (it does not skip) when the binary is missing.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<Alertmanager> {
  if (!existsSync(ALERTMANAGER_BIN)) {
    throw new Error(
      `Prometheus Alertmanager not found at ${ALERTMANAGER_BIN}: the end-to-end tests need the Debian package ` +
        '`prometheus-alertmanager` (0.25): `apt-get install -y prometheus-alertmanager` (CI installs it), ' +
        'or point ALERTMANAGER_BIN at the binary.',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'incident-pilot-am-'));
  const configFile = join(dir, 'alertmanager.yml');
  const storage = join(dir, 'data');
  mkdirSync(storage);
  const config = alertmanagerConfig(options, dir);
  writeFileSync(configFile, config);

  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > MAX_LOG_CHARS) log = log.slice(-MAX_LOG_CHARS);
  };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let exitCode: number | string | null = null;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const kill = async () => {
    const running = child;
    child = undefined;
    if (running && exitCode === null) {
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const stop = async () => {
    await kill();
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  // The port was free a moment ago; another process may take it before Alertmanager binds. Retry then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    exitCode = null;
    const proc = spawn(
      ALERTMANAGER_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.path=${storage}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=debug',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        exitCode = code ?? signal ?? 'unknown';
        resolve();
      });
      proc.once('error', (error) => {
        append(Buffer.from(`spawn error: ${error.message}\n`));
        exitCode = 'spawn-error';
        resolve();
      });
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let ready = false;
    while (exitCode === null && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) {
          ready = true;
          break;
        }
      } catch {}
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      return {
        url,
        config,
        async postAlerts(alerts) {
          const res = await fetch(`${url}/api/v2/alerts`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(alerts),
          });
          const text = await res.text();
          if (!res.ok) throw new Error(`Alertmanager refused the alerts: ${res.status} ${text}`);
        },
        logs: () => log,
        stop,
      };
    }
    const portTaken = /address already in use/i.test(log);
    // Still running but not ready, or exited: either way this attempt is over.
    await kill();
    if (portTaken && attempt < 3) {
      log += `\n--- port ${port} was taken; retrying on another port ---\n`;
      continue;
    }
    await stop();
    throw new Error(
      `Alertmanager did not become ready (exit: ${exitCode ?? 'still running'}):\n${log.slice(-4000)}\nconfig:\n${config}`,
    );
  }
}

/** One POST that went through the proxy. */
export interface ProxiedPost {
  /** ms since the proxy started. */
  at: number;
  path: string;
  /** The webhook's `groupKey` (`undefined` when the body is not a webhook). */
  groupKey?: string;
  /** The alertnames in the webhook's alerts. */
  alertnames: string[];
  /** The webhook's top-level `status` (`firing`/`resolved`). */
  status?: string;
  /** What Alertmanager got back. */
  answered: number;
  /** Whether the stack saw the request. */
  forwarded: boolean;
}

export interface ProxyOptions {
  /** Base URL of the stack, e.g. `http://127.0.0.1:9099`. */
  target: string;
  /** The first N POSTs are answered `failStatus` (default 0: a plain recording proxy). */
  failFirstPosts?: number;
  /** Default 503. */
  failStatus?: number;
  /**
   * `false` (default): a failed POST never reaches the stack (the stack was down).
   * `true`: it is forwarded and processed, and only the answer is replaced (the answer was lost).
   */
  forwardFailed?: boolean;
}

export interface FaultProxy {
  url: string;
  /** Every POST, in arrival order. */
  posts: ProxiedPost[];
  close(): Promise<void>;
}

function parseWebhook(body: Buffer): Pick<ProxiedPost, 'groupKey' | 'alertnames' | 'status'> {
  try {
    const json = JSON.parse(body.toString('utf8')) as {
      groupKey?: unknown;
      status?: unknown;
      alerts?: { labels?: { alertname?: unknown } }[];
    };
    return {
      groupKey: typeof json.groupKey === 'string' ? json.groupKey : undefined,
      status: typeof json.status === 'string' ? json.status : undefined,
      alertnames: Array.isArray(json.alerts) ? json.alerts.map((a) => String(a?.labels?.alertname ?? '')) : [],
    };
  } catch {
    return { alertnames: [] };
  }
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the stack that records every POST and can answer the first
 * ones with a 5xx, to watch Alertmanager retry. Everything else is forwarded as is (headers included).
 */
export async function startFaultProxy(options: ProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const failStatus = options.failStatus ?? 503;
  let failuresLeft = options.failFirstPosts ?? 0;
  const posts: ProxiedPost[] = [];
  const started = Date.now();
  const agent = new Agent({ keepAlive: true });

  const forward = (method: string, path: string, headers: IncomingHttpHeaders, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          method,
          path,
          agent,
          headers: { ...headers, host: target.host, 'content-length': String(body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const fail = method === 'POST' && failuresLeft > 0;
      if (fail) failuresLeft -= 1;
      const record: ProxiedPost = {
        at: Date.now() - started,
        path,
        ...parseWebhook(body),
        answered: 0,
        forwarded: false,
      };
      const { 'transfer-encoding': _te, connection: _c, 'keep-alive': _ka, ...headers } = req.headers;
      try {
        let answer: { status: number; headers: IncomingHttpHeaders; body: Buffer } | undefined;
        if (!fail || options.forwardFailed) {
          answer = await forward(method, path, headers, body);
          record.forwarded = true;
        }
        if (fail || !answer) {
          answer = {
            status: failStatus,
            headers: { 'content-type': 'text/plain' },
            body: Buffer.from(`fault proxy: injected ${failStatus}`),
          };
        }
        record.answered = answer.status;
        const { 'transfer-encoding': _t, connection: _conn, 'keep-alive': _k, ...back } = answer.headers;
        res.writeHead(answer.status, { ...back, 'content-length': String(answer.body.length) });
        res.end(answer.body);
      } catch (error) {
        record.answered = 502;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy: ${(error as Error).message}`);
      }
      if (method === 'POST') posts.push(record);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}
