/**
 * Ports for child processes that bind their own (`npm start`, Alertmanager). A port found with `listen(0)`
 * comes from the kernel's ephemeral range, which every outgoing connection on the machine also draws from:
 * between closing it and the child binding it, a parallel test can take it. Ports below that range are
 * handed out by nobody, so one that binds now stays free unless another test picks the same one at random.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 20_000;

/** The first port of the kernel's ephemeral range (32768 by default on Linux). */
function ephemeralStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return start > LOWEST + 1_000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

const END = ephemeralStart();
const handedOut = new Set<number>();

function bindable(port: number, host: string): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A port outside the ephemeral range that binds on `host` now and that this process has not handed out before. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (END - LOWEST));
    if (handedOut.has(port) || !(await bindable(port, host))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${END} on ${host}`);
}
