/** Free ports for the listeners of the nats-servers Mosaic starts (a dev cluster, the tests). */
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';

/** The first of Linux's ephemeral ports, which it gives to outgoing connections and to port 0. */
export async function ephemeralPortsFrom(): Promise<number> {
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  const low = Number(text.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 0 ? low : 32_768;
}

/** Listens on `port` of `host`; false when it is taken. */
function listenOn(server: Server, port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen(port, host, () => {
      resolve(true);
    });
  });
}

/** Ports `freePorts` picks from: below the ephemeral range, above the well-known ones. */
const PICKED_FROM = 10_000;

/** Every port `freePorts` returned in this process, which it does not return again. */
const handedOut = new Set<number>();

/**
 * Reserves `n` distinct free TCP ports on `host` (all held open until all are known), for a
 * process that binds them a moment later (a nats-server's listeners, kept across restarts),
 * and never one it returned before in this process. They are drawn at random from below the
 * ephemeral range: a port the kernel hands out there (to any process's outgoing connection
 * or listener on port 0) could be taken between the pick and the bind; below it only another
 * pick of the same port can.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const span = (await ephemeralPortsFrom()) - PICKED_FROM;
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < n; tries++) {
      if (tries > 20 * n + 200) throw new Error(`no ${String(n)} free ports on ${host}`);
      const server = createServer();
      servers.push(server);
      // No room below the ephemeral range, or no free port found there: the kernel's pick.
      const port = span < 1_000 || tries > 10 * n + 100 ? 0 : PICKED_FROM + randomInt(span);
      if (handedOut.has(port) || !(await listenOn(server, port, host))) continue;
      const address = server.address();
      if (address === null || typeof address === 'string')
        throw new Error('listening socket has no port');
      if (handedOut.has(address.port)) continue;
      ports.push(address.port);
    }
    // Never again from this process: its caller binds them later, maybe after another pick.
    for (const port of ports) handedOut.add(port);
    return ports;
  } finally {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.listening)
              s.close(() => {
                resolve();
              });
            else resolve();
          }),
      ),
    );
  }
}

/** One free port on `host`, as {@link freePorts}. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/**
 * True when `host`:`port` can be listened on (it listens a moment, then closes); false on
 * any error.
 */
export async function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const probe = createServer();
  if (!(await listenOn(probe, port, host).catch(() => false))) return false;
  await new Promise<void>((resolve) => {
    probe.close(() => {
      resolve();
    });
  });
  return true;
}
